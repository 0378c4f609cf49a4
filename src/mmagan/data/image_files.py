"""Finding and decoding image files in a folder tree or a zip, into square uint8 arrays."""

from __future__ import annotations

import io
import logging
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from mmagan.errors import DataError

log = logging.getLogger("mmagan")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
ON_BAD_IMAGE = ("error", "skip")
ON_SMALL_IMAGE = ("error", "upscale")


@dataclass(frozen=True)
class ImageFile:
    """One image: a file path, or a member of a zip archive."""

    path: str
    member: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.member}" if self.member else self.path


def list_images(source: str | Path) -> list[ImageFile]:
    """Every png/jpg/webp under a folder (recursively) or in a zip, in a stable sorted order."""
    source = Path(source)
    if not source.exists():
        raise DataError(f"{source} does not exist; give a folder of images or a zip of images")
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        found = [ImageFile(str(p)) for p in files]
        if not found and not any(source.iterdir()):
            raise DataError(f"{source} is an empty folder; put the images there ({'/'.join(IMAGE_SUFFIXES)})")
    elif zipfile.is_zipfile(source):
        try:
            with zipfile.ZipFile(source) as zf:
                names = sorted(n for n in zf.namelist() if Path(n).suffix.lower() in IMAGE_SUFFIXES)
        except (zipfile.BadZipFile, OSError) as e:
            raise DataError(f"{source} is not a readable zip ({e}); download or copy it again") from e
        found = [ImageFile(str(source), n) for n in names]
    elif source.suffix.lower() == ".zip":
        raise DataError(f"{source} is a truncated or corrupt zip; download or copy it again")
    else:
        raise DataError(f"{source} is neither a folder nor a zip of images")
    if not found:
        raise DataError(f"{source} holds no images of the supported types {', '.join(IMAGE_SUFFIXES)}")
    return found


_open_zips: dict[str, zipfile.ZipFile] = {}


def _read_bytes(image: ImageFile) -> bytes:
    if image.member is None:
        return Path(image.path).read_bytes()
    zf = _open_zips.get(image.path)  # one handle per process: loader workers each open their own
    if zf is None:
        zf = _open_zips[image.path] = zipfile.ZipFile(image.path)
    return zf.read(image.member)


def load_square(image: ImageFile, resolution: int, on_small: str = "error") -> np.ndarray:
    """Decode to RGB, centre-crop to a square, resize with antialiasing; uint8 (3, R, R).

    Grayscale, palette and RGBA images are converted to RGB (alpha dropped). Raises DataError
    naming the file when it cannot be decoded or is smaller than `resolution` with on_small=error.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(_read_bytes(image))) as im:
                im.load()
                im = im.convert("RGB")
    except Exception as e:  # PIL raises many types for bad files: name the file, not the decoder
        raise DataError(f"cannot read image {image}: {type(e).__name__}: {e}") from e
    w, h = im.size
    side = min(w, h)
    if side < resolution and on_small == "error":
        raise DataError(
            f"image {image} is {w}x{h}, smaller than data.resolution={resolution}; use a lower "
            f"resolution, or on_small_image=upscale to enlarge such images"
        )
    left, top = (w - side) // 2, (h - side) // 2
    im = im.crop((left, top, left + side, top + side))
    if side != resolution:
        # PIL's LANCZOS filters over the whole footprint when shrinking: antialiased.
        im = im.resize((resolution, resolution), Image.Resampling.LANCZOS)
    return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)
