"""Longer checks, run by `make test` and CI (`pytest -m slow` alone)."""

import json
import subprocess
import sys
import zipfile

import pytest
from helpers import TINY, TINY_MLP, run_cli

pytestmark = pytest.mark.slow


def test_ddp_two_cpu_processes(tmp_path):
    """The GAN step under DDP (gloo, 2 processes): G unused in the D step, D frozen in the G step."""
    result = run_cli(
        *TINY,
        *TINY_MLP,
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.precision=32-true",
        "trainer.benchmark=false",
        "iterations=20",
        "trainer.val_check_interval=10",
        cwd=tmp_path,
        timeout=600,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in out
    (run_dir,) = tmp_path.glob("outputs/train/runs/*")
    assert (run_dir / "train_ddp_process_1.log").is_file()  # the second rank ran in the same folder
    figures = json.loads((run_dir / "metrics.json").read_text())
    assert figures["iteration"] == 20 and figures["finished"] == 1
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()


def test_wheel_carries_the_configs(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            ".",
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("mmagan-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "site")
    assert {"mmagan/conf/train.yaml", "mmagan/conf/model/mmagan.yaml", "mmagan/train.py"} <= names
    # sweeps/ is the `sweep` group (conf/sweep links to it): +sweep=... works from an installed copy.
    assert {"mmagan/conf/sweep/mmagan_grid.yaml", "mmagan/conf/sweep/baselines.yaml"} <= names
    # An installed copy finds its configs inside the package, wherever it runs from.
    found = subprocess.run(
        [sys.executable, "-c", "from mmagan.config import config_dir; print(config_dir())"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "site")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert found == str(tmp_path / "site" / "mmagan" / "conf")
