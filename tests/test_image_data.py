"""Image DataModules on small data in the real formats: CIFAR-10 archive, folders, zips, prepared files."""

import logging
import subprocess
import sys
import urllib.error
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from fake_data import fake_cifar10, write_images, zip_folder
from PIL import Image

from mmagan.data.celeba_hq import CelebAHQDataModule
from mmagan.data.cifar10 import CIFAR10DataModule
from mmagan.data.images import random_flip, to_unit_range
from mmagan.data.prepared import load_prepared, prepare, prepared_cache
from mmagan.errors import ConfigError, DataError


def cifar(root: Path, **kw) -> CIFAR10DataModule:
    dm = CIFAR10DataModule(root=str(root), batch_size=kw.pop("batch_size", 8), **kw)
    dm.prepare_data()
    dm.setup()
    return dm


def celeba(source: Path, tmp_path: Path, resolution: int = 32, **kw) -> CelebAHQDataModule:
    dm = CelebAHQDataModule(
        source=str(source), resolution=resolution, cache_dir=str(tmp_path / "cache"), batch_size=4, **kw
    )
    dm.prepare_data()
    dm.setup()
    return dm


# ------------------------------------------------------------------------------------------- CIFAR-10
def test_cifar10_archive_splits_and_shapes(tmp_path):
    fake_cifar10(tmp_path, n_train_per_batch=20, n_test=30)
    dm = cifar(tmp_path, download=False)
    assert (tmp_path / "cifar-10-batches-py" / "data_batch_5").is_file()  # extracted from the archive
    assert len(dm.train_set) == 100 and len(dm.test_set) == 30
    train = dm.train_set.images
    assert train.shape == (100, 3, 32, 32) and train.dtype == torch.uint8
    # The fake marks each train image's red channel 1..100 and test images 255: no test image leaks in.
    assert sorted(train[:, 0, 0, 0].tolist()) == list(range(1, 101))
    assert (dm.test_set.images[:, 0] == 255).all()
    assert len(cifar(tmp_path, split="test").train_set) == 30
    assert len(cifar(tmp_path, split="all").train_set) == 130


def test_cifar10_batches_become_floats_in_range_on_the_device(tmp_path):
    fake_cifar10(tmp_path)
    dm = cifar(tmp_path, batch_size=16)
    batch = next(iter(dm.train_dataloader()))
    assert batch.dtype == torch.uint8 and batch.shape == (16, 3, 32, 32)
    x = dm.on_after_batch_transfer(batch, 0)
    assert x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1
    torch.testing.assert_close(x, batch.float() / 127.5 - 1)
    indices = torch.arange(5)  # validation batches (latent indices) pass through untouched
    assert dm.on_after_batch_transfer(indices, 0) is indices


def test_loader_order_is_deterministic_under_the_seed(tmp_path):
    """The run's seed fixes the order (the DataModule draws its shuffle seed from it); each pass over
    the loader is the next epoch, in a new order."""
    fake_cifar10(tmp_path)
    firsts = []
    for seed in (5, 5, 6):
        L.seed_everything(seed, verbose=False)
        loader = cifar(tmp_path).train_dataloader()
        firsts.append([next(iter(loader)), next(iter(loader))])
    assert torch.equal(firsts[0][0], firsts[1][0]) and torch.equal(firsts[0][1], firsts[1][1])
    assert not torch.equal(firsts[0][0], firsts[2][0])
    assert not torch.equal(firsts[0][0], firsts[0][1])


def test_random_flip_mirrors_about_half_the_images():
    x = torch.arange(2 * 64 * 3 * 4 * 4).reshape(64 * 2, 3, 4, 4).float()
    flipped = random_flip(x, torch.Generator().manual_seed(0))
    same = (flipped == x).flatten(1).all(1)
    mirrored = (flipped == x.flip(-1)).flatten(1).all(1)
    assert bool((same ^ mirrored).all()) and 40 < int(mirrored.sum()) < 88
    assert to_unit_range(torch.tensor([0, 255], dtype=torch.uint8)).tolist() == [-1.0, 1.0]


def test_cifar10_offline_without_archive_names_the_file_and_folder(tmp_path, monkeypatch):
    def no_internet(*a, **k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("mmagan.data.cifar10.download_and_extract_archive", no_internet)
    with pytest.raises(DataError, match=r"cifar-10-python\.tar\.gz.*copy .*into " + str(tmp_path)):
        cifar(tmp_path, download=True)
    with pytest.raises(DataError, match=r"cifar-10-python\.tar\.gz is not in .*download=false"):
        cifar(tmp_path / "nowhere", download=False)


def test_truncated_cifar10_archive(tmp_path):
    archive = fake_cifar10(tmp_path)
    archive.write_bytes(archive.read_bytes()[:2000])
    with pytest.raises(DataError, match="truncated or corrupt"):
        cifar(tmp_path)


def test_cifar10_from_a_folder_of_class_folders(tmp_path):
    for part, n in (("train", 12), ("test", 5)):
        for cls in ("cat", "dog"):
            write_images(tmp_path / "c10" / part / cls, n, size=(32, 32), seed=n + len(cls))
    dm = CIFAR10DataModule(
        root=str(tmp_path / "c10"), source="folder", cache_dir=str(tmp_path / "cache"), batch_size=4
    )
    dm.prepare_data()
    dm.setup()
    assert len(dm.train_set) == 24 and len(dm.test_set) == 10
    first = np.asarray(Image.open(tmp_path / "c10/train/cat/img0000.png")).transpose(2, 0, 1)
    assert np.array_equal(dm.train_set.images[0].numpy(), first)  # 32x32 in: pixels unchanged


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"source": "tfds"}, "data.source='tfds'"),
        ({"split": "val"}, "data.split='val'"),
        ({"loader": {"num_workers": -1}}, "data.loader.num_workers=-1"),
        ({"loader": {"pin_memory": "yes"}}, "data.loader.pin_memory='yes'"),
        ({"loader": {"workers": 2}}, "data.loader.workers is not a known key"),
    ],
)
def test_bad_cifar10_settings(kw, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        CIFAR10DataModule(**kw)


# ------------------------------------------------------------------------------------------ CelebA-HQ
def test_folder_is_searched_recursively_for_all_supported_types(tmp_path):
    write_images(tmp_path / "faces" / "a", 3, suffix=".png")
    write_images(tmp_path / "faces" / "b" / "c", 2, suffix=".jpg")
    write_images(tmp_path / "faces", 2, suffix=".webp")
    (tmp_path / "faces" / "notes.txt").write_text("not an image")
    dm = celeba(tmp_path / "faces", tmp_path)
    assert dm.train_set.images.shape == (7, 3, 32, 32)
    assert dm.sample_shape == (3, 32, 32)


def test_images_are_centre_cropped_then_resized(tmp_path):
    pixels = np.zeros((64, 96, 3), dtype=np.uint8)  # 96 wide: the centre 64x64 square is white
    pixels[:, 16:80] = 255
    (tmp_path / "faces").mkdir()
    for i in range(4):
        Image.fromarray(pixels).save(tmp_path / "faces" / f"{i}.png")
    images = celeba(tmp_path / "faces", tmp_path).train_set.images
    assert images.min() >= 250  # no black border survived the crop; resizing kept it white


def test_zip_gives_the_same_images_as_the_folder(tmp_path):
    write_images(tmp_path / "faces", 6, size=(70, 64))
    archive = zip_folder(tmp_path / "faces", tmp_path / "faces.zip")
    from_folder = celeba(tmp_path / "faces", tmp_path).train_set.images
    from_zip = celeba(archive, tmp_path).train_set.images
    assert np.array_equal(np.asarray(from_folder), np.asarray(from_zip))


def test_grayscale_and_rgba_images_are_converted_to_rgb(tmp_path):
    write_images(tmp_path / "faces", 3, mode="L", seed=1)
    write_images(tmp_path / "faces" / "rgba", 3, mode="RGBA", seed=2)
    images = np.asarray(celeba(tmp_path / "faces", tmp_path).train_set.images)
    assert images.shape == (6, 3, 32, 32)
    n_gray = sum(bool((img[0] == img[1]).all() and (img[1] == img[2]).all()) for img in images)
    assert n_gray == 3  # grayscale became three equal channels; RGBA kept its distinct colours


def test_corrupt_image_is_named_or_skipped_with_a_count(tmp_path, caplog):
    write_images(tmp_path / "faces", 5)
    bad = tmp_path / "faces" / "img0002.png"
    bad.write_bytes(bad.read_bytes()[:60])  # truncated file
    with pytest.raises(DataError, match=r"img0002\.png.*on_bad_image=skip"):
        celeba(tmp_path / "faces", tmp_path)
    with caplog.at_level(logging.WARNING, logger="mmagan"):
        dm = celeba(tmp_path / "faces", tmp_path, on_bad_image="skip")
    assert len(dm.train_set) == 4
    assert "skipped 1 unreadable images" in caplog.text and "img0002.png" in caplog.text


def test_truncated_zip(tmp_path):
    write_images(tmp_path / "faces", 5)
    archive = zip_folder(tmp_path / "faces", tmp_path / "faces.zip")
    archive.write_bytes(archive.read_bytes()[:300])
    with pytest.raises(DataError, match=r"faces\.zip is a truncated or corrupt zip"):
        celeba(archive, tmp_path)


def test_small_images_error_or_upscale(tmp_path):
    write_images(tmp_path / "faces", 4, size=(20, 24))
    with pytest.raises(DataError, match=r"img0000\.png is 20x24, smaller than data\.resolution=32"):
        celeba(tmp_path / "faces", tmp_path)
    assert celeba(tmp_path / "faces", tmp_path, on_small_image="upscale").train_set.images.shape[-1] == 32


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([], "src does not exist"),
        (["src/"], "src is an empty folder"),
        (["src/a.txt", "src/b/c.tif"], "src holds no images of the supported types"),
    ],
)
def test_missing_empty_or_imageless_source(tmp_path, entries, message):
    for entry in entries:
        path = tmp_path / entry
        path.mkdir(parents=True) if entry.endswith("/") else path.parent.mkdir(parents=True, exist_ok=True)
        if not entry.endswith("/"):
            path.write_text("not an image")
    with pytest.raises(DataError, match=message):
        celeba(tmp_path / "src", tmp_path)


def test_unknown_resolution_and_missing_source():
    with pytest.raises(
        ConfigError, match=r"data\.resolution=100 is invalid: must be one of \(32, 64, 128, 256\)"
    ):
        CelebAHQDataModule(source="x", resolution=100)
    with pytest.raises(ConfigError, match="data.source is not set"):
        CelebAHQDataModule(source=None)


def test_prepared_file_is_reused_until_the_folder_changes(tmp_path):
    write_images(tmp_path / "faces", 4)
    first = prepared_cache(tmp_path / "faces", 32, tmp_path / "cache", "error", "error")
    stamp = first.stat().st_mtime_ns
    again = prepared_cache(tmp_path / "faces", 32, tmp_path / "cache", "error", "error")
    assert again == first and again.stat().st_mtime_ns == stamp
    write_images(tmp_path / "faces" / "more", 1)
    changed = prepared_cache(tmp_path / "faces", 32, tmp_path / "cache", "error", "error")
    assert changed != first and len(load_prepared(changed)) == 5


def test_prepared_npy_is_read_directly_and_checked_against_the_resolution(tmp_path):
    write_images(tmp_path / "faces", 4, size=(64, 64))
    meta = prepare(tmp_path / "faces", tmp_path / "faces64.npy", 64, workers=1)
    assert meta["count"] == 4 and meta["resolution"] == 64
    dm = celeba(tmp_path / "faces64.npy", tmp_path, resolution=64)
    assert isinstance(dm.train_set.images, np.memmap) and not (tmp_path / "cache").exists()
    with pytest.raises(ConfigError, match=r"prepare it again at data\.resolution=128"):
        celeba(tmp_path / "faces64.npy", tmp_path, resolution=128)


def test_memory_mapped_batches_keep_the_shuffled_order(tmp_path):
    write_images(tmp_path / "faces", 10)
    dm = celeba(tmp_path / "faces", tmp_path)
    order = [7, 2, 9, 0]
    assert np.array_equal(dm.train_set.__getitems__(order).numpy(), np.asarray(dm.train_set.images)[order])


def test_worker_processes_load_every_image_once(tmp_path):
    write_images(tmp_path / "faces", 12)
    dm = celeba(tmp_path / "faces", tmp_path, loader={"num_workers": 2, "persistent_workers": False})
    batches = list(dm.train_dataloader())
    seen = torch.cat(batches).flatten(1)
    assert len(batches) == 3 and len({tuple(row.tolist()) for row in seen}) == 12


def test_prepare_command(tmp_path):
    write_images(tmp_path / "faces", 3)
    exe = Path(sys.executable).with_name("mmagan-prepare")
    ok = subprocess.run(
        [exe, tmp_path / "faces", tmp_path / "out.npy", "--resolution", "32"], capture_output=True
    )
    assert ok.returncode == 0 and load_prepared(tmp_path / "out.npy").shape == (3, 3, 32, 32)
    assert (tmp_path / "out.json").is_file()
    bad = subprocess.run(
        [exe, tmp_path / "nope", tmp_path / "o.npy", "--resolution", "32"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "nope does not exist" in bad.stderr
