"""Keep a study's finished runs in the repository, so that it resumes on another machine.

A results study runs for longer than one machine is held. This copies each finished job's small
files (config, metrics.json, CSV log, the head-specialisation cache and the final plots; not the
checkpoints) from the sweep folders into an archive folder that is committed. Copying the archive
back into outputs/sweeps lets the sweep skip those jobs, and `mmagan-report --results ARCHIVE`
writes the page from the archive alone.

    mmagan-report --results outputs/sweeps --out /tmp/report   # caches heads.json / headmap.png
    python scripts/archive_study.py outputs/sweeps docs/study/runs
    cp -rn docs/study/runs/. outputs/sweeps/                  # on the next machine, then re-run the sweeps
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from mmagan.runs.sweep_jobs import FINISHED, add_to_plan, job_status, recorded_plan

KEPT = ("metrics.json", "heads.json", "train.log")


def archive(sweeps: Path, out: Path, pattern: str) -> int:
    copied = 0
    for sweep in sorted(p for p in sweeps.glob(pattern) if p.is_dir()):
        if (sweep / "multirun.yaml").is_file():
            (out / sweep.name).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sweep / "multirun.yaml", out / sweep.name / "multirun.yaml")
        # Joined, not copied: the archive may know jobs this machine never ran.
        add_to_plan(out / sweep.name, recorded_plan(sweep))
        for job in sorted(p for p in sweep.iterdir() if p.is_dir()):
            if job_status(job) != FINISHED:
                continue
            target = out / sweep.name / job.name
            shutil.copytree(job / ".hydra", target / ".hydra", dirs_exist_ok=True)
            shutil.copytree(job / "csv", target / "csv", dirs_exist_ok=True)
            for name in KEPT:
                if (job / name).is_file():
                    shutil.copyfile(job / name, target / name)
            plots = sorted((job / "plots").glob("modes_iter*.png"))[-1:]
            plots += sorted((job / "plots").glob("headmap.png"))
            for plot in plots:
                (target / "plots").mkdir(exist_ok=True)
                shutil.copyfile(plot, target / "plots" / plot.name)
            copied += 1
    return copied


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("sweeps", type=Path, help="the sweeps folder (outputs/sweeps)")
    p.add_argument("out", type=Path, help="the committed archive folder")
    p.add_argument("--pattern", default="results_*_medium", help="which sweep folders (a glob)")
    args = p.parse_args()
    print(f"{archive(args.sweeps, args.out, args.pattern)} finished runs archived in {args.out}")


if __name__ == "__main__":
    main()
