"""The prepared format: every image decoded, cropped and resized once into one uint8 .npy file
(N, 3, R, R) plus a .json of what went in. Training memory-maps it, so an epoch costs a read of
raw pixels instead of decoding and resizing 30,000 JPEGs (StyleGAN2-ADA's dataset_tool does the
same with a zip of PNGs; a raw array is faster still to read).

The command that writes it is `mmagan-prepare` (mmagan/prepare.py).
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
from functools import partial
from pathlib import Path

import numpy as np

from mmagan.data.image_files import ON_BAD_IMAGE, ON_SMALL_IMAGE, ImageFile, list_images, load_square
from mmagan.errors import DataError, require_one_of
from mmagan.resolutions import RESOLUTIONS
from mmagan.runs.files import fingerprint, write_json

log = logging.getLogger("mmagan")
FORMAT_VERSION = 1


def _load_or_error(image: ImageFile, resolution: int, on_small: str) -> np.ndarray | str:
    try:
        return load_square(image, resolution, on_small)
    except DataError as e:
        return str(e)


def prepare(
    source: str | Path,
    out: str | Path,
    resolution: int,
    on_bad_image: str = "error",
    on_small_image: str = "error",
    workers: int | None = None,
) -> dict:
    """Convert `source` (folder or zip) into `out` (.npy) and `out` with .json; returns the metadata.

    The file appears under its final name only when complete, so an interrupted run leaves
    nothing that a later run would mistake for a prepared data set.
    """
    if resolution not in RESOLUTIONS:
        raise DataError(f"resolution={resolution!r} is not supported; choose one of {RESOLUTIONS}")
    require_one_of("on_bad_image", on_bad_image, ON_BAD_IMAGE, DataError)
    require_one_of("on_small_image", on_small_image, ON_SMALL_IMAGE, DataError)
    out = Path(out)
    images = list_images(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".partial.npy")
    array = np.lib.format.open_memmap(
        tmp, mode="w+", dtype=np.uint8, shape=(len(images), 3, resolution, resolution)
    )
    workers = workers if workers is not None else max(1, min(16, (os.cpu_count() or 2) - 1))
    load = partial(_load_or_error, resolution=resolution, on_small=on_small_image)
    kept, skipped = 0, []
    pool = multiprocessing.Pool(workers) if workers > 1 and len(images) > 64 else None
    try:
        results = pool.imap(load, images, chunksize=16) if pool else map(load, images)
        for image, result in zip(images, results):
            if isinstance(result, str):
                if on_bad_image == "error":
                    raise DataError(f"{result} (set on_bad_image=skip to leave such files out)")
                skipped.append(str(image))
                continue
            array[kept] = result
            kept += 1
    finally:
        if pool:
            pool.terminate()
    if kept == 0:
        tmp.unlink()
        raise DataError(f"{source}: none of its {len(images)} images could be read; first: {skipped[0]}")
    array.flush()
    del array
    if skipped:
        log.warning("%s: skipped %d unreadable images (first: %s)", source, len(skipped), skipped[0])
        full = np.load(tmp, mmap_mode="r")
        final = np.lib.format.open_memmap(
            out.with_name(out.stem + ".partial2.npy"),
            mode="w+",
            dtype=np.uint8,
            shape=(kept, 3, resolution, resolution),
        )
        final[:] = full[:kept]
        final.flush()
        del full, final
        tmp.unlink()
        tmp = out.with_name(out.stem + ".partial2.npy")
    meta = {
        "format_version": FORMAT_VERSION,
        "source": str(Path(source).resolve()),
        "resolution": resolution,
        "count": kept,
        "skipped": len(skipped),
        "skipped_files": skipped[:100],
        "on_small_image": on_small_image,
    }
    write_json(out.with_suffix(".json"), meta)
    os.replace(tmp, out)
    log.info("prepared %d images at %dx%d into %s", kept, resolution, resolution, out)
    return meta


def load_prepared(path: str | Path) -> np.ndarray:
    """The memory-mapped uint8 array of a prepared file; DataError when it is not one."""
    path = Path(path)
    try:
        array = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as e:
        raise DataError(f"{path} is not a prepared data set (.npy from mmagan-prepare): {e}") from e
    if array.dtype != np.uint8 or array.ndim != 4 or array.shape[1] != 3:
        raise DataError(f"{path} holds {array.dtype} {array.shape}, not uint8 images (N, 3, R, R)")
    return array


def source_fingerprint(source: str | Path) -> str:
    """Changes when files are added, removed, replaced or touched, or the zip changes."""
    source = Path(source).resolve()
    entries = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    stats = ((p, p.stat()) for p in entries)
    return fingerprint(
        itertools.chain(
            [str(source)],
            (f"{p.relative_to(source.parent)}|{st.st_size}|{st.st_mtime_ns}" for p, st in stats),
        )
    )


def prepared_cache(
    source: str | Path, resolution: int, cache_dir: str | Path, on_bad_image: str, on_small_image: str
) -> Path:
    """The prepared file for a folder or zip, converted on first use and reused while it is unchanged."""
    key = source_fingerprint(source)
    out = Path(cache_dir) / f"{Path(source).stem}-{resolution}-{on_bad_image}-{on_small_image}-{key}.npy"
    if not out.exists():
        log.info("preparing %s at %dx%d once into %s", source, resolution, resolution, out)
        prepare(source, out, resolution, on_bad_image, on_small_image)
    return out
