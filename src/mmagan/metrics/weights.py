"""Pretrained weights the metrics need: found in torch hub's cache or a configured path, downloaded
on first use where there is internet, and otherwise refused before training with one message that
names the file, where it was looked for and how to provide it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

from mmagan.errors import ConfigError
from mmagan.runs.files import fingerprint

ALEXNET_URL = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"


def hub_checkpoint(url: str) -> Path:
    """Where torch hub keeps the file of `url` (its checkpoints folder)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def ensure_weights(url: str, configured: str | None, key: str) -> Path:
    """The local weights file: `configured` when set, else torch hub's copy, downloaded if absent."""
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise ConfigError(f"{key}={configured!r} does not exist; give the path of {Path(url).name}")
        return path
    path = hub_checkpoint(url)
    if path.is_file():
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(path), progress=False)
    except Exception as e:  # no network, proxy, disk: the user's fix is the same
        raise ConfigError(
            f"the metric weights {path.name} are not in {path.parent} and could not be downloaded from "
            f"{url} ({type(e).__name__}); copy the file into that folder or set {key}=<path to it>"
        ) from e
    return path


def inception_weights(configured: str | None) -> Path:
    """torch-fidelity's Inception-v3 weights: `configured` or the hub copy (downloaded once)."""
    return ensure_weights(URL_INCEPTION_V3, configured, "fidelity.weights_path")


def alexnet_weights(configured: str | None) -> Path:
    """torchvision's AlexNet weights, LPIPS's trunk: `configured` or the hub copy (downloaded once)."""
    return ensure_weights(ALEXNET_URL, configured, "fidelity.lpips_trunk_weights_path")


@lru_cache(maxsize=8)
def file_fingerprint(path: str, size: int, mtime_ns: int) -> str:
    """Content hash of a file, memoised by (path, size, mtime)."""
    with open(path, "rb") as f:
        return fingerprint(iter(lambda: f.read(1 << 22), b""))


def weights_fingerprint(path: str | Path) -> str:
    """Content hash of a weights file (memoised per path, size and mtime)."""
    st = Path(path).stat()
    return file_fingerprint(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
