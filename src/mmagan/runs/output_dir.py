"""The run folder must exist and take files before anything else happens: a folder that cannot
be made (a path under /proc, a read-only disk, no permission) ends the command with one line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from mmagan.errors import OutputError


def prepare_output_dir(run_dir: str | Path, key: str = "paths.log_dir (or hydra.run.dir)") -> Path:
    """Create the run folder, or raise one OutputError when it cannot be written."""
    run_dir = Path(run_dir)
    probe = run_dir / ".mmagan-write-test"
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise OutputError(
            f"cannot write the output folder {run_dir} ({e.strerror or e}); set {key} to a writable place"
        ) from e
    return run_dir


class OutputDirCheck(Callback):
    """Hydra creates the run or sweep folder before any mmagan code runs; this checks it first, so
    the failure is one line and exit status 2 instead of Hydra's traceback."""

    def _check(self, folder: str, key: str) -> None:
        try:
            prepare_output_dir(folder, key)
        except OutputError as e:
            print(f"output error: {e}", file=sys.stderr)
            sys.exit(2)

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config.hydra.run.dir, "paths.log_dir (or hydra.run.dir)")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config.hydra.sweep.dir, "paths.log_dir (or hydra.sweep.dir)")
