"""The run folder must exist and take files before anything else happens: a folder that cannot
be made (a path under /proc, a read-only disk, no permission) ends the command with one line."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from mmagan.errors import OutputError


def discard_unused_run_folder(run_dir: str | Path) -> bool:
    """Remove a run folder that holds nothing but Hydra's config copy and the command's log: what a
    command that stopped on its config leaves behind. A folder with anything else (checkpoints,
    metrics, an earlier run's files) is kept. Returns whether it was removed."""
    import shutil

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return False
    if any(p.name != ".hydra" and p.suffix != ".log" for p in run_dir.iterdir()):
        return False
    shutil.rmtree(run_dir, ignore_errors=True)
    return True


def hydra_run_folder() -> Path | None:
    """This command's Hydra output folder, where Hydra made one."""
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir) if HydraConfig.initialized() else None


def prepare_output_dir(run_dir: str | Path, key: str = "paths.log_dir (or hydra.run.dir)") -> Path:
    """Create the run folder, or raise one OutputError when it cannot be written."""
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        # A probe of its own: sweeps launched side by side into one folder must not remove
        # each other's probe (a shared name made one of them fail with "No such file").
        with tempfile.NamedTemporaryFile(dir=run_dir, prefix=".mmagan-write-test"):
            pass
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
