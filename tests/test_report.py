"""mmagan-report on hand-made run folders whose figures, and so means, are known."""

import csv
import json
import math

import numpy as np
import pytest
import torch
import yaml
from scipy import stats

from mmagan.report.cli import main, write_report
from mmagan.report.numbers import sig
from mmagan.report.results import mean_se
from mmagan.report.stats import welch_difference

METRICS = ["modes/modes", "modes/high_quality_pct", "modes/reverse_kl"]

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


def test_results_page_from_study_sweeps(make_cfg, tmp_path):
    """docs/results.md as mmagan-report --results writes it: tables per benchmark and protocol,
    published numbers only beside the full protocol, diagnostics, the raw CSV."""
    import csv as csv_module

    from omegaconf import OmegaConf

    from mmagan.report.results import write_results
    from mmagan.train import train

    sweeps = tmp_path / "sweeps"

    def job(sweep, name, *overrides):
        folder = sweeps / sweep / name
        cfg = make_cfg("iterations=10", "trainer.val_check_interval=10", *overrides, run_dir=folder)
        train(cfg)
        (folder / ".hydra").mkdir()
        OmegaConf.save(cfg, folder / ".hydra" / "config.yaml")  # what Hydra writes in a sweep

    job("results_ring_short", "mmagan0", "seed=0")
    job("results_ring_short", "mmagan1", "seed=1")
    job("results_ring_short", "pacgan0", "model=pacgan", "seed=0")
    job("results_ring", "gan0", "model=gan", "seed=0")
    job("sensitivity_ring_short", "k4", "model.objective.num_heads=4")
    md = write_results(sweeps, tmp_path / "docs", "mmagan-report --results sweeps").read_text()

    short = md.split("## ring, short protocol")[1].split("## ")[0]
    assert "| mmagan | 2 |" in short and "±" in short and "| pacgan2 | 1 |" in short
    # MMA-GAN's settings, the same in every row, are stated once instead of in each label.
    assert short.count("K=8 lambda=0.5 tau=0.5") == 1 and "MMA-GAN's settings in every row: K=8" in short
    assert "published" not in short
    # the reading under the table: ranks by mean and MMA-GAN against the best other method
    assert "**reverse KL** (lower is better): " in short and "MMA-GAN minus pacgan2" in short
    full = md.split("## ring, full protocol")[1].split("## ")[0]
    assert "gan (published: PacGAN Table 1" in full and "| 6.3 | 98.2 | 0.45 |" in full
    assert "Sensitivity to K, lambda and tau" in md and "Do the heads specialise on modes?" in md
    assert "distinct heads win the modes against" in md  # the finding, stated from the numbers
    assets = tmp_path / "docs" / "results"
    assert (assets / "heads_results_ring_short.png").is_file()
    assert (assets / "headmap_results_ring_short.png").is_file()
    with (assets / "runs.csv").open() as f:
        rows = list(csv_module.DictReader(f))
    assert len(rows) == 4 and {r["method"] for r in rows} == {"mmagan", "pacgan", "gan"}
    assert all(r["modes"] for r in rows)


def test_heads_over_modes_reads_the_final_discriminator(make_cfg, tmp_path):
    """A D whose heads are set by hand (head 2 fires everywhere, the others nowhere) gives the matrix
    it must, from the checkpoint, and the cache keeps it."""
    from omegaconf import OmegaConf

    from mmagan.report.heads import heads_over_modes
    from mmagan.runs.listing import read_run
    from mmagan.train import train

    cfg = make_cfg("iterations=4", "model.objective.num_heads=5", run_dir=tmp_path / "r")
    train(cfg)
    (tmp_path / "r" / ".hydra").mkdir()
    OmegaConf.save(cfg, tmp_path / "r" / ".hydra" / "config.yaml")
    ckpt_path = tmp_path / "r" / "checkpoints" / "last.ckpt"
    ckpt = torch.load(ckpt_path, weights_only=False)
    state = ckpt["state_dict"]
    w, b = state["discriminator.head.weight"], state["discriminator.head.bias"]
    w.zero_()
    b.copy_(torch.tensor([-20.0, -20.0, 20.0, -20.0, -20.0]))
    torch.save(ckpt, ckpt_path)
    acts = heads_over_modes(read_run(tmp_path / "r"))
    assert acts.shape == (8, 5)  # one row per true mode of the ring, one column per head
    assert (acts[:, 2] > 0.99).all() and (np.delete(acts, 2, axis=1) < 0.01).all()
    # The cache answers without the checkpoint.
    ckpt_path.unlink()
    np.testing.assert_array_equal(heads_over_modes(read_run(tmp_path / "r")), acts)


@pytest.mark.slow
def test_medium_protocol_page_has_curves_settling_noise_and_head_variants(make_cfg, tmp_path):
    """A medium sweep validated along its budget: the curves figure, where the best baseline
    settled, whether the order moved, the draw-to-draw beside the seed-to-seed spread, and each
    head variant in the specialisation table, also once the checkpoints are gone."""
    import shutil

    from omegaconf import OmegaConf

    from mmagan.report.curves import method_curve
    from mmagan.report.results import benchmarks, write_results
    from mmagan.report.tables import build_rows
    from mmagan.train import train

    sweeps = tmp_path / "sweeps"
    for seed in (0, 1):
        for name, model in (("mma", "mmagan"), ("bal", "mmagan_balanced"), ("dcgan", "dcgan")):
            folder = sweeps / "results_ring_medium" / f"{name}{seed}"
            cfg = make_cfg(
                f"model={model}",
                f"seed={seed}",
                "iterations=30",
                "trainer.val_check_interval=10",
                run_dir=folder,
            )
            train(cfg)
            (folder / ".hydra").mkdir()
            OmegaConf.save(cfg, folder / ".hydra" / "config.yaml")
    md = write_results(sweeps, tmp_path / "docs", "mmagan-report --results sweeps").read_text()
    section = md.split("## ring, medium protocol")[1].split("\n## ")[0]
    assert "The table is at the final budget: 30 generator iterations." in section
    assert "| mmagan[balanced+best_head] | 2 |" in section and "| mmagan | 2 |" in section
    cfg = OmegaConf.load(sweeps / "results_ring_medium" / "dcgan0" / ".hydra" / "config.yaml").model.optimizer
    betas = ", ".join(f"{b:g}" for b in cfg.betas)
    assert (
        f"Optimizer, from the runs' configs: Adam lr_g={cfg.lr_g:g} lr_d={cfg.lr_d:g} betas=({betas}) "
        "for every method." in section
    )
    variants = section.split("Do heads made to specialise help?")[1]
    assert "| % high quality | mmagan[balanced+best_head] | " in variants
    assert "![curves_results_ring_medium](results/curves_results_ring_medium.png)" in section
    assert "The best baseline at the final budget, dcgan, " in section
    along = section.split("Along the budget: MMA-GAN and its head variants")[1]
    assert "| modes, minus dcgan | mmagan | " in along
    assert "| modes, minus dcgan | mmagan[balanced+best_head] | " in along
    assert "**% high quality** over the budget: " in section
    assert "between evaluation draws (sd)" in section
    assert (tmp_path / "docs" / "results" / "curves_results_ring_medium.png").is_file()

    # The curve is the mean and standard error over seeds at each validation, from the CSV logs.
    (bench,) = benchmarks(sweeps)
    rows = build_rows(bench.records, ["modes/high_quality_pct"])
    dcgan = next(r for r in rows if r.method == "dcgan")
    curve = method_curve(dcgan, "modes/high_quality_pct")
    assert curve.iterations.tolist() == [10, 20, 30]
    finals = dcgan.values("modes/high_quality_pct")
    assert curve.mean[-1] == pytest.approx(sum(finals) / 2, rel=1e-5)
    assert curve.se[-1] == pytest.approx(abs(finals[0] - finals[1]) / 2, rel=1e-5)

    # Specialisation: both variants, read again from the cache once the checkpoints are deleted.
    heads = md.split("## Do the heads specialise on modes?")[1]
    assert (
        "| results_ring_medium | paper | 0 |" in heads
        and "| results_ring_medium | balanced+best_head | 1 |" in heads
    )
    assert "- **results_ring_medium, paper, K=8** (2 runs)" in heads
    assert "- **results_ring_medium, balanced+best_head, K=8** (2 runs)" in heads
    for folder in (sweeps / "results_ring_medium").iterdir():
        shutil.rmtree(folder / "checkpoints")
    again = write_results(sweeps, tmp_path / "docs2", "mmagan-report --results sweeps").read_text()
    assert again.split("## Do the heads specialise on modes?")[1] == heads


def test_the_specialisation_reading_is_judged_against_the_benchmarks_number_of_modes():
    """The same modes per head reads differently on 8 and on 25 modes: 4 of 25 with 8 heads is
    near the even share (25/8), 4 of 8 is neither end, 7.9 of 8 is every head alike."""
    from mmagan.report.heads import specialisation_reading

    assert specialisation_reading(modes=8, k=8, per_head=1.9) == "the heads specialise on modes."
    assert specialisation_reading(modes=25, k=8, per_head=5.9) == "the heads specialise on modes."
    assert specialisation_reading(modes=8, k=8, per_head=4.0).startswith("the heads specialise in part")
    alike = "no sign that the heads specialise"
    assert specialisation_reading(modes=8, k=8, per_head=7.9).startswith(alike)
    assert specialisation_reading(modes=25, k=8, per_head=21.8).startswith(alike)
    assert specialisation_reading(modes=25, k=8, per_head=12.0).startswith("the heads specialise in part")


def test_a_curve_settles_where_two_successive_points_are_within_one_standard_error():
    import numpy as np

    from mmagan.report.curves import Curve, flat_from, ranking_changes, settled_at

    def curve(label, mean, se):
        return Curve(label, np.array([1000, 2000, 3000, 4000]), np.array(mean), np.array(se), np.full(4, 5))

    rising = curve("a", [10.0, 30.0, 50.0, 52.0], [1.0, 1.0, 3.0, 1.0])
    assert settled_at(rising) == 3000  # |52 - 50| <= max(3, 1)
    assert settled_at(curve("b", [10.0, 30.0, 50.0, 70.0], [1.0] * 4)) is None
    # Met the rule at 1,000 but moved on: it stays flat only from the last pair within one s.e.
    wobbly = curve("w", [10.0, 10.5, 20.0, 20.5], [1.0] * 4)
    assert settled_at(wobbly) == 1000 and flat_from(wobbly) == 3000
    assert flat_from(rising) == 3000 and flat_from(curve("x", [10.0, 10.5, 11.0, 30.0], [1.0] * 4)) is None
    late = curve("c", [5.0, 20.0, 40.0, 60.0], [1.0] * 4)
    text = ranking_changes([rising, late], "modes/high_quality_pct")
    assert text.startswith("the order changed along the budget: at 1,000 iterations a, c; at 4,000: c, a")
    assert "the leader changed at 4,000 iterations (by more than one standard error at 4,000)" in text
    close = curve("e", [5.0, 20.0, 40.0, 52.5], [1.0, 1.0, 1.0, 2.0])
    assert "the leader changed at 4,000 iterations (none by more than one standard error)" in ranking_changes(
        [rising, close], "modes/high_quality_pct"
    )
    tied = [curve("t1", [8.0, 8.0, 7.0, 8.0], [0.0] * 4), curve("t2", [7.0, 8.0, 8.0, 8.0], [0.0] * 4)]
    assert ranking_changes(tied, "modes/modes").endswith(
        "the leader changed at 3,000 iterations (by more than one standard error at 3,000)"
    )  # ties at 2,000 and 4,000 keep the leader; t2 took over at 3,000 only
    single = Curve("f", late.iterations, late.mean, np.zeros(4), np.ones(4))
    assert "cannot be told from noise" in ranking_changes([rising, single], "modes/high_quality_pct")
    same = ranking_changes([rising, curve("d", [1.0, 2.0, 3.0, 4.0], [1.0] * 4)], "modes/reverse_kl")
    assert same == "the same order at 1,000 and 4,000 iterations (d, a); d led at every point"
    # Equal means are one place in the order, not a ranking; a leader tied at some point shared the lead.
    all_found = [curve(x, [7.0, 8.0, 8.0, 8.0], [0.5, 0.0, 0.0, 0.0]) for x in ("m", "n")]
    first = curve("f", [8.0, 8.0, 8.0, 8.0], [0.0] * 4)
    assert ranking_changes([*all_found, first], "modes/modes") == (
        "the order changed along the budget: at 1,000 iterations f, m = n; at 4,000: f = m = n; "
        "f led or shared the lead at every point"
    )


def test_an_objectives_changed_parameters_tell_its_rows_apart(tmp_path):
    """No code for WGAN-GP in the listing: its parameters that differ from the defaults name the row."""
    from omegaconf import OmegaConf

    from mmagan.report.tables import build_rows
    from mmagan.runs.listing import RunRecord, changed_params

    default = OmegaConf.create({"name": "wgan_gp", "gp_weight": 10.0, "n_critic": 5})
    stronger = OmegaConf.create({"name": "wgan_gp", "gp_weight": 5.0, "n_critic": 5})
    assert changed_params(default) == "" and changed_params(stronger) == "gp_weight=5.0"
    records = [
        RunRecord(tmp_path / f"r{i}", "finished", data="ring", method="wgan_gp", seed=i % 2,
                  params=changed_params(cfg), metrics={"modes/modes": float(i)})
        for i, cfg in enumerate([default, default, stronger, stronger])
    ]  # fmt: skip
    rows = build_rows(records, ["modes/modes"])
    assert sorted(r.label for r in rows) == ["wgan_gp", "wgan_gp[gp_weight=5.0]"]
    assert all(r.seeds == 2 for r in rows)


def test_the_sensitivity_heatmap_shows_each_cell_and_no_text_runs_into_another():
    """A known grid: every cell's text is its mean at its (K, lambda) in its tau's panel, and the
    figure title, panel titles and axis labels keep clear of each other and of other panels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from mmagan.report.plots import heatmap_figure
    from mmagan.report.stats import Summary
    from mmagan.report.tables import Row

    Ks, lams, taus = [4, 8, 16], [0.1, 0.5, 1.0], [0.3, 0.5, 0.7]
    value = {(K, lam, tau): 100 * i + 10 * j + k for i, K in enumerate(Ks) for j, lam in enumerate(lams)
             for k, tau in enumerate(taus)}  # fmt: skip
    grid = [Row("grid", "mmagan", K, lam, tau, None, "", "", [], {"modes/modes": Summary(v, 0.0, 2)})
            for (K, lam, tau), v in value.items()]  # fmt: skip
    fig = heatmap_figure(grid, "modes/modes", "grid")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # lays the figure out as saving it would
    renderer = canvas.get_renderer()
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(axes) == 3
    for ax, tau in zip(axes, taus):
        assert ax.get_title() == f"tau = {tau:g}"
        cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
        for (K, lam, t), v in value.items():
            if t == tau:
                assert cells[(Ks.index(K), lams.index(lam))] == f"{v:.3g}"

    def box(artist):
        return artist.get_window_extent(renderer)

    labels = [fig._suptitle] + [a for ax in axes for a in (ax.title, ax.xaxis.label, ax.yaxis.label)
                                if a.get_text()]  # fmt: skip
    labels += [t for ax in axes for t in ax.get_yticklabels() if t.get_visible() and t.get_text()]
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            assert not box(a).overlaps(box(b)), (a.get_text(), b.get_text())
        for ax in axes:
            if a.axes is not ax:
                assert not box(a).overlaps(ax.get_window_extent(renderer)), (a.get_text(), ax.get_title())
    assert [ax.get_ylabel() for ax in axes] == ["K", "", ""]


@pytest.mark.parametrize("variant, tau_line", [("", True), ("balanced+relative", False)])
def test_the_head_activation_plot_draws_each_heads_logged_curve_and_tau_only_where_it_is_the_target(
    tmp_path, variant, tau_line
):
    """Known curves in the CSV log (split over a resumed run's parts) come back as the plot's
    lines, one per head; the dashed tau line is drawn for the absolute hinge only."""
    from mmagan.report.heads import head_activation_figure
    from mmagan.runs.listing import RunRecord

    logs = tmp_path / "run" / "csv"
    logs.mkdir(parents=True)
    curves = {k: {step: 0.1 * k + step / 1000 for step in (100, 200, 300)} for k in range(3)}
    for name, steps in [("metrics_part0.csv", (100, 200)), ("metrics.csv", (300,))]:
        with (logs / name).open("w", newline="") as f:
            columns = {k: f"train/heads/A_fake_{k}" for k in curves}
            writer = csv.DictWriter(f, ["step", *columns.values()])
            writer.writeheader()
            for step in steps:
                writer.writerow({"step": step, **{columns[k]: c[step] for k, c in curves.items()}})
    record = RunRecord(tmp_path / "run", "finished", data="ring", method="mmagan", K=3, tau=0.4)
    record.variant = variant
    (ax,) = head_activation_figure(record).axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    for k, c in curves.items():
        x, y = lines[f"head {k}"].get_data()
        assert list(x) == [100, 200, 300] and list(y) == pytest.approx([c[s] for s in (100, 200, 300)])
    assert ("tau" in lines) == tau_line
    if tau_line:
        assert set(lines["tau"].get_ydata()) == {0.4}
    assert variant in ax.get_title()


def test_the_stopping_rule_is_read_on_the_best_baseline_whatever_the_seeds_of_the_others(tmp_path):
    """A baseline with one seed (WGAN-GP run on fewer seeds) does not stop the reading of the best
    baseline's curve; where it ranks first, the rule is read on the best baseline with two seeds;
    with one seed everywhere it cannot be read."""
    from mmagan.report.columns import MIXTURE_METRICS
    from mmagan.report.curves import Curve
    from mmagan.report.findings import settling
    from mmagan.report.results import Benchmark, budget_reading
    from mmagan.report.tables import Row
    from mmagan.runs.listing import RunRecord

    def row(method, seeds, rank):
        runs = [
            RunRecord(tmp_path / f"{method}{s}", "finished", data="ring", method=method) for s in range(seeds)
        ]
        return Row("ring", method, None, None, None, None, "", "", runs, rank=rank)

    steps = np.array([1000.0, 2000.0, 3000.0])
    flat = Curve("gan", steps, np.array([5.0, 8.0, 8.0]), np.array([0.5, 0.5, 0.5]), np.array([2, 2, 2]))
    lone = Curve("wgan_gp", steps, np.array([3.0, 2.0, 3.0]), np.zeros(3), np.array([1, 1, 1]))
    curves = {m: [flat, lone] for m, _ in MIXTURE_METRICS}
    bench = Benchmark("results_ring_medium", "medium", [RunRecord(tmp_path, "finished", data="ring")])

    metrics = [m for m, _ in MIXTURE_METRICS]
    found = settling([row("gan", 2, 1), row("wgan_gp", 1, 2)], curves, metrics)
    assert (found.baseline, found.judged, found.chosen_for_seeds, found.budget) == ("gan", True, False, 3000)
    assert found.settled_at == {m: 2000 for m in metrics} and found.flat_from == {m: 2000 for m in metrics}
    found = settling([row("wgan_gp", 1, 1), row("gan", 2, 2)], curves, metrics)
    assert (found.baseline, found.chosen_for_seeds) == ("gan", True)  # wgan_gp ranks first on one seed
    found = settling([row("gan", 1, 1), row("wgan_gp", 1, 2)], curves, metrics)
    assert (found.baseline, found.judged) == ("gan", False)  # one seed everywhere: no standard error
    rising = Curve("gan", steps, np.array([5.0, 8.0, 11.0]), np.array([0.5, 0.5, 0.5]), np.array([2, 2, 2]))
    curves["modes/reverse_kl"] = [rising, lone]  # flat on % high quality and modes, rising on KL
    found = settling([row("gan", 2, 1), row("wgan_gp", 1, 2)], curves, metrics)
    assert found.settled_at["modes/reverse_kl"] is None and found.settled_at["modes/modes"] == 2000

    # a remedy ranked first with two seeds is the best baseline, here as in the table's reading
    remedy = Curve("veegan", steps, np.array([5.0, 8.0, 8.0]), np.array([0.5, 0.5, 0.5]), np.array([2, 2, 2]))
    with_remedy = {m: [*c, remedy] for m, c in curves.items()}
    found = settling([row("veegan", 2, 1), row("gan", 2, 2)], with_remedy, metrics)
    assert (found.baseline, found.chosen_for_seeds, found.judged) == ("veegan", False, True)

    # the rendering of the last finding
    lines = budget_reading(bench, [row("gan", 2, 1), row("wgan_gp", 1, 2)], curves)
    assert lines[0] == (
        "- The best baseline at the final budget, gan, had not flattened on reverse KL by 3,000 iterations "
        "(no two successive validations within one standard error); it met the rule on modes at 2,000, "
        "% high quality at 2,000: the ranking may still change with a longer budget."
    )


def test_the_curves_figure_draws_each_methods_mean_over_seeds_and_keeps_its_legend_off_the_panels(tmp_path):
    """Known per-seed logs come back as each panel's line (the mean over seeds at each validation),
    and the legend, which names every method once, overlaps no panel and not the title."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from mmagan.report.curves import curves_figure
    from mmagan.report.tables import Row
    from mmagan.runs.listing import RunRecord

    metrics = [("modes/modes", "modes"), ("modes/high_quality_pct", "% high quality")]
    known = {
        "gan": {0: [2.0, 4.0, 6.0], 1: [4.0, 8.0, 10.0]},
        "dcgan": {0: [1.0, 1.0, 3.0], 1: [3.0, 5.0, 5.0]},
    }
    rows = []
    for method, seeds in known.items():
        runs = []
        for seed, values in seeds.items():
            logs = tmp_path / f"{method}{seed}" / "csv"
            logs.mkdir(parents=True)
            with (logs / "metrics.csv").open("w", newline="") as f:
                writer = csv.DictWriter(f, ["step", *(m for m, _ in metrics), "modes/reverse_kl"])
                writer.writeheader()
                for step, v in zip((99, 199, 299), values):
                    row = {
                        "step": step,
                        "modes/modes": v,
                        "modes/high_quality_pct": 10 * v,
                        "modes/reverse_kl": v / 100,
                    }
                    writer.writerow(row)
            runs.append(RunRecord(logs.parent, "finished", data="ring", method=method, seed=seed))
        rows.append(Row("ring", method, None, None, None, None, "", "", runs))
    fig, _ = curves_figure(rows, metrics, "ring, medium")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax, (metric, _) in zip(fig.axes, metrics):
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == {"gan", "dcgan"}
        for method, seeds in known.items():
            x, y = lines[method].get_data()
            scale = 10 if metric == "modes/high_quality_pct" else 1
            assert list(x) == [100, 200, 300]
            assert list(y) == pytest.approx([scale * (a + b) / 2 for a, b in zip(seeds[0], seeds[1])])
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["gan", "dcgan"]
    box = legend.get_window_extent(renderer)
    for a in [*fig.axes, fig._suptitle]:
        assert not box.overlaps(a.get_window_extent(renderer)), a
    # Rates stay on a linear axis; a divergence, positive everywhere, goes on a log one.
    assert [ax.get_yscale() for ax in fig.axes] == ["linear", "linear"]
    fig, _ = curves_figure(rows, [("modes/reverse_kl", "reverse KL")], "ring, medium")
    assert fig.axes[0].get_yscale() == "log" and "log scale" in fig.axes[0].get_title()


def test_a_divergence_that_reaches_zero_stays_on_a_linear_axis(tmp_path):
    from mmagan.report.curves import curves_figure
    from mmagan.report.tables import Row
    from mmagan.runs.listing import RunRecord

    logs = tmp_path / "gan0" / "csv"
    logs.mkdir(parents=True)
    (logs / "metrics.csv").write_text("step,modes/reverse_kl\n99,0.5\n199,0.0\n")
    runs = [RunRecord(logs.parent, "finished", data="ring", method="gan", seed=0)]
    fig, _ = curves_figure(
        [Row("ring", "gan", None, None, None, None, "", "", runs)], [("modes/reverse_kl", "KL")], "t"
    )
    assert fig.axes[0].get_yscale() == "linear"


def test_the_page_names_each_methods_optimizer_where_the_methods_differ(tmp_path):
    """One line when every run trained with the same optimizer; otherwise each method's own, read
    from its runs' configs (a run's config is the one record of what it trained with)."""
    from omegaconf import OmegaConf

    from mmagan.report.results import optimizers
    from mmagan.report.tables import Row
    from mmagan.runs.listing import read_run

    def run(name, objective, betas):
        folder = tmp_path / name
        (folder / ".hydra").mkdir(parents=True)
        cfg = {
            "seed": 0,
            "iterations": 10,
            "data": {"name": "ring"},
            "model": {
                "objective": {"name": objective},
                "optimizer": {"lr_g": 1e-4, "lr_d": 2e-4, "betas": betas},
            },
        }
        OmegaConf.save(OmegaConf.create(cfg), folder / ".hydra" / "config.yaml")
        return read_run(folder)

    gan = Row("ring", "gan", None, None, None, None, "", "", [run("g0", "gan", [0.8, 0.999])])
    wgan = Row("ring", "wgan_gp", None, None, None, None, "", "", [run("w0", "wgan_gp", [0.8, 0.999])])
    adam = "Adam lr_g=0.0001 lr_d=0.0002 betas"
    assert (
        optimizers([gan, wgan]) == f"Optimizer, from the runs' configs: {adam}=(0.8, 0.999) for every method."
    )
    wgan.runs.append(run("w1", "wgan_gp", [0.0, 0.9]))
    assert optimizers([gan, wgan]) == (
        f"Optimizers, from the runs' configs: gan: {adam}=(0.8, 0.999); "
        f"wgan_gp: {adam}=(0, 0.9) / {adam}=(0.8, 0.999)."
    )


def test_the_table_reading_names_a_tie_for_best_baseline_and_says_when_every_run_agrees(tmp_path):
    """Baselines tied on the best mean are named together; identical values in every run of both
    sides are "no difference", not an interval from +0 to +0."""
    from mmagan.report.findings import metric_reading
    from mmagan.report.results import reading
    from mmagan.report.stats import Summary
    from mmagan.report.tables import Row
    from mmagan.runs.listing import RunRecord

    def row(method, modes, hq):
        runs = [
            RunRecord(tmp_path / f"{method}{i}", "finished", data="ring", method=method, seed=i,
                      metrics={"modes/modes": m, "modes/high_quality_pct": h, "modes/reverse_kl": 0.1})
            for i, (m, h) in enumerate(zip(modes, hq))
        ]  # fmt: skip
        k = 8 if method == "mmagan" else None
        return Row("ring", method, k, 0.5 if k else None, 0.5 if k else None, None, "", "", runs,
                   {"modes/modes": Summary(float(np.mean(modes)), 0.0, len(modes))})  # fmt: skip

    rows = [row("mmagan", [8, 8], [80, 90]), row("dcgan", [8, 8], [70, 74]), row("gan", [8, 8], [90, 94])]
    modes = metric_reading(rows, "modes/modes")
    assert (modes.best_baseline, modes.tied_with) == ("dcgan", ["gan"])
    assert modes.studied_vs_best.outcome == "no difference" and modes.studied_vs_best.difference.diff == 0
    hq = metric_reading(rows, "modes/high_quality_pct")
    assert (hq.best_baseline, hq.tied_with, hq.studied_vs_best.difference.diff) == ("gan", [], -7)
    assert hq.ranking == [("gan", 92.0), ("mmagan K=8 lambda=0.5 tau=0.5", 85.0), ("dcgan", 72.0)]

    # A baseline that leads on one seed is named, but MMA-GAN is compared with the best one that has
    # an interval; where the single seed does not lead, it is not mentioned.
    rows.append(row("wgan_gp", [9], [50]))
    modes = metric_reading(rows, "modes/modes")
    assert (modes.best_baseline, modes.ahead_on_one_seed) == ("dcgan", ["wgan_gp"])
    assert metric_reading(rows, "modes/high_quality_pct").ahead_on_one_seed == []

    # the rendering: one sentence per metric
    line = next(line for line in reading(rows, "ring").splitlines() if "**modes**" in line)
    assert line.endswith(
        "MMA-GAN minus dcgan (tied with gan): +0 (the same value in every run of both: no difference)."
        " wgan_gp ranked higher on a single seed, too few for an interval."
    )


def test_each_head_variant_is_compared_with_the_paper_heads_and_the_best_seeded_baseline(tmp_path):
    """The head-variant table: a variant minus the paper's heads and minus the best baseline with two
    seeds or more, with Welch's interval computed here by hand; bold with a verdict only where the
    interval excludes 0, and the verdict follows the metric's direction (lower reverse KL is better)."""
    from mmagan.report.findings import variant_findings
    from mmagan.report.results import variants_table
    from mmagan.report.tables import Row
    from mmagan.runs.listing import RunRecord

    def row(method, variant, hq, rkl):
        runs = [
            RunRecord(tmp_path / f"{method}{variant}{i}", "finished", data="ring", method=method, seed=i,
                      metrics={"modes/modes": 8, "modes/high_quality_pct": h, "modes/reverse_kl": k})
            for i, (h, k) in enumerate(zip(hq, rkl))
        ]  # fmt: skip
        k = 8 if method == "mmagan" else None
        return Row("ring", method, k, 0.5 if k else None, 0.5 if k else None, None, variant, "", runs)

    def interval(a, b):
        va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
        dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
        half = stats.t.ppf(0.975, dof) * math.sqrt(va + vb)
        diff = np.mean(a) - np.mean(b)
        return f"{diff:+.3g} ({diff - half:+.3g} to {diff + half:+.3g})"

    paper = row("mmagan", "", [80, 81, 82], [0.30, 0.31, 0.32])
    variant = row("mmagan", "balanced", [95, 96, 97], [0.10, 0.11, 0.12])
    gan = row("gan", "", [90, 92, 94], [0.05, 0.06, 0.07])
    lone = row("wgan_gp", "", [99], [0.01])  # leads on one seed: no interval, not the comparison
    assert variants_table([paper, gan, lone], "ring") == ""  # no variant, no table

    found = {(f.metric, f.variant): f for f in variant_findings([paper, variant, gan, lone], METRICS)}
    hq, rkl = found["modes/high_quality_pct", variant.label], found["modes/reverse_kl", variant.label]
    assert (hq.vs_paper.b, hq.vs_best.b) == (paper.label, "gan")  # not the single-seed wgan_gp
    assert (hq.vs_paper.outcome, hq.vs_best.outcome) == ("better", "no difference shown")
    assert (rkl.vs_paper.outcome, rkl.vs_best.outcome) == ("better", "worse")  # lower KL is better
    assert found["modes/modes", variant.label].vs_paper.outcome == "no difference"

    # the rendering: bold with the verdict only where the interval excludes 0
    table = variants_table([paper, variant, gan, lone], "ring")
    cells = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in table.splitlines()[4:]}
    hq, rkl = cells["% high quality"], cells["reverse KL"]
    assert hq[1] == "mmagan[balanced] K=8 lambda=0.5 tau=0.5"
    assert hq[2] == f"**{interval([95, 96, 97], [80, 81, 82])}: better**"
    assert hq[3] == f"gan: {interval([95, 96, 97], [90, 92, 94])} |"  # includes 0: plain
    assert rkl[2] == f"**{interval([0.10, 0.11, 0.12], [0.30, 0.31, 0.32])}: better**"
    assert rkl[3] == f"gan: **{interval([0.10, 0.11, 0.12], [0.05, 0.06, 0.07])}: worse** |"
    assert cells["modes"][2] == "+0 (no difference)"


def test_a_difference_along_the_budget_is_welchs_interval_from_each_points_mean_se_and_seeds():
    """A curve keeps mean, standard error and seeds per point; the interval rebuilt from them is the
    one Welch's t gives on the values behind them, computed here by hand."""
    from mmagan.report.curves import Curve, differences_along

    a, b = [1.0, 2.0, 4.0], [4.0, 6.0]

    def curve(label, values, point):
        se = np.std(values, ddof=1) / math.sqrt(len(values))
        return Curve(
            label, np.array([point]), np.array([np.mean(values)]), np.array([se]), np.array([len(values)])
        )

    # b has a second point a never reached: only the common one is compared
    cb = curve("b", b, 1000)
    cb = Curve("b", np.array([1000, 2000]), np.r_[cb.mean, 9.0], np.r_[cb.se, 1.0], np.array([2, 2]))
    ((point, d),) = differences_along(curve("a", a, 1000), cb)
    va, vb = np.var(a, ddof=1) / 3, np.var(b, ddof=1) / 2
    dof = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 1)
    half = stats.t.ppf(0.975, dof) * math.sqrt(va + vb)
    assert point == 1000
    assert (d.diff, d.low, d.high) == pytest.approx((7 / 3 - 5, 7 / 3 - 5 - half, 7 / 3 - 5 + half))


def test_along_the_budget_names_the_points_where_each_mmagan_row_is_better_or_worse(tmp_path):
    """Against the best baseline with two seeds: runs of successive validation points where the
    interval excludes 0, in the metric's direction (a lower reverse KL is better)."""
    from mmagan.report.curves import Curve
    from mmagan.report.findings import budget_differences
    from mmagan.report.results import along_budget, spans
    from mmagan.report.tables import Row
    from mmagan.runs.listing import RunRecord

    assert spans([1000, 2000, 3000, 4000, 5000, 6000], {1000, 2000, 3000, 5000}) == "1,000-3,000; 5,000"
    assert spans([1000, 3000], {1000, 3000}) == "1,000-3,000"  # successive validations, not fixed steps

    def row(method, final):
        runs = [
            RunRecord(tmp_path / f"{method}{i}", "finished", data="ring", method=method, seed=i,
                      metrics={"modes/modes": v, "modes/high_quality_pct": v, "modes/reverse_kl": v})
            for i, v in enumerate(final)
        ]  # fmt: skip
        k = 8 if method == "mmagan" else None
        return Row("ring", method, k, 0.5 if k else None, 0.5 if k else None, None, "", "", runs)

    mma, gan, lone = row("mmagan", [1, 2, 3]), row("gan", [5, 6, 7]), row("wgan_gp", [9])
    steps = np.arange(1000, 6000, 1000)
    se = np.full(5, 0.1)
    # mmagan: far below gan, level, far above, far above, level
    curves = {
        m: [
            Curve(mma.label, steps, np.array([1.0, 5.0, 9.0, 9.0, 5.0]), se, np.full(5, 3)),
            Curve("gan", steps, np.full(5, 5.0), se, np.full(5, 3)),
            Curve("wgan_gp", steps, np.full(5, 20.0), np.zeros(5), np.full(5, 1)),
        ]
        for m in ("modes/modes", "modes/high_quality_pct", "modes/reverse_kl")
    }
    found = {f.metric: f for f in budget_differences([mma, gan, lone], curves, METRICS)}
    # gan, not the single-seed wgan_gp that leads modes, is the baseline compared with
    assert found["modes/modes"].baseline == "gan" and found["modes/modes"].points == list(steps)
    assert (found["modes/modes"].better, found["modes/modes"].worse) == ([3000, 4000], [1000])
    assert (found["modes/reverse_kl"].better, found["modes/reverse_kl"].worse) == ([1000], [3000, 4000])

    table = along_budget([mma, gan, lone], curves, "ring")
    cells = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[2:] for line in table.splitlines()[4:]}
    # gan, not the single-seed wgan_gp that leads modes, is the baseline compared with
    assert cells["modes, minus gan"] == ["3,000-4,000", "1,000 |"]
    assert cells["reverse KL, minus gan"] == ["1,000", "3,000-4,000 |"]


def test_numbers_keep_three_significant_digits_without_an_exponent_for_counts_of_a_thousand():
    assert sig(999.5) == "1000"  # `.3g` would print 1e+03
    assert sig(994.25) == "994"
    assert sig(0.0916321) == "0.0916"
    assert sig(2.6e-05, 2) == "2.6e-05"  # small values keep their exponent
    assert sig(150.0, 2) == "150"
    assert sig(-15.2, signed=True) == "-15.2" and sig(3.2, signed=True) == "+3.2"
    assert sig(1234.0, signed=True) == "+1234"
    # 999 and 1000 modes over two seeds: mean 999.5, standard error 0.5
    assert mean_se([999.0, 1000.0]) == "1000 ± 0.5"


def test_a_single_seed_shows_its_value_without_a_spread(tmp_path):
    root = tmp_path / "one"
    make_run(root / "a", "dcgan", None, None, None, 0, {"eval/fid": 31.25, "finished": 1})
    make_run(root / "b", "gan", None, None, None, 0, {"eval/fid": 40.0, "finished": 1})
    make_run(root / "c", "gan", None, None, None, 1, {"eval/fid": 42.0, "finished": 1})
    write_report([root], tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text()
    assert "31.25 ±" not in md and "| 31.25 |" in md
    assert "41 ± 1.4" in md  # two seeds keep their spread
