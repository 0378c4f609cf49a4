"""Small data sets in the exact on-disk formats of the real ones, made by the tests."""

from __future__ import annotations

import io
import pickle
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


def fake_cifar10(root: Path, n_train_per_batch: int = 20, n_test: int = 30, seed: int = 0) -> Path:
    """cifar-10-python.tar.gz as torchvision downloads it: five train batches, a test batch, meta.

    Train images have red channel value = 1..250 cyclic (so tests can tell the splits apart); test
    images have red channel 255."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    archive = root / "cifar-10-python.tar.gz"

    def batch(n: int, red: np.ndarray) -> bytes:
        data = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        data[:, 0] = red[:, None, None]
        entry = {
            "batch_label": "x",
            "labels": list(rng.integers(0, 10, n)),
            "data": data.reshape(n, -1),
            "filenames": [f"{i}.png" for i in range(n)],
        }
        return pickle.dumps(entry)

    with tarfile.open(archive, "w:gz") as tar:
        files = {
            f"data_batch_{i + 1}": batch(
                n_train_per_batch, (np.arange(n_train_per_batch) + i * n_train_per_batch) % 250 + 1
            )
            for i in range(5)
        }
        files["test_batch"] = batch(n_test, np.full(n_test, 255))
        files["batches.meta"] = pickle.dumps({"label_names": [str(i) for i in range(10)]})
        for name, payload in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return archive


def fake_mnist(root: Path, n_train: int = 300, n_test: int = 100) -> Path:
    """torchvision's MNIST/raw idx files holding scikit-learn's 8x8 digits enlarged to 28x28."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    big = np.kron(digits.images, np.ones((3, 3))) * (255 / 16)  # 24x24
    images = np.pad(big, ((0, 0), (2, 2), (2, 2))).round().astype(np.uint8)
    labels = digits.target.astype(np.uint8)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, part in (("train", slice(0, n_train)), ("t10k", slice(n_train, n_train + n_test))):
        x, y = images[part], labels[part]
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 2051, len(x), 28, 28) + x.tobytes()
        )
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, len(y)) + y.tobytes())
    return raw


def write_images(
    folder: Path,
    n: int,
    size: tuple[int, int] = (40, 48),
    mode: str = "RGB",
    suffix: str = ".png",
    seed: int = 0,
) -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    for i in range(n):
        pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
        im = Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)
        path = folder / f"img{i:04d}{suffix}"
        im.save(path)
        paths.append(path)
    return paths


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(folder))
    return archive
