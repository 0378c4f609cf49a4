"""mmagan-report on hand-made run folders whose figures, and so means, are known."""

import csv
import json
import math

import numpy as np
import pytest
import yaml
from scipy import stats

from mmagan.report.cli import main, write_report
from mmagan.report.stats import welch_difference

# (method, K, lambda, tau) -> FID and modes of seeds 0, 1, 2
RUNS = {
    ("mmagan", 8, 0.5, 0.3): ([20.0, 22.0, 24.0], [990, 995, 1000]),
    ("mmagan", 4, 0.1, 0.7): ([30.0, 31.0, 35.0], [900, 950, 925]),
    ("dcgan", None, None, None): ([28.0, 33.0, 29.0], [800, 850, 830]),
}


def make_run(folder, method, K, lam, tau, seed, metrics=None, failed=None):
    (folder / ".hydra").mkdir(parents=True)
    objective = {"name": method}
    if method == "mmagan":
        objective.update(num_heads=K, lambda_div=lam, tau=tau)
    cfg = {"seed": seed, "data": {"name": "cifar10"}, "model": {"objective": objective}}
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg))
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps(metrics))
    if failed is not None:
        (folder / "failed.json").write_text(json.dumps({"error": failed}))


@pytest.fixture
def sweep(tmp_path):
    root = tmp_path / "sweep"
    for (method, K, lam, tau), (fids, modes) in RUNS.items():
        for seed, (fid, m) in enumerate(zip(fids, modes)):
            figures = {
                "eval/fid": fid,
                "modes/modes": m,
                "train/loss_g": 1.0,
                "finished": 1,
                "eval/fid_seconds": 9,
            }
            make_run(root / f"{method}{K}{lam}{tau}-{seed}", method, K, lam, tau, seed, figures)
    make_run(root / "broken", "mmagan", 16, 1.0, 0.5, 0, failed="ConfigError: bad tau")
    make_run(root / "cut", "mmagan", 16, 1.0, 0.5, 1, metrics={"eval/fid": 99.0, "finished": 0})
    return root


def test_rows_hold_mean_and_std_over_seeds_ranked_by_fid(sweep, tmp_path):
    out = tmp_path / "report"
    found = write_report([sweep], out)
    with (out / "report.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3  # the failed and the unfinished run are not averaged in
    by_method = {(r["method"], r["K"]): r for r in rows}
    for (method, K, _, _), (fids, modes) in RUNS.items():
        row = by_method[(method, "" if K is None else str(K))]
        assert float(row["eval/fid mean"]) == pytest.approx(np.mean(fids))
        assert float(row["eval/fid std"]) == pytest.approx(np.std(fids, ddof=1))
        assert float(row["modes/modes mean"]) == pytest.approx(np.mean(modes))
        assert row["seeds"] == "3"
    assert [r["rank"] for r in rows] == ["1", "2", "3"]
    assert [(r["method"], r["K"]) for r in rows] == [("mmagan", "8"), ("dcgan", ""), ("mmagan", "4")]
    assert "train/loss_g mean" not in rows[0] and "eval/fid_seconds mean" not in rows[0]
    assert {f.name for f in found["figures"]} >= {
        "heatmap_cifar10_eval_fid.png",
        "heatmap_cifar10_modes_modes.png",
    }


def test_best_mmagan_against_each_baseline_with_a_welch_interval(sweep, tmp_path):
    found = write_report([sweep], tmp_path / "report")
    (comparison,) = found["comparisons"]
    assert comparison.best.K == 8 and comparison.baseline.method == "dcgan"
    best, base = RUNS[("mmagan", 8, 0.5, 0.3)][0], RUNS[("dcgan", None, None, None)][0]
    d = comparison.differences["eval/fid"]
    reference = stats.ttest_ind(best, base, equal_var=False).confidence_interval(0.95)
    assert d.diff == pytest.approx(np.mean(best) - np.mean(base))
    assert (d.low, d.high) == pytest.approx((reference.low, reference.high))
    md = (tmp_path / "report" / "report.md").read_text()
    assert "Best MMA-GAN against dcgan" in md and f"{reference.low:.4g}" in md


def test_failed_and_unfinished_runs_are_listed(sweep, tmp_path):
    found = write_report([sweep], tmp_path / "report")
    status = {r.folder.name: r.status for r in found["records"]}
    assert status["broken"] == "failed" and status["cut"] == "incomplete"
    md = (tmp_path / "report" / "report.md").read_text()
    section = md.split("## Runs that did not finish")[1]
    assert "broken" in section and "ConfigError: bad tau" in section and "cut" in section


def test_one_seed_has_no_interval():
    d = welch_difference([1.0], [2.0, 3.0])
    assert d.diff == -1.5 and math.isnan(d.low) and math.isnan(d.high)


def test_command_line_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "nowhere")])
    assert exit_info.value.code == 2
    assert "nowhere does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        main([str(tmp_path / "empty")])
    assert "no run folders" in capsys.readouterr().err
