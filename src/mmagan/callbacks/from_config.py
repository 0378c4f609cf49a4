"""Callbacks from the `callbacks` config group, one loop over its keys: each key registers how it
is checked and what it builds. A key's `enabled` switch (or its own 0 / empty list) turns it off.

Not `_target_` instantiation: the callbacks need objects that exist only once the run is
assembled (its folder, the module, the DataModule's evaluation offer), so each key has a small
builder that takes its config block and those parts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig

from mmagan.callbacks.checkpoints import InterruptCheckpoint, IterationCheckpoint
from mmagan.callbacks.evaluation import FidelityMetrics, LPIPSDiversity
from mmagan.callbacks.mode_coverage import ModeCoverage
from mmagan.callbacks.path_length import PathLength
from mmagan.callbacks.progress import IterationProgressBar
from mmagan.callbacks.sample_snapshots import SampleSnapshots
from mmagan.callbacks.stacked_modes import StackedModeCount
from mmagan.callbacks.style_figures import StyleFigures
from mmagan.checks import Checks, int_at_least, number_in
from mmagan.metrics.fidelity import FIDELITY_METRICS, FidelitySettings
from mmagan.metrics.ppl import PPL_CHECKS, PPLSettings
from mmagan.nets.stylegan import is_style_based
from mmagan.registry import Registry
from mmagan.runs.run_folder import RunFolder


@dataclass
class RunParts:
    """What the builders read besides their own config block."""

    run: RunFolder
    module: L.LightningModule
    datamodule: L.LightningDataModule
    fidelity: FidelitySettings


Builder = Callable[[DictConfig, RunParts], list[L.Callback]]


@dataclass(frozen=True)
class CallbackKind:
    """How a `callbacks.<key>` block is checked and what it builds."""

    build: Builder
    checks: Checks


#: callbacks.<key> -> how it is checked and built; a key registered from anywhere (even a test)
#: is configurable with nothing else added.
CALLBACKS: Registry[CallbackKind] = Registry("callbacks")

BOOL = (lambda v: isinstance(v, bool), "true or false")
EVERY = (int_at_least(1), "an integer >= 1")


def callback(key: str, checks: Checks):
    """Register the builder of `callbacks.<key>` with its parameters' checks."""

    def register(build: Builder) -> Builder:
        CALLBACKS.add(key, CallbackKind(build, checks))
        return build

    return register


@callback(
    "checkpoint",
    {
        "every_n_iterations": (int_at_least(0), "an integer >= 0"),
        "save_top_k": (int_at_least(-1), "-1 (all) or an integer >= 0"),
        "save_last": BOOL,
    },
)
def _checkpoints(c: DictConfig, parts: RunParts) -> list[L.Callback]:
    directory = parts.run.checkpoints
    return [
        IterationCheckpoint(
            every_n_iterations=c.every_n_iterations,
            steps_per_iteration=parts.module.steps_per_iteration,
            dirpath=directory,
            filename="iter{iteration:07d}",
            auto_insert_metric_name=False,
            save_top_k=c.save_top_k,
            save_last=c.save_last,
            # A resumed run overwrites its last.ckpt (and the same iteration's file): Lightning would
            # otherwise write last-v1.ckpt whenever the state it resumed from did not name last.ckpt
            # (an interrupt before the first periodic save), leaving a stale last.ckpt.
            enable_version_counter=False,
        ),
        InterruptCheckpoint(str(directory)),
    ]


@callback(
    "sample_snapshots",
    {
        "every_n_iterations": (int_at_least(0), "an integer >= 0"),
        "num_samples": (int_at_least(1), "an integer >= 1"),
        "seed": (int_at_least(0), "an integer >= 0"),
    },
)
def _snapshots(c: DictConfig, parts: RunParts) -> list[L.Callback]:
    return [SampleSnapshots(parts.run.samples, c.every_n_iterations, c.num_samples, c.seed)]


@callback(
    "mode_coverage",
    {
        "enabled": BOOL,
        "threshold": (number_in(0, float("inf"), lo_open=True), "a number > 0"),
        "draws": (int_at_least(1), "an integer >= 1"),
    },
)
def _mode_coverage(c: DictConfig, parts: RunParts) -> list[L.Callback]:
    if not c.enabled:
        return []
    offer = parts.datamodule.evaluation()
    out: list[L.Callback] = []
    if offer.mixture is not None:
        out.append(ModeCoverage(parts.run.plots, c.threshold, c.draws))
    if offer.classify_channels is not None:
        out.append(StackedModeCount())
    return out


@callback(
    "fidelity",
    {
        "metrics": (
            lambda v: all(m in FIDELITY_METRICS for m in v) and len(set(v)) == len(v),
            f"a list of distinct names from {list(FIDELITY_METRICS)} (LPIPS: callbacks.lpips_diversity)",
        ),
        "every_n_validations": EVERY,
        "keep_best_fid": BOOL,
    },
)
def _fidelity(c: DictConfig, parts: RunParts) -> list[L.Callback]:
    if not c.metrics:
        return []
    out: list[L.Callback] = [FidelityMetrics(list(c.metrics), parts.fidelity, c.every_n_validations)]
    if "fid" in c.metrics and c.keep_best_fid:
        out.append(
            ModelCheckpoint(
                dirpath=parts.run.checkpoints,
                filename="best-fid",
                monitor="metrics/fid",
                mode="min",
                save_top_k=1,
                save_last=False,
                auto_insert_metric_name=False,
                enable_version_counter=False,  # one best-fid.ckpt, across resumes too
            )
        )
    return out


@callback(
    "lpips_diversity",
    {
        "enabled": BOOL,
        "num_samples": (int_at_least(2), "an integer >= 2"),
        "minibatch": (int_at_least(2), "an integer >= 2"),
        "every_n_validations": EVERY,
        "random_trunk": BOOL,
    },
)
def _lpips(c: DictConfig, parts: RunParts) -> list[L.Callback]:
    if not c.enabled:
        return []
    trunk = parts.fidelity.lpips_trunk_weights_path
    return [LPIPSDiversity(c.num_samples, c.minibatch, trunk, c.random_trunk, c.every_n_validations)]


@callback("ppl", {**PPL_CHECKS, "enabled": BOOL, "random_trunk": BOOL, "every_n_validations": EVERY})
def _ppl(c: DictConfig, parts: RunParts) -> list[L.Callback]:
    if not c.enabled:
        return []
    trunk = parts.fidelity.lpips_trunk_weights_path
    return [PathLength(PPLSettings.from_config(c), trunk, c.random_trunk, c.every_n_validations)]


@callback("style_figures", {"enabled": BOOL, "seed": (int_at_least(0), "an integer >= 0")})
def _style_figures(c: DictConfig, parts: RunParts) -> list[L.Callback]:
    if not (c.enabled and is_style_based(parts.module.generator)):  # no hooks to call per step otherwise
        return []
    return [StyleFigures(parts.run.plots, c.seed)]


@callback("progress_bar", {"refresh_rate": (int_at_least(0), "an integer >= 0 (0 hides the bar)")})
def _progress_bar(c: DictConfig, parts: RunParts) -> list[L.Callback]:
    return [IterationProgressBar(refresh_rate=c.refresh_rate)] if c.refresh_rate > 0 else []


def callbacks_from_config(cfg: DictConfig, parts: RunParts) -> list[L.Callback]:
    """Every callback the `callbacks` block asks for, in its order."""
    return [cb for key, block in cfg.items() for cb in CALLBACKS[key].build(block, parts)]
