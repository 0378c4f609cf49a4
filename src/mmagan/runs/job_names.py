"""Folder names for the jobs of a sweep, made from their overrides.

Hydra's own `hydra.job.override_dirname` keeps slashes (a path value becomes nested folders) and
spells the grid's keys in full; the names here are short, flat and deterministic, so two jobs never
share a folder and a re-run of the same sweep finds each job's earlier folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mmagan.runs.files import fingerprint

# Grid keys as the paper writes them.
SHORT_KEYS = {
    "model.objective.num_heads": "K",
    "model.objective.lambda_div": "lambda",
    "model.objective.tau": "tau",
}
# The paper's axes lead the name, in this order; other keys follow, sorted.
LEADING = ("K", "lambda", "tau", "model", "seed")
# Overrides that select the sweep, say where things go, or change only what is shown: not part of
# what a job computes, so not part of its name (a re-run with logger=wandb still finds the job).
IGNORED_PREFIXES = (
    "sweep",
    "sweep_name",
    "hydra",
    "launcher",
    "paths",
    "logger",
    "callbacks.progress_bar",
    "callbacks.checkpoint",
    "callbacks.sample_snapshots",
    "trainer.speed",  # speed switches give the same results (tests/test_speed_switches.py)
    "rerun",
)
MAX_LENGTH = 180


def _parse(override: str) -> tuple[str, str]:
    key, _, value = override.partition("=")
    return key.lstrip("+~"), value


def _ignored(key: str) -> bool:
    return any(key == p or key.startswith(p + ".") for p in IGNORED_PREFIXES)


def _order(item: tuple[str, str]) -> tuple[int, str]:
    key = item[0]
    return (LEADING.index(key), "") if key in LEADING else (len(LEADING), key)


def job_dirname(overrides: Iterable[str]) -> str:
    """`K=8,lambda=0.5,tau=0.3,seed=0,data=cifar10` for the overrides of one job."""
    items = []
    for override in overrides:
        key, value = _parse(str(override))
        if not _ignored(key):
            value = re.sub(r"[^A-Za-z0-9._+\-\[\]]", "_", value)
            items.append((SHORT_KEYS.get(key, key), value))
    name = ",".join(f"{k}={v}" for k, v in sorted(items, key=_order)) or "default"
    if len(name) > MAX_LENGTH:  # file systems cap a name at 255 bytes; keep it unique with a hash
        digest = fingerprint([name])[:10]
        name = f"{name[: MAX_LENGTH - 11]}-{digest}"
    return name
