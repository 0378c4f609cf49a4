"""The manual builds with --strict: a broken link or anchor in docs/ fails the suite."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_manual_builds_strict(tmp_path):
    mkdocs = Path(sys.executable).with_name("mkdocs")
    out = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "load_generator" in api and "PhaseBatch" in api  # rendered from the docstrings
    for page in ("manual/training", "manual/adding-a-method", "protocols", "results"):
        assert (tmp_path / "site" / page / "index.html").is_file(), page


def test_every_link_from_the_readme_into_the_repository_resolves():
    import re

    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(((?!https?:)[^)#]+)", readme)
    assert len(targets) >= 10
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert missing == []


def test_every_mean_and_error_the_findings_quote_is_one_the_report_wrote():
    """docs/manual/findings.md reads the generated pages in words; each `mean ± error` it quotes
    must appear, as written, on one of them (so a regenerated page cannot leave it behind)."""
    import re

    pair = re.compile(r"(-?\d+(?:\.\d+)?) ± (\d+(?:\.\d+)?)")
    pages = [p for p in (ROOT / "docs").rglob("*.md") if "manual" not in p.parts]
    written = {(float(a), float(b)) for p in pages for a, b in pair.findall(p.read_text())}
    quoted = [(float(a), float(b)) for a, b in pair.findall((ROOT / "docs/manual/findings.md").read_text())]
    assert quoted, "the findings quote no figures: the pattern is wrong"
    assert [q for q in quoted if q not in written] == []
