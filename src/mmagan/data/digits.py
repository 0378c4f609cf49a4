"""Single digits at 32x32 for the stacked data sets: MNIST (torchvision download) or
scikit-learn's bundled 8x8 digits (no download)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.datasets import MNIST

from mmagan.errors import DataError

DIGIT_SETS = ("mnist", "sklearn")
# scikit-learn's digits have no official split: a fixed 80/20 one, the same on every machine.
SKLEARN_TEST_FRACTION, SKLEARN_SPLIT_SEED = 0.2, 0


def mnist_digits(root: str | Path, train: bool, download: bool) -> tuple[Tensor, Tensor]:
    """uint8 (N, 32, 32) MNIST digits, zero-padded from 28x28, and their labels."""
    files = ", ".join(Path(url).name for url, _ in MNIST.resources)
    try:
        ds = MNIST(str(root), train=train, download=download)
    except RuntimeError as e:  # torchvision's "Dataset not found" / "Error downloading ..."
        raise DataError(
            f"MNIST is not in {_raw_folder(root)} and could not be downloaded "
            f"({str(e).splitlines()[0]}); without internet, put {files} there"
        ) from e
    except Exception as e:  # truncated idx files: torchvision fails while parsing them
        raise DataError(
            f"the MNIST files in {_raw_folder(root)} are unreadable ({type(e).__name__}: {e})"
        ) from e
    return F.pad(ds.data, (2, 2, 2, 2)), ds.targets.long()


def _raw_folder(root: str | Path) -> Path:
    return Path(root).resolve() / "MNIST" / "raw"


def sklearn_digits(train: bool) -> tuple[Tensor, Tensor]:
    """uint8 (N, 32, 32) scikit-learn digits (bilinearly upsampled from 8x8) and their labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    idx_train, idx_test = train_test_split(
        np.arange(len(digits.images)),
        test_size=SKLEARN_TEST_FRACTION,
        random_state=SKLEARN_SPLIT_SEED,
        stratify=digits.target,
    )
    idx = idx_train if train else idx_test
    small = torch.from_numpy(digits.images[idx]).float()[:, None] / 16.0  # values 0..16
    big = F.interpolate(small, size=32, mode="bilinear", align_corners=False)[:, 0]
    return (big * 255).round().clamp(0, 255).to(torch.uint8), torch.from_numpy(digits.target[idx]).long()


def load_digits(kind: str, root: str | Path, train: bool, download: bool = True) -> tuple[Tensor, Tensor]:
    if kind == "mnist":
        return mnist_digits(root, train, download)
    if kind == "sklearn":
        return sklearn_digits(train)
    raise DataError(f"unknown digit set {kind!r}; known: {DIGIT_SETS}")
