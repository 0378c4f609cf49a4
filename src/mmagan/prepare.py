"""mmagan-prepare: a folder or zip of images -> mmagan's prepared format (data/prepared.py).

mmagan-prepare <folder or zip> <out.npy> --resolution 256 [--on-bad-image skip]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from mmagan.data.image_files import ON_BAD_IMAGE, ON_SMALL_IMAGE
from mmagan.data.prepared import prepare
from mmagan.errors import DataError
from mmagan.resolutions import RESOLUTIONS

log = logging.getLogger("mmagan")


def main(argv: list[str] | None = None) -> None:
    """mmagan-prepare: convert an image folder or archive into the prepared file a DataModule reads."""
    parser = argparse.ArgumentParser(
        prog="mmagan-prepare", description="Convert a folder or zip of images into mmagan's prepared format."
    )
    parser.add_argument("source", help="folder of images (searched recursively) or zip of images")
    parser.add_argument("out", help="output .npy file (a .json of metadata is written beside it)")
    parser.add_argument("--resolution", type=int, required=True, help=f"one of {RESOLUTIONS}")
    parser.add_argument(
        "--on-bad-image",
        default="error",
        choices=ON_BAD_IMAGE,
        help="an image that cannot be decoded: error (stop and name it) or skip it",
    )
    parser.add_argument(
        "--on-small-image",
        default="error",
        choices=ON_SMALL_IMAGE,
        help="an image smaller than --resolution: error (stop and name it) or upscale it",
    )
    parser.add_argument("--workers", type=int, default=None, help="decoding processes (default: cores - 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        meta = prepare(
            args.source, args.out, args.resolution, args.on_bad_image, args.on_small_image, args.workers
        )
    except DataError as e:
        log.error("data error: %s", e)
        sys.exit(2)
    print(json.dumps({k: v for k, v in meta.items() if k != "skipped_files"}))


if __name__ == "__main__":
    main()
