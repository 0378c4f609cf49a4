"""Self-describing checkpoints: a generator from the file alone, exports, safe and exact resumes."""

import shutil
import signal

import lightning as L
import pytest
import torch
from helpers import TINY, TINY_MLP, run_cli

from mmagan import load_generator
from mmagan.build import build
from mmagan.errors import CheckpointError
from mmagan.sampler import sample_in_eval_mode, seeded_latents
from mmagan.train import train


@pytest.fixture(scope="module")
def ema_run(tmp_path_factory):
    """A short run with an EMA that differs from G, and its module."""
    from mmagan.config import compose

    out = tmp_path_factory.mktemp("ema") / "run"
    cfg = compose(
        "train",
        [
            *TINY,
            *TINY_MLP,
            "iterations=12",
            "model.ema.enabled=true",
            "model.ema.decay=0.5",
            f"paths.output_dir={out}",
        ],
    )
    run = build(cfg)
    run.trainer.fit(run.module, datamodule=run.datamodule)
    return run


@pytest.mark.parametrize("ema", [True, False])
def test_load_generator_from_a_checkpoint_copied_alone(ema_run, tmp_path, ema):
    copied = tmp_path / "empty" / "model.ckpt"
    copied.parent.mkdir()
    shutil.copy(ema_run.run_dir / "checkpoints" / "last.ckpt", copied)
    sampler = load_generator(copied, ema=ema)
    net = ema_run.module.generator_ema if ema else ema_run.module.generator
    expected = sample_in_eval_mode(net, seeded_latents(64, 2, seed=7))
    assert sampler.ema is ema and sampler.iteration == 12
    torch.testing.assert_close(sampler.sample(64, seed=7), expected, rtol=0, atol=0)
    assert not torch.equal(sampler.sample(64, seed=8), expected)
    # the EMA really is another set of weights here, so the flag matters
    other = load_generator(copied, ema=not ema).sample(64, seed=7)
    assert not torch.equal(other, expected)


def test_exported_generator_samples_like_its_checkpoint(ema_run, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    ckpt = ema_run.run_dir / "checkpoints" / "last.ckpt"
    exe = Path(sys.executable).with_name("mmagan-export")
    done = subprocess.run([str(exe), str(ckpt), str(tmp_path / "g.pt")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "g.pt"
    assert out.stat().st_size < ckpt.stat().st_size / 2  # no D, no optimizer state
    exported, original = load_generator(out), load_generator(ckpt)
    assert torch.equal(exported.sample(32, seed=1), original.sample(32, seed=1))
    assert exported.iteration == 12 and exported.ema


def test_a_file_without_a_generator_or_not_a_checkpoint_is_one_clear_error(ema_run, tmp_path):
    text = tmp_path / "notes.ckpt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match=r"notes\.ckpt is not a readable checkpoint"):
        load_generator(text)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match=r"foreign\.pt is not an mmagan checkpoint"):
        load_generator(foreign)


def _weights(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


class StopAt(L.Callback):
    def __init__(self, iteration, error):
        self.iteration, self.error = iteration, error

    def on_train_batch_end(self, trainer, pl_module, *args):
        if pl_module.iteration == self.iteration:
            raise self.error


EXACT = [*TINY, *TINY_MLP, "data.num_samples=500", "model.ema.enabled=true", "model.ema.decay=0.9"]


@pytest.mark.parametrize(
    "how,device_data,model",
    [
        ("ctrl_c", "true", "mmagan"),
        ("sigint_between_d_and_g", "true", "mmagan"),
        ("sigterm_between_d_and_g", "true", "mmagan"),
        ("slurm_sigusr1_between_d_and_g", "true", "mmagan"),
        ("kill_after_periodic_checkpoint", "true", "mmagan"),
        ("last_ckpt_cut_in_half", "true", "mmagan"),
        ("ctrl_c", "false", "mmagan"),
        # tau near 1 keeps the relative hinge active, so its running means steer G
        ("kill_after_periodic_checkpoint", "true", "mmagan_balanced_relative model.objective.tau=0.99"),
    ],
)
def test_interrupted_and_resumed_run_ends_with_the_uninterrupted_weights(
    make_cfg, tmp_path, how, device_data, model, ctrl_c_raises, monkeypatch
):
    """32-true on the CPU: the resumed run sees the same batches, latents and EMA as one that never
    stopped (25 iterations of 10 batches per epoch: the interruption and the end are mid-epoch),
    with batches from the on-device data set or from the DataLoader; the relative hinge's running
    means on reals come back with the checkpoint."""
    exact = [*EXACT, f"trainer.speed.device_data={device_data}", *f"model={model}".split()]
    straight = build(make_cfg(*exact, "iterations=25", run_dir=tmp_path / "straight"))
    straight.trainer.fit(straight.module, datamodule=straight.datamodule)

    cfg = make_cfg(
        *exact, "iterations=25", "callbacks.checkpoint.every_n_iterations=10", run_dir=tmp_path / "cut"
    )
    if how.startswith("slurm"):  # a plain sbatch job: Lightning's own SLURM handlers, auto-requeue
        for key, value in dict(SLURM_JOB_ID="4242", SLURM_JOB_NAME="train", SLURM_NTASKS="1",
                               SLURM_PROCID="0", SLURM_LOCALID="0", SLURM_NODEID="0").items():  # fmt: skip
            monkeypatch.setenv(key, value)
    first = build(cfg)
    if how == "ctrl_c":
        first.trainer.callbacks.append(StopAt(13, KeyboardInterrupt()))
        with pytest.raises(SystemExit):  # Lightning's graceful shutdown after Ctrl-C
            first.trainer.fit(first.module, datamodule=first.datamodule)
        resume = []  # the folder's last.ckpt (iteration 13)
    elif how in ("sigint_between_d_and_g", "sigterm_between_d_and_g"):  # once D has stepped in iteration 14
        g_loss, calls = first.module.objective.g_loss, []
        signum = signal.SIGINT if how.startswith("sigint") else signal.SIGTERM  # Ctrl-C; a scheduler's kill

        def g_loss_interrupted(*args):
            calls.append(1)
            if len(calls) == 14:
                signal.raise_signal(signum)
            return g_loss(*args)

        first.module.objective.g_loss = g_loss_interrupted
        with pytest.raises(SystemExit):
            first.trainer.fit(first.module, datamodule=first.datamodule)
        last = torch.load(tmp_path / "cut" / "checkpoints" / "last.ckpt", weights_only=True)
        assert last["global_step"] == 2 * 14  # G's step of that iteration was taken before stopping
        resume = []
    elif how == "slurm_sigusr1_between_d_and_g":  # the time-limit signal (--signal=USR1@90) after D's step
        from lightning.pytorch.trainer.connectors import signal_connector

        requeued = []
        monkeypatch.setattr(signal_connector, "call", lambda cmd: requeued.append(cmd) or 0)
        g_loss, calls = first.module.objective.g_loss, []

        def g_loss_interrupted(*args):
            calls.append(1)
            if len(calls) == 14:
                signal.raise_signal(signal.SIGUSR1)
            elif len(calls) == 15:  # SLURM ends the requeued job's allocation with SIGTERM
                signal.raise_signal(signal.SIGTERM)
            return g_loss(*args)

        first.module.objective.g_loss = g_loss_interrupted
        with pytest.raises(SystemExit):
            first.trainer.fit(first.module, datamodule=first.datamodule)
        assert requeued == [["scontrol", "requeue", "4242"]]
        (hpc,) = (tmp_path / "cut").glob("hpc_ckpt_*.ckpt")  # Lightning's own, saved in its handler
        assert torch.load(hpc, weights_only=True)["global_step"] == 2 * 14  # after G's step
        resume = [f"ckpt_path={hpc}"]
    elif how == "last_ckpt_cut_in_half":  # killed while writing last.ckpt: the resume falls back
        first.trainer.callbacks.append(StopAt(17, RuntimeError("killed")))
        with pytest.raises(RuntimeError):
            first.trainer.fit(first.module, datamodule=first.datamodule)
        last = tmp_path / "cut" / "checkpoints" / "last.ckpt"
        last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
        newest = tmp_path / "cut" / "checkpoints" / "iter0000010.ckpt"
        resume = []
    else:  # the process dies without a word: only the periodic checkpoint at iteration 10 is left
        first.trainer.callbacks.append(StopAt(17, RuntimeError("killed")))
        with pytest.raises(RuntimeError):
            first.trainer.fit(first.module, datamodule=first.datamodule)
        (tmp_path / "cut" / "checkpoints" / "last.ckpt").unlink(missing_ok=True)
        resume = [f"ckpt_path={tmp_path / 'cut' / 'checkpoints' / 'iter0000010.ckpt'}"]

    second = build(make_cfg(*exact, "iterations=25", *resume, run_dir=tmp_path / "cut"))
    assert second.ckpt_path is not None
    if how == "last_ckpt_cut_in_half":
        assert second.ckpt_path == str(newest)
        # the cut file is replaced by that checkpoint: a job that resumes at its end and writes no
        # checkpoint more does not keep an unreadable last.ckpt
        assert last.read_bytes() == newest.read_bytes()
    second.trainer.fit(second.module, datamodule=second.datamodule, ckpt_path=second.ckpt_path)
    assert second.module.iteration == 25
    a, b = _weights(straight.module), _weights(second.module)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=0, msg=key)


def test_resume_with_another_k_is_refused_in_one_line(ema_run, tmp_path):
    result = run_cli(
        *TINY,
        *TINY_MLP,
        "iterations=20",
        "model.objective.num_heads=16",
        f"ckpt_path={ema_run.run_dir / 'checkpoints' / 'last.ckpt'}",
        cwd=tmp_path,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in out, out[-2000:]
    assert "model.objective.num_heads: checkpoint has 8, this run asks for 16" in out
    assert "size mismatch" not in out


def test_safe_changes_on_resume_are_allowed_and_others_are_noted(make_cfg, tmp_path):
    train(make_cfg("iterations=4", run_dir=tmp_path / "a"))
    ckpt = tmp_path / "a" / "checkpoints" / "last.ckpt"
    run = build(
        make_cfg(
            "iterations=8",
            "logger=none",
            "trainer.val_check_interval=2",
            f"ckpt_path={ckpt}",
            run_dir=tmp_path / "b",
        )
    )
    assert run.ckpt_path == str(ckpt)
    from mmagan.runs.checkpoints import config_changes, read_checkpoint

    saved = read_checkpoint(ckpt)["mmagan"]["config"]
    refused, noted = config_changes(saved, {**saved, "model": {**saved["model"], "optimizer": {"lr_g": 1.0}}})
    assert not refused and any(line.startswith("model.optimizer.lr_g:") for line in noted)


@pytest.mark.parametrize("damage", ["text", "truncated"])
def test_a_bad_checkpoint_file_is_one_line_and_exit_2(ema_run, tmp_path, damage):
    bad = tmp_path / "bad.ckpt"
    if damage == "text":
        bad.write_text("not a checkpoint\n")
    else:
        data = (ema_run.run_dir / "checkpoints" / "last.ckpt").read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    result = run_cli(*TINY, *TINY_MLP, "iterations=4", f"ckpt_path={bad}", cwd=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in out, out[-2000:]
    errors = [line for line in out.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and "bad.ckpt is not a readable checkpoint" in errors[0]


def test_an_unwritable_output_folder_is_one_line_and_exit_2(tmp_path):
    result = run_cli(
        *TINY, *TINY_MLP, "iterations=2", "hydra.run.dir=/proc/mmagan-no-such-place", cwd=tmp_path
    )
    out = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in out
    assert (
        out.strip().splitlines()[-1].startswith("output error: cannot write the output folder /proc/mmagan")
    )


def test_a_checkpoint_knows_its_run_folder_and_a_copied_one_has_none(ema_run, tmp_path):
    from mmagan.runs.run_folder import RunFolder

    run = RunFolder.of_checkpoint(ema_run.run_dir / "checkpoints" / "last.ckpt")
    assert run is not None and run.path == ema_run.run_dir.resolve()
    assert run.metrics.is_file() and run.last_checkpoint.is_file()
    copied = tmp_path / "checkpoints" / "last.ckpt"  # a folder of that name, but no run around it
    copied.parent.mkdir()
    shutil.copy(run.last_checkpoint, copied)
    assert RunFolder.of_checkpoint(copied) is None


def test_a_full_disk_while_checkpointing_keeps_the_previous_files_and_names_the_path(
    make_cfg, tmp_path, monkeypatch
):
    """The checkpoint after iteration 4 meets ENOSPC: the run stops with an OutputError naming the
    file, and last.ckpt and metrics.json are still the complete ones written before."""
    import errno
    import json

    from mmagan.errors import OutputError
    from mmagan.runs import checkpoint_io

    run = build(
        make_cfg("iterations=8", "callbacks.checkpoint.every_n_iterations=2", "trainer.val_check_interval=2")
    )
    saves, real_save = [], torch.save

    def save_until_the_disk_fills(obj, f, *args, **kwargs):
        if run.module.iteration >= 4:
            real_save(obj, f, *args, **kwargs)  # the bytes begin to land, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        saves.append(run.module.iteration)
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(checkpoint_io.torch, "save", save_until_the_disk_fills)
    with pytest.raises(
        OutputError, match=r"cannot write .*checkpoints/iter0000004\.ckpt: No space left on device; nothing"
    ):
        run.trainer.fit(run.module, datamodule=run.datamodule)
    last = torch.load(run.run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 2 * 2 and saves == [2, 2]  # iteration 2's periodic and last checkpoints
    json.loads((run.run_dir / "metrics.json").read_text())  # complete JSON, not half a file
    assert not list((run.run_dir / "checkpoints").glob(".*tmp*"))  # no temporary file left behind


def test_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path):
    import errno

    from mmagan.errors import OutputError
    from mmagan.runs.files import atomic_write

    target = tmp_path / "metrics.json"
    target.write_text("old\n")

    def fill(tmp):
        tmp.write_text("new, then the disk")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(
        OutputError, match=r"cannot write .*metrics\.json: No space left on device; the previous"
    ):
        atomic_write(target, fill)
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
    with pytest.raises(OSError, match="boom") as caught:  # other failures are not relabelled
        atomic_write(target, lambda tmp: (_ for _ in ()).throw(OSError(errno.EIO, "boom")))
    assert not isinstance(caught.value, OutputError)
