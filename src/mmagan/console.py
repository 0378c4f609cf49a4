"""What a command prints: mmagan's lines and real warnings, without the libraries' advertising and
repeated deprecation notices. The run's log file (Hydra's <run>/<task>.log) keeps everything."""

from __future__ import annotations

import logging
import os
import re
import warnings
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

# Lines no researcher acts on: advertising, and notices about choices mmagan makes on purpose.
NOISE = re.compile(
    "|".join(
        [
            r"💡 Tip:",
            r"Using ModelCheckpoint with manual optimization",  # a checkpoint ends a whole iteration
            r"does not have many workers",  # in-memory data: workers only add overhead
            r"^(GPU|TPU|HPU) available:",
            r"LOCAL_RANK: \d+ - CUDA_VISIBLE_DEVICES",
            r"Seed set to",
            r"Skipping setting a default `ModelSummary` callback",  # mmagan's summary is in place
            r"`Trainer.fit` stopped: `max_steps=",
            r"litlogger|litmodels",
            r"site-packages/.*(deprecated|Deprecat)",  # libraries' notices about their own internals
            r"Bypassing sacct error",  # submitit, on clusters without accounting: states come from squeue
        ]
    )
)


class DropNoise(logging.Filter):
    """A logging filter that drops library messages a user cannot act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not NOISE.search(record.getMessage())


def _is_console(handler: logging.Handler) -> bool:
    return isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler)


def quiet_library_noise() -> None:
    """Call once at the start of a command (never at import). Warnings go through logging, so
    they reach the log file; the console handlers drop the noise; a deprecation notice is shown
    once, not at every step."""
    logging.captureWarnings(True)
    warnings.simplefilter("once", DeprecationWarning)
    warnings.simplefilter("once", FutureWarning)
    if "SLURM_JOB_ID" not in os.environ:
        # Lightning's SLURMEnvironment.detect(), which its checkpoint connector calls at every fit,
        # warns on any host with SLURM's client tools (a login node) that `srun` is not used; outside
        # a SLURM job no run is meant to use it. Inside one the warning still shows.
        warnings.filterwarnings(
            "ignore", message=r"The `srun` command is available on your system but is not used"
        )
    loggers = [
        logging.getLogger(),
        logging.getLogger("lightning.pytorch"),
        logging.getLogger("lightning.fabric"),
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if _is_console(handler) and not any(isinstance(f, DropNoise) for f in handler.filters):
                handler.addFilter(DropNoise())
    # submitit polls every few seconds of a sweep; its repeated notices are dropped at the source
    submitit = logging.getLogger("submitit")
    if not any(isinstance(f, DropNoise) for f in submitit.filters):
        submitit.addFilter(DropNoise())


class QuietConsole(Callback):
    """The same for the process that launches a sweep (a Hydra callback): it never runs a
    command's main, where each job calls quiet_library_noise itself."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        quiet_library_noise()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        quiet_library_noise()
