"""CIFAR-10 at 32x32: torchvision's archive (downloaded when absent), or a folder of image files."""

from __future__ import annotations

import logging
import pickle
import tarfile
from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import CIFAR10
from torchvision.datasets.utils import download_and_extract_archive, extract_archive

from mmagan.checks import Checks, check_values, one_of
from mmagan.data.images import IMAGE_CHECKS, ImageArray, ImageDataModule
from mmagan.data.prepared import load_prepared, prepared_cache
from mmagan.errors import DataError

log = logging.getLogger("mmagan")
SOURCES = ("torchvision", "folder")
SPLITS = ("train", "test", "all")


def _read_batches(folder: Path, names: list[str]) -> np.ndarray:
    """uint8 (N, 3, 32, 32) from torchvision's pickled batches (python-version format)."""
    arrays = []
    for name in names:
        path = folder / name
        if not path.is_file():
            raise DataError(
                f"{path} is missing: the extracted CIFAR-10 folder is incomplete; delete it "
                f"and extract {CIFAR10.filename} again"
            )
        try:
            with open(path, "rb") as f:
                entry = pickle.load(f, encoding="latin1")
            arrays.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        except Exception as e:  # a truncated pickle raises EOFError, UnpicklingError, KeyError...
            raise DataError(f"{path} is not a readable CIFAR-10 batch ({type(e).__name__}: {e})") from e
    return np.concatenate(arrays)


def ensure_cifar10(root: Path, download: bool) -> Path:
    """The extracted batches folder under `root`: extracted from the archive there, or downloaded."""
    folder = root / CIFAR10.base_folder
    if folder.is_dir():
        return folder
    archive = root / CIFAR10.filename
    if archive.is_file():
        try:
            extract_archive(str(archive), str(root))
        except (tarfile.TarError, EOFError, OSError) as e:
            raise DataError(
                f"{archive} is truncated or corrupt ({e}); delete it and download it again"
            ) from e
    elif download:
        try:
            download_and_extract_archive(
                CIFAR10.url, str(root), filename=CIFAR10.filename, md5=CIFAR10.tgz_md5
            )
        except Exception as e:  # URLError, timeouts, md5 mismatch: all mean "no usable archive"
            raise DataError(
                f"could not download {CIFAR10.filename} from {CIFAR10.url} ({type(e).__name__}: {e}); "
                f"without internet, copy {CIFAR10.filename} into {root.resolve()}"
            ) from e
    else:
        raise DataError(
            f"{CIFAR10.filename} is not in {root.resolve()} and data.download=false; put the archive "
            f"there or set data.download=true"
        )
    if not folder.is_dir():
        raise DataError(f"{archive} did not contain the folder {CIFAR10.base_folder}/; is it CIFAR-10?")
    return folder


class CIFAR10DataModule(ImageDataModule):
    checks: Checks = {
        **IMAGE_CHECKS,
        "source": (one_of(SOURCES), f"one of {SOURCES}"),
        "split": (one_of(SPLITS), f"one of {SPLITS}"),
        "download": (lambda v: isinstance(v, bool), "true or false"),
    }
    """Trains on `split` (train: 50k, test: 10k, all: 60k); the test split is kept as the
    held-out reference for metrics.

    source=torchvision reads `root`/cifar-10-batches-py (from cifar-10-python.tar.gz, downloaded
    when absent); source=folder reads image files under `root`/train and `root`/test.
    """

    RESOLUTION = 32

    @classmethod
    def shape_for(cls, data: dict) -> tuple[int, ...]:
        return (3, cls.RESOLUTION, cls.RESOLUTION)

    def __init__(
        self,
        name: str = "cifar10",
        root: str = "data/cifar10",
        source: str = "torchvision",
        download: bool = True,
        split: str = "train",
        cache_dir: str = "data/prepared",
        **kwargs,
    ) -> None:
        check_values({"source": source, "split": split, "download": download}, "data.", self.checks)
        super().__init__(resolution=self.RESOLUTION, **kwargs)
        self.name = name
        self.root, self.source, self.download = Path(root), source, download
        self.split, self.cache_dir = split, Path(cache_dir)
        self.test_set: ImageArray | None = None

    def reference_key(self) -> str:
        return f"cifar10-{self.split}-32"

    def prepare_data(self) -> None:
        if self.source == "torchvision":
            ensure_cifar10(self.root, self.download)
        else:
            for part in ("train", "test"):
                self._folder_part(part)

    def _folder_part(self, part: str) -> np.ndarray:
        folder = self.root / part
        if not folder.is_dir():
            raise DataError(
                f"{folder} does not exist: data.source=folder needs {self.root}/train and {self.root}/test"
            )
        return load_prepared(prepared_cache(folder, 32, self.cache_dir, "error", "error"))

    def load_part(self, part: str) -> np.ndarray:
        if self.source == "folder":
            return self._folder_part(part)
        folder = ensure_cifar10(self.root, self.download)
        names = [n for n, _ in (CIFAR10.train_list if part == "train" else CIFAR10.test_list)]
        return _read_batches(folder, names)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        train, test = self.load_part("train"), self.load_part("test")
        images = {"train": train, "test": test, "all": np.concatenate([train, test])}[self.split]
        self.check_size(len(images), f"CIFAR-10 split {self.split!r}")
        # Copies into RAM (150 MB for all 60k): memory-mapped folder data included.
        self.train_set = ImageArray(torch.from_numpy(np.array(images)))
        self.test_set = ImageArray(torch.from_numpy(np.array(test)))
