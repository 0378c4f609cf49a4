"""The tutorial (docs/tutorial.py, a notebook in script form) runs from top to bottom."""

import runpy
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).parents[1] / "docs" / "tutorial.py"


def test_the_tutorial_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # it writes its runs under ./tutorial_runs
    runpy.run_path(str(TUTORIAL), run_name="__main__")
    out = capsys.readouterr().out
    assert "in the far quarter" in out and " dcgan " in out
    assert (tmp_path / "tutorial_runs" / "mmagan" / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.parametrize("cell", ["## Train MMA-GAN and a baseline", "## Paint one activation vector"])
def test_the_manual_shows_the_tutorial(cell):
    assert cell in TUTORIAL.read_text()
    assert '--8<-- "tutorial.py"' in (TUTORIAL.parent / "tutorial.md").read_text()
