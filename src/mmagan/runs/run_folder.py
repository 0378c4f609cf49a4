"""Where each file of a run lives, named once: training writes these paths and the report,
`mmagan-eval`, the listing and the sweep bookkeeping read them, so no room spells them out itself.

    <run>/.hydra/config.yaml     the composed config Hydra saved (what the listing reads)
    <run>/metrics.json           final figures, `finished`, the evaluation protocol
    <run>/checkpoints/           iter<NNNNNNN>.ckpt, last.ckpt, best-fid.ckpt
    <run>/samples/               fixed-latent snapshots
    <run>/plots/                 mode-coverage scatters, style figures, the head map
    <run>/eval/                  mmagan-eval's <checkpoint>.json
    <run>/csv/                   the CSV log (metrics.csv, then metrics_part<k>.csv of resumed starts)
    <run>/failed.json            the error that stopped a sweep job
    <run>/heads.json             the report's cached per-head activations (MMA-GAN on mixtures)

A checkpoint carries its own config (`runs.checkpoints`): what a checkpoint needs is read from it,
never from the folder's config.yaml, so a copied checkpoint stands alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CONFIG = Path(".hydra") / "config.yaml"
CHECKPOINTS = "checkpoints"


@dataclass(frozen=True)
class RunFolder:
    path: Path

    def __init__(self, path: str | Path) -> None:
        object.__setattr__(self, "path", Path(path))

    @classmethod
    def of_checkpoint(cls, ckpt: str | Path) -> RunFolder | None:
        """The run a checkpoint was saved in (it sits in <run>/checkpoints/ beside metrics.json);
        None for a checkpoint copied elsewhere."""
        ckpt = Path(ckpt).resolve()
        run = cls(ckpt.parent.parent)
        return run if ckpt.parent.name == CHECKPOINTS and run.metrics.is_file() else None

    @property
    def config(self) -> Path:
        return self.path / CONFIG

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.json"

    @property
    def checkpoints(self) -> Path:
        return self.path / CHECKPOINTS

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / "last.ckpt"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def plots(self) -> Path:
        return self.path / "plots"

    @property
    def eval(self) -> Path:
        return self.path / "eval"

    @property
    def csv(self) -> Path:
        return self.path / "csv"

    @property
    def failure(self) -> Path:
        return self.path / "failed.json"

    @property
    def heads(self) -> Path:
        return self.path / "heads.json"

    @property
    def head_map(self) -> Path:
        return self.plots / "headmap.png"
