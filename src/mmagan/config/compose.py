"""Where the Hydra configs are, for an editable install and for a built wheel alike."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig


def config_dir() -> Path:
    """The wheel carries conf/ inside the package; a source checkout has it at the top level."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "conf", package.parents[1] / "conf"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise FileNotFoundError(
        f"mmagan's Hydra configs (train.yaml) are neither in {package / 'conf'} "
        f"nor in {package.parents[1] / 'conf'}"
    )


def compose(config_name: str = "train", overrides: Sequence[str] = ()) -> DictConfig:
    """The config `mmagan-train <overrides>` would run, without starting a Hydra app."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))
