"""The literature's numbers: one data file (published.yaml), each entry beside the runs of its own
data and protocol only; docs/protocols.md shows the whole file."""

from __future__ import annotations

from pathlib import Path

import yaml

from mmagan.report.columns import MIXTURE_METRICS, STACKED_METRICS_ALL
from mmagan.report.tables import markdown_table

PUBLISHED_FILE = Path(__file__).with_name("published.yaml")


def published(data: str, protocol: str) -> list[dict]:
    """The published entries measured on `data` under `protocol` (see published.yaml)."""
    entries = yaml.safe_load(PUBLISHED_FILE.read_text())
    return [e for e in entries if e["data"] == data and e["protocol"] == protocol]


def published_markdown() -> str:
    """Every published entry as a Markdown table per source and data set (docs/protocols.md shows
    this block; a test keeps the two equal)."""
    titles = dict(MIXTURE_METRICS + STACKED_METRICS_ALL)
    blocks = []
    for e in yaml.safe_load(PUBLISHED_FILE.read_text()):
        header = ["method", *(titles[m] for m in e["metrics"])]
        lines = [[name, *(f"{v:g}" for v in values)] for name, values in e["rows"].items()]
        blocks.append(f"**{e['data']}**, {e['source']}:\n\n" + markdown_table(header, lines))
    return "\n\n".join(blocks)
