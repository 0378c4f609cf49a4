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
