"""The README's screenshot of the painting page: serves a checkpoint, paints two strokes in Debian's
chromium (playwright), saves docs/inspect/paint_page.png.

    python scripts/paint_page_screenshot.py CKPT [--out docs/inspect/paint_page.png]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import threading
import time

import uvicorn
from playwright.sync_api import sync_playwright

from mmagan.inspect.cli import paint_session
from mmagan.inspect.server import create_app
from mmagan.runs.checkpoints import load_generator


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint")
    p.add_argument("--layer", default="main.5")
    p.add_argument("--out", default="docs/inspect/paint_page.png")
    args = p.parse_args()
    session_args = argparse.Namespace(
        checkpoint=args.checkpoint, extractor="auto", inception_weights=None, latents=16
    )
    session = paint_session(session_args, load_generator(args.checkpoint))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(session), port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1100, "height": 640})
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector(".vec", timeout=120_000)
        page.select_option("#layer", args.layer)
        page.fill("#seed", "3")
        page.dispatch_event("#seed", "change")
        page.wait_for_selector(".vec", timeout=120_000)
        time.sleep(1)
        box = page.locator("#overlay").bounding_box()
        cell = box["width"] / 8
        for vec, block, cells in (
            (0, "0", [(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2)]),
            (-1, "1", [(5, 5), (5, 6), (6, 5), (6, 6)]),
        ):
            page.locator(".vec").nth(vec if vec >= 0 else page.locator(".vec").count() - 1).click()
            page.select_option("#block", block)
            (y0, x0), *rest = cells
            page.mouse.move(box["x"] + (x0 + 0.5) * cell, box["y"] + (y0 + 0.5) * cell)
            page.mouse.down()
            for y, x in rest:
                page.mouse.move(box["x"] + (x + 0.5) * cell, box["y"] + (y + 0.5) * cell)
            page.mouse.up()
            time.sleep(1.5)
        page.screenshot(path=args.out, full_page=True)
        browser.close()
    server.should_exit = True
    print(f"screenshot -> {args.out}")


if __name__ == "__main__":
    main()
