"""mmagan-train as a user runs it: from any directory, writing into ./outputs."""

import json

import pytest
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


def test_a_command_that_stops_on_its_config_leaves_no_run_folder_behind(tmp_path):
    from helpers import TINY, TINY_MLP, run_cli

    out = run_cli(*TINY, *TINY_MLP, "model.objective.tau=3", cwd=tmp_path)
    assert out.returncode == 2 and "model.objective.tau=3 is invalid" in out.stdout + out.stderr
    runs = tmp_path / "outputs" / "train" / "runs"
    assert not runs.exists() or not any(runs.iterdir())


def test_mmagan_eval_without_a_checkpoint_or_with_a_text_file_is_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    exe = str(Path(sys.executable).with_name("mmagan-eval"))
    missing = subprocess.run([exe], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    text = missing.stdout + missing.stderr
    assert missing.returncode == 2 and "Traceback" not in text and "ckpt_path is required" in text
    (tmp_path / "notes.ckpt").write_text("not a checkpoint\n")
    foreign = subprocess.run(
        [exe, f"ckpt_path={tmp_path / 'notes.ckpt'}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = foreign.stdout + foreign.stderr
    assert foreign.returncode == 2 and "weights_only" not in text
    assert (
        "notes.ckpt is not a readable checkpoint (truncated or another format: not a checkpoint torch" in text
    )
    assert not any((tmp_path / "outputs" / "eval").iterdir())


def test_help_says_what_each_command_does_its_required_keys_and_examples(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    bin_dir = Path(sys.executable).parent
    train = subprocess.run(
        [str(bin_dir / "mmagan-train"), "--help"], capture_output=True, text=True, timeout=120
    )
    assert train.stdout.startswith("mmagan-train: train MMA-GAN or a baseline")
    assert "Required keys: none" in train.stdout and "Examples:" in train.stdout
    assert "model: dcgan, gan, madgan" in train.stdout  # the groups listed from conf/, not typed
    evaluate = subprocess.run(
        [str(bin_dir / "mmagan-eval"), "--help"], capture_output=True, text=True, timeout=120
    )
    assert "Required key: ckpt_path." in evaluate.stdout and "mmagan-eval ckpt_path=" in evaluate.stdout
    export = subprocess.run(
        [str(bin_dir / "mmagan-export"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert "load_generator(OUT)" in " ".join(
        export.stdout.split()
    )  # the whole description, not its first line


def test_the_progress_bar_counts_generator_iterations(make_cfg):
    from mmagan.build import build
    from mmagan.callbacks.progress import IterationProgressBar

    run = build(make_cfg("model=wgan_gp", "iterations=7", "callbacks.progress_bar.refresh_rate=1"))
    (bar,) = [cb for cb in run.trainer.callbacks if isinstance(cb, IterationProgressBar)]
    seen = []
    original = bar.on_train_batch_end

    def spy(trainer, module, *args):
        original(trainer, module, *args)
        seen.append((bar.train_progress_bar.n, bar.train_progress_bar.total, bar.train_progress_bar.desc))

    bar.on_train_batch_end = spy
    run.trainer.fit(run.module, datamodule=run.datamodule)
    assert [n for n, _, _ in seen] == list(range(1, 8))  # one per iteration, not per optimizer step
    assert {total for _, total, _ in seen} == {7} and seen[-1][2].startswith("iterations")


def _options_without_help(text: str) -> list[str]:
    """Option lines of an argparse --help with no description on the line or the next."""
    lines = text.splitlines()
    bare = []
    for i, line in enumerate(lines):
        if line.startswith("  -") and "  " not in line.strip():  # no description after the option
            following = lines[i + 1] if i + 1 < len(lines) else ""
            if not following.startswith(" " * 8) or following.strip().startswith("-"):
                bare.append(line.strip())
    return bare


def test_every_option_of_the_argparse_commands_says_what_it_does(capsys):
    from mmagan.export import main as export_main
    from mmagan.inspect.cli import inspect_main, paint_main
    from mmagan.prepare import main as prepare_main

    commands = [
        (inspect_main, [c, "--help"]) for c in ("layers", "vectors", "gallery", "sweep", "interpolate")
    ]
    commands += [(inspect_main, [c, "--help"]) for c in ("neighbours", "style-mixing", "truncation", "noise")]
    commands += [(paint_main, ["--help"]), (prepare_main, ["--help"]), (export_main, ["--help"])]
    for main, argv in commands:
        with pytest.raises(SystemExit):
            main(argv)
        text = capsys.readouterr().out
        assert "--help" in text or "-h" in text
        assert _options_without_help(text) == [], (argv, text)
