"""The hyperparameter study's findings on hand-made run folders whose figures are known."""

import json

import yaml

from mmagan.report.sensitivity import (
    collect_settings,
    compare_settings,
    grid_sentence,
    heatmap_figure,
    lambda_reading,
)
from mmagan.report.tables import build_rows

METRICS = ("modes/modes", "modes/high_quality_pct", "modes/reverse_kl")


def make_run(folder, method, seed, metrics, K=8, lam=0.5, tau=0.5, iterations=200, data="grid", **objective):
    (folder / ".hydra").mkdir(parents=True)
    objective = {"name": method, **objective}
    if method == "mmagan":
        objective.update(num_heads=K, lambda_div=lam, tau=tau)
    cfg = {
        "seed": seed,
        "iterations": iterations,
        "data": {"name": "grid"},
        "model": {"objective": objective},
    }
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg))
    (folder / "metrics.json").write_text(json.dumps({"finished": 1, **metrics}))


def figures(modes, seed, hq=60.0, kl=0.5):
    """Seed-to-seed spread of +-1 around the given means, so that intervals are finite."""
    wobble = (-1.0, 0.0, 1.0)[seed]
    return {
        "modes/modes": modes + wobble,
        "modes/high_quality_pct": hq + wobble,
        "modes/reverse_kl": kl + wobble / 100,
    }


def study(root):
    """A baseline (gan, 20 modes), the paper's grid with one setting far better on modes (K16,
    lambda 1, tau 0.3: 24) and one far worse (K4, lambda 0.1, tau 0.7: 10), the K and lambda axes;
    the centre setting also run by the results sweep (seeds 0-2) and by the grid (seed 0 again)."""
    for seed in range(3):
        make_run(root / "results_grid_medium" / f"gan{seed}", "gan", seed, figures(20.0, seed))
        make_run(root / "results_grid_medium" / f"mma{seed}", "mmagan", seed, figures(20.0, seed))
        make_run(
            root / "results_grid_medium" / f"bal{seed}",
            "mmagan",
            seed,
            figures(40.0, seed),
            real_assignment="balanced",
        )
    for K in (4, 8, 16):
        for lam in (0.1, 0.5, 1.0):
            for tau in (0.3, 0.5, 0.7):
                modes = {(16, 1.0, 0.3): 24.0, (4, 0.1, 0.7): 10.0}.get((K, lam, tau), 20.0)
                for seed in range(2):
                    name = f"K{K}l{lam}t{tau}s{seed}"
                    make_run(
                        root / "sensitivity_grid_medium" / name,
                        "mmagan",
                        seed,
                        figures(modes, seed),
                        K,
                        lam,
                        tau,
                    )
    for K in (1, 32):
        for seed in range(2):
            make_run(root / "heads_k_grid_medium" / f"K{K}s{seed}", "mmagan", seed, figures(15.0, seed), K=K)
    for lam, modes, hq in ((0.0, 12.0, 80.0), (5.0, 22.0, 50.0)):
        for seed in range(3):
            make_run(
                root / "lambda_tradeoff_grid_medium" / f"l{lam}s{seed}",
                "mmagan",
                seed,
                figures(modes, seed, hq),
                lam=lam,
            )
    make_run(root / "sensitivity_grid_medium" / "other_budget", "mmagan", 2, figures(99.0, 2), iterations=100)


def baselines(root):
    from mmagan.runs.listing import find_runs, finished

    rows = build_rows(finished(find_runs([root / "results_grid_medium"])), list(METRICS))
    gan = next(r for r in rows if r.method == "gan")
    return {m: gan for m in METRICS}


def test_settings_join_the_sweeps_one_run_per_seed_and_only_the_papers_heads(tmp_path):
    study(tmp_path)
    settings = collect_settings(tmp_path, "grid", 200)
    assert len(settings) == 27 + 2 + 2  # the grid, K 1 and 32, lambda 0 and 5
    centre = settings[(8, 0.5, 0.5)]
    assert centre.seeds == 3  # seeds 0-2 of the results sweep; the grid's seed 0 is not counted twice
    assert settings[(16, 1.0, 0.3)].seeds == 2
    assert all(r.variant == "" for s in settings.values() for r in s.runs)  # balanced heads left out
    assert all(r.iterations == 200 for s in settings.values() for r in s.runs)


def test_each_setting_is_compared_with_the_best_baseline_and_the_count_of_intervals_is_given(tmp_path):
    study(tmp_path)
    settings = collect_settings(tmp_path, "grid", 200)
    comparisons = compare_settings(settings, baselines(tmp_path), list(METRICS))
    on_modes = {c.key: c.verdict for c in comparisons if c.metric == "modes/modes"}
    assert on_modes[(16, 1.0, 0.3)] == "better" and on_modes[(4, 0.1, 0.7)] == "worse"
    assert on_modes[(8, 0.5, 0.5)] == "no difference shown"  # the baseline's figures, seed for seed
    assert on_modes[(4, 0.5, 0.5)] == "no difference shown"
    sentence = grid_sentence(comparisons, "modes/modes", "modes", baselines(tmp_path)["modes/modes"])
    assert "of 27 settings, 27 with an interval against gan; 1 shown better, 1 shown worse" in sentence
    assert "Over the 81 intervals" in sentence and "about 4.0 would exclude 0 by chance" in sentence
    assert "Better: K=16 lambda=1 tau=0.3 (+3.5 [" in sentence


def test_the_heatmap_marks_exactly_the_cells_whose_interval_excludes_zero(tmp_path):
    study(tmp_path)
    settings = collect_settings(tmp_path, "grid", 200)
    comparisons = compare_settings(settings, baselines(tmp_path), list(METRICS))
    fig = heatmap_figure(settings, comparisons, "modes/modes", "grid")
    panels = [ax for ax in fig.axes if ax.get_title().startswith("tau =")]
    assert [ax.get_title() for ax in panels] == ["tau = 0.3", "tau = 0.5", "tau = 0.7"]
    marked = {
        (ax.get_title(), t.get_text())
        for ax in panels
        for t in ax.texts
        if t.get_text().split("\n")[0][-1] in "+-"
    }
    assert marked == {("tau = 0.3", "23.5+\nn=2"), ("tau = 0.7", "9.5-\nn=2")}
    frames = {ax.get_title(): len(ax.patches) for ax in panels}
    assert frames == {"tau = 0.3": 1, "tau = 0.5": 0, "tau = 0.7": 1}
    # K 1 and 32 and lambda 0 and 5 are axes of their own, not cells of the grid
    assert all(len(ax.texts) == 9 for ax in panels)


def test_the_lambda_reading_says_whether_more_lambda_buys_modes_at_a_cost_in_quality(tmp_path):
    from mmagan.report.sensitivity import k_axis, lambda_axis

    study(tmp_path)
    settings = collect_settings(tmp_path, "grid", 200)
    axis = lambda_axis(settings)
    assert [s.lam for s in axis] == [0.0, 0.1, 0.5, 1.0, 5.0]
    reading = lambda_reading(axis)
    assert reading.startswith("lambda 5 minus lambda 0: modes +10 [")
    assert "% high quality -30 [" in reading and "the paper's claim holds here" in reading
    assert [s.K for s in k_axis(settings)] == [1, 4, 8, 16, 32]


def test_the_results_page_carries_the_study(tmp_path):
    from mmagan.report.results import write_results

    study(tmp_path / "sweeps")
    for seed in range(2):  # the ring's results sweep: one MMA-GAN setting, nothing to study
        for method in ("gan", "mmagan"):
            make_run(
                tmp_path / "sweeps" / "results_ring_medium" / f"{method}{seed}",
                method,
                seed,
                figures(7, seed),
                data="ring",
            )
    md = write_results(tmp_path / "sweeps", tmp_path / "docs", "mmagan-report --results sweeps").read_text()
    section = md.split("## MMA-GAN's hyperparameters on grid at 200 iterations")[1]
    assert "### K x lambda x tau" in section and "### K against the number of modes" in section
    assert "65 finished runs in 31 settings (27 settings of the paper's 27)" in section
    assert "## MMA-GAN's hyperparameters on ring" not in md  # one setting: no study to show
    assert "Seeds per K: K=1 2, K=4 2, K=8 3, K=16 2, K=32 2." in section
    assert "Seeds per lambda: lambda=0 3, lambda=0.1 2, lambda=0.5 3, lambda=1 2, lambda=5 3." in section
    assets = tmp_path / "docs" / "results"
    for name in (
        "sensitivity_grid_medium_modes.png",
        "k_axis_grid_medium.png",
        "lambda_axis_grid_medium.png",
    ):
        assert (assets / name).is_file() and f"results/{name}" in section
