"""mmagan-train as a user runs it: from any directory, writing into ./outputs."""

import json

from helpers import TINY, TINY_MLP, run_cli


def test_cli_runs_from_any_directory(tmp_path):
    result = run_cli(*TINY, *TINY_MLP, "iterations=5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    (metrics,) = tmp_path.glob("outputs/train/runs/*/metrics.json")
    figures = json.loads(metrics.read_text())
    assert figures["iteration"] == 5 and figures["finished"] == 1
    run_dir = metrics.parent
    assert (run_dir / ".hydra" / "config.yaml").is_file()  # the resolved config beside the results
    assert f"run folder: {run_dir}" in result.stdout + result.stderr
    assert "modes/modes" in result.stdout + result.stderr


def test_unknown_group_option_lists_the_choices(tmp_path):
    result = run_cli("data=mnist", cwd=tmp_path)
    assert result.returncode != 0
    assert "data/mnist" in result.stderr and "ring" in result.stderr
