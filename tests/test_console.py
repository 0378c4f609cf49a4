"""What a newcomer's console shows: no srun advice outside SLURM, no column of zero FLOPs."""

import os
import subprocess
import sys
from pathlib import Path

from helpers import TINY, TINY_MLP


def test_training_on_a_host_with_srun_prints_neither_the_srun_warning_nor_zero_flops(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "srun").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    exe = Path(sys.executable).with_name("mmagan-train")
    out = subprocess.run(
        [str(exe), *TINY, *TINY_MLP, "iterations=4", "trainer.val_check_interval=4"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    console = out.stdout + out.stderr
    assert out.returncode == 0, console[-3000:]
    assert "srun" not in console
    assert "Flops" not in console and "FLOPs" not in console
    assert "trainable parameters" in console and "generator" in console  # the summary is still there
    (log,) = (tmp_path / "outputs" / "train" / "runs").glob("*/train.log")
    assert "srun" not in log.read_text()
