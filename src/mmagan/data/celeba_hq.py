"""CelebA-HQ (or any folder of face images) at 128 or 256, read from the prepared format."""

from __future__ import annotations

from pathlib import Path

from mmagan.checks import Checks, check_values, one_of
from mmagan.data.image_files import ON_BAD_IMAGE, ON_SMALL_IMAGE
from mmagan.data.images import IMAGE_CHECKS, ImageArray, ImageDataModule
from mmagan.data.prepared import load_prepared, prepared_cache
from mmagan.errors import ConfigError
from mmagan.resolutions import RESOLUTIONS


class CelebAHQDataModule(ImageDataModule):
    checks: Checks = {
        **IMAGE_CHECKS,
        "resolution": (one_of(RESOLUTIONS), f"one of {RESOLUTIONS}"),
        "on_bad_image": (one_of(ON_BAD_IMAGE), f"one of {ON_BAD_IMAGE}"),
        "on_small_image": (one_of(ON_SMALL_IMAGE), f"one of {ON_SMALL_IMAGE}"),
    }
    """`source`: a prepared .npy (from mmagan-prepare), or a folder or zip of images, which is
    prepared once into `cache_dir` on first use (on rank 0) and reused while it is unchanged.

    CelebA-HQ has no official download: build it with the progressive-GAN scripts or get the
    1024x1024 images from a mirror, then point `source` at them.
    """

    in_memory = False

    DEFAULT_RESOLUTION = 128

    @classmethod
    def shape_for(cls, data: dict) -> tuple[int, ...]:
        resolution = data.get("resolution", cls.DEFAULT_RESOLUTION)
        return (3, resolution, resolution)

    def __init__(
        self,
        name: str = "celeba_hq",
        source: str | None = None,
        resolution: int = DEFAULT_RESOLUTION,
        cache_dir: str = "data/prepared",
        on_bad_image: str = "error",
        on_small_image: str = "error",
        **kwargs,
    ) -> None:
        check_values(
            {"resolution": resolution, "on_bad_image": on_bad_image, "on_small_image": on_small_image},
            "data.",
            self.checks,
        )
        if not source:
            raise ConfigError(
                "data.source is not set: give a folder or zip of CelebA-HQ images, or a .npy from "
                "mmagan-prepare, e.g. data.source=/data/celeba_hq/images1024x1024"
            )
        super().__init__(resolution=resolution, **kwargs)
        self.name = name
        self.source = Path(source)
        self.cache_dir = Path(cache_dir)
        self.on_bad_image, self.on_small_image = on_bad_image, on_small_image

    def prepared_path(self) -> Path:
        if self.source.suffix == ".npy":
            if not self.source.is_file():
                raise ConfigError(f"data.source={str(self.source)!r} does not exist")
            return self.source
        return prepared_cache(
            self.source, self.sample_shape[-1], self.cache_dir, self.on_bad_image, self.on_small_image
        )

    def prepare_data(self) -> None:
        self.prepared_path()

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            images = load_prepared(self.prepared_path())
            self.check_shape(images, f"data.source={str(self.source)!r}")
            self.check_size(len(images), f"data.source={str(self.source)!r}")
            self.train_set = ImageArray(images)
