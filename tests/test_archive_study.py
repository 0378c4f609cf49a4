"""scripts/archive_study.py: what a study keeps in the repository between machines."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "scripts" / "archive_study.py"


def load_script():
    spec = importlib.util.spec_from_file_location("archive_study", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def job(folder: Path, finished: bool) -> None:
    for sub in (".hydra", "csv", "checkpoints"):
        (folder / sub).mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text("seed: 0\n")
    (folder / "csv" / "metrics.csv").write_text("step,modes/modes\n999,8\n")
    (folder / "checkpoints" / "last.ckpt").write_bytes(b"weights")
    (folder / "metrics.json").write_text(json.dumps({"finished": 1} if finished else {}))


def test_finished_jobs_are_archived_without_checkpoints_and_the_plans_are_joined(tmp_path):
    archive = load_script().archive
    sweep = tmp_path / "sweeps" / "results_ring_medium"
    job(sweep / "model=gan,seed=0", finished=True)
    job(sweep / "model=gan,seed=1", finished=False)
    (sweep / "planned_jobs.txt").write_text("model=gan,seed=0\nmodel=gan,seed=1\n")
    out = tmp_path / "archive"
    (out / "results_ring_medium").mkdir(parents=True)
    (out / "results_ring_medium" / "planned_jobs.txt").write_text("model=dcgan,seed=0\nmodel=gan,seed=0\n")

    assert archive(tmp_path / "sweeps", out, "results_*_medium") == 1
    kept = out / "results_ring_medium"
    assert (kept / "model=gan,seed=0" / "csv" / "metrics.csv").is_file()
    assert (kept / "model=gan,seed=0" / "metrics.json").is_file()
    assert not (kept / "model=gan,seed=0" / "checkpoints").exists()
    assert not (kept / "model=gan,seed=1").exists()  # unfinished: it resumes where it ran
    assert (kept / "planned_jobs.txt").read_text().splitlines() == [
        "model=dcgan,seed=0",
        "model=gan,seed=0",
        "model=gan,seed=1",
    ]
