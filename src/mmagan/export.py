"""mmagan-export CKPT OUT: a generator-only file (G's weights plus what rebuilds the net), for
sharing a model or sampling it on another machine with `mmagan.load_generator(OUT)`."""

from __future__ import annotations

import argparse
import logging

from mmagan.errors import exit_on_user_error
from mmagan.runs.checkpoints import export_generator

log = logging.getLogger("mmagan")


def main(argv: list[str] | None = None) -> None:
    """mmagan-export CKPT OUT [--no-ema]: a generator file that `load_generator` reads alone."""
    parser = argparse.ArgumentParser(prog="mmagan-export", description=" ".join(__doc__.split()))
    parser.add_argument("checkpoint", help="a training checkpoint (.ckpt)")
    parser.add_argument("out", help="the generator file to write (e.g. generator.pt)")
    parser.add_argument("--no-ema", action="store_true", help="G's own weights instead of its EMA")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    def run() -> None:
        out = export_generator(args.checkpoint, args.out, ema=not args.no_ema)
        log.info("wrote %s (%.1f MB)", out, out.stat().st_size / 1e6)

    exit_on_user_error(run)


if __name__ == "__main__":
    main()
