"""Checkpoints that describe themselves: read safely, checked before a resume, and turned into a
generator from the file alone (no run folder, no Hydra).

A training checkpoint is Lightning's dict plus `mmagan`: the package version, the resolved run
config, the sample shape and the RNG state. An exported generator file holds G's weights plus the
same description, a few MB.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from mmagan import __version__
from mmagan.errors import CheckpointError
from mmagan.nets import nets_for
from mmagan.objectives import Objective, build_objective
from mmagan.runs.files import atomic_write
from mmagan.sampler import Sampler, as_shape

log = logging.getLogger("mmagan")

GENERATOR_FORMAT = "mmagan-generator/1"

# Keys whose change alters a net's shape or the method: refused on resume.
METHOD_KEYS = ("model.objective", "net", "data.name", "data.resolution", "data.mixture", "model.ema.enabled")
# Keys a resumed run may change freely (listed in the README): where output goes, how it is shown,
# how long it runs and what is measured.
SAFE_KEYS = (
    "iterations",
    "ckpt_path",
    "trainer",
    "logger",
    "callbacks",
    "paths",
    "launcher",
    "hydra",
    "rerun",
    "sweep_name",
    "task_name",
    "eval",
    "fidelity",
)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's dict, loaded with `weights_only` (no code runs from the file); one clear
    CheckpointError naming the path for a missing, truncated or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} is not a file: give the path of a .ckpt (or an exported .pt)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch's unpickler fails on foreign bytes with any of a dozen types
        reason = unreadable_reason(e)
        raise UnreadableCheckpointError(
            f"{path} is not a readable checkpoint (truncated or another format: {reason})"
        ) from e
    if not isinstance(ckpt, dict) or not ("mmagan" in ckpt or GENERATOR_FORMAT == ckpt.get("format")):
        raise CheckpointError(f"{path} is not an mmagan checkpoint (no mmagan description inside)")
    return ckpt


def unreadable_reason(error: Exception) -> str:
    """Why torch.load refused a file, in a few words: its own message carries advice about
    `weights_only` that does not apply to a file that is simply not a checkpoint."""
    text = " ".join(str(error).split())
    for marker in (
        "invalid load key",
        "failed finding central directory",
        "unexpected EOF",
        "Ran out of input",
    ):
        if marker in text:
            return f"{type(error).__name__}: {text[text.index(marker) :].split('.')[0]}"
    if "WeightsUnpickler error:" in text:  # the unpickler's own words, without torch's advice
        detail = text.split("WeightsUnpickler error:", 1)[1].split(" Check the documentation")[0].strip()
        return f"not a checkpoint torch can read safely ({detail})"
    return f"{type(error).__name__}: {text[:100]}" if text else type(error).__name__


class UnreadableCheckpointError(CheckpointError):
    """The file's bytes do not load: cut short by a kill or a full disk, or not a checkpoint."""


def readable_or_newest(chosen: str | Path) -> Path:
    """`chosen` where it loads; else the newest (by modification time) checkpoint beside it that
    does, with one warning naming both, so that a job killed while writing last.ckpt resumes from
    the checkpoint before. CheckpointError when none of them loads."""
    chosen = Path(chosen)
    try:
        read_checkpoint(chosen)
        return chosen
    except UnreadableCheckpointError as e:
        failure = e
    siblings = [p for p in chosen.parent.glob("*.ckpt") if p.name != chosen.name and p.is_file()]
    for candidate in sorted(siblings, key=lambda p: p.stat().st_mtime_ns, reverse=True):
        try:
            read_checkpoint(candidate)
        except UnreadableCheckpointError:
            continue
        # The unreadable file is replaced by that copy: a job that had finished training but not
        # yet recorded it resumes at its end and writes no checkpoint, and must not keep it cut.
        atomic_write(chosen, lambda tmp, source=candidate: shutil.copyfile(source, tmp))
        log.warning(
            "%s; resuming from %s, the newest readable checkpoint beside it (copied over %s)",
            failure, candidate.name, chosen.name,
        )  # fmt: skip
        return candidate
    raise CheckpointError(f"{failure}; no other checkpoint in {chosen.parent} is readable either")


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out or {prefix[:-1]: {}}
    return {prefix[:-1]: d}


def _under(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def config_changes(saved: dict, new: dict) -> tuple[list[str], list[str]]:
    """(refused, noted): one line per differing key, both values shown. Refused: keys that alter
    shapes or the method; noted: other changes outside the safe keys (optimizer, batch size...)."""
    a, b = _flat(saved), _flat(new)
    refused, noted = [], []
    for key in sorted(set(a) | set(b)):
        old, cur = a.get(key, "<absent>"), b.get(key, "<absent>")
        if old == cur or _under(key, SAFE_KEYS):
            continue
        line = f"{key}: checkpoint has {old!r}, this run asks for {cur!r}"
        (refused if _under(key, METHOD_KEYS) else noted).append(line)
    return refused, noted


def check_resume(ckpt_path: str | Path, new_config: dict) -> list[str]:
    """Refuse a resume whose config changes the method or a shape; return the other changes."""
    saved = read_checkpoint(ckpt_path)
    if "mmagan" not in saved:
        raise CheckpointError(f"{ckpt_path} is an exported generator, not a training checkpoint to resume")
    refused, noted = config_changes(saved["mmagan"].get("config", {}), new_config)
    if refused:
        raise CheckpointError(
            f"{ckpt_path} cannot be resumed with this config (it changes the method or a net's shape):\n  "
            + "\n  ".join(refused)
        )
    return noted


def _generator_state(ckpt: dict, ema: bool, path: Path) -> tuple[dict[str, torch.Tensor], bool]:
    state = ckpt["state_dict"]
    has_ema = any(k.startswith("generator_ema.") for k in state)
    prefix = "generator_ema." if ema and has_ema else "generator."
    weights = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    if not weights:
        raise CheckpointError(f"{path} holds no generator weights")
    return weights, prefix == "generator_ema."


def _objective(config: dict) -> Objective:
    return build_objective(**config["model"]["objective"])


def _build_nets(config: dict, sample_shape: tuple[int, ...]) -> tuple[torch.nn.Module, torch.nn.Module]:
    return nets_for(OmegaConf.create(config["net"]), sample_shape, _objective(config))


def load_generator(path: str | Path, ema: bool = True, device: str | torch.device = "cpu") -> Sampler:
    """A generator ready to sample, from a training checkpoint or an exported file alone.

    ema: the EMA weights where the run kept them (else G's own); `Sampler.ema` says which it got.
    """
    path = Path(path)
    ckpt = read_checkpoint(path)
    if ckpt.get("format") == GENERATOR_FORMAT:
        meta, weights, used_ema = ckpt["generator"], ckpt["state_dict"], ckpt["generator"]["ema"]
        iteration = meta["iteration"]
    else:
        meta = ckpt["mmagan"]
        weights, used_ema = _generator_state(ckpt, ema, path)
        iteration = _objective(meta["config"]).iteration(int(ckpt.get("global_step", 0)))
    shape = as_shape(meta["sample_shape"])
    net, _ = _build_nets(meta["config"], shape)
    net.load_state_dict(weights)
    return Sampler(
        net=net.to(device),
        latent_dim=int(meta["config"]["net"]["latent_dim"]),
        sample_shape=shape,
        config=meta["config"],
        iteration=iteration,
        ema=used_ema,
        version=str(meta.get("version", "")),
    )


def load_discriminator(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, Objective]:
    """D (eval mode) and the objective of a training checkpoint: D's K heads for diagnostics."""
    path = Path(path)
    ckpt = read_checkpoint(path)
    if "mmagan" not in ckpt:
        raise CheckpointError(f"{path} is an exported generator: it holds no discriminator")
    meta = ckpt["mmagan"]
    _, net = _build_nets(meta["config"], as_shape(meta["sample_shape"]))
    prefix = "discriminator."
    net.load_state_dict({k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)})
    return net.to(device).eval().requires_grad_(False), _objective(meta["config"])


def export_generator(ckpt_path: str | Path, out: str | Path, ema: bool = True) -> Path:
    """A generator-only file (weights plus the config and shape that rebuild the net)."""
    sampler = load_generator(ckpt_path, ema=ema)
    payload = {
        "format": GENERATOR_FORMAT,
        "generator": {**sampler.describe(), "config": sampler.config, "exported_by": __version__},
        "state_dict": sampler.net.state_dict(),
    }
    return atomic_write(out, lambda tmp: torch.save(payload, tmp))
