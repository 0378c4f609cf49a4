"""docs/protocols.md: every citation of it resolves, and its published numbers are the report's."""

import re
from pathlib import Path

from mmagan.report.published import published, published_markdown

ROOT = Path(__file__).parents[1]


def test_the_page_shows_the_data_file_the_report_reads():
    page = (ROOT / "docs" / "protocols.md").read_text()
    block = re.search(r"<!-- published:start -->\n(.*)\n<!-- published:end -->", page, re.S)
    assert block is not None and block.group(1).strip() == published_markdown().strip()


def test_every_citation_of_the_protocols_page_names_a_file_that_exists():
    cited = []
    for folder in ("conf", "sweeps", "src"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".yaml", ".py", ".md") and "protocols.md" in path.read_text():
                cited.append(path)
                assert "docs/protocols.md" in path.read_text(), path
    assert len(cited) >= 8 and (ROOT / "docs" / "protocols.md").is_file()


def test_published_numbers_are_shown_beside_their_own_protocol_only():
    assert [e["source"] for e in published("ring", "full")] == ["PacGAN Table 1 (400 epochs, 10 trials)"]
    assert published("ring", "medium") == [] and published("grid", "short") == []
    (pacgan_t2, veegan) = published("stacked_mnist", "full")
    assert pacgan_t2["rows"]["unrolled"] == [48.7, 4.32] and veegan["rows"]["dcgan"] == [99, 3.4]
