"""Checks every user-facing value before anything is built, so a bad value costs one clear line
(key, value, what is allowed) instead of a stack trace minutes into a run."""

from __future__ import annotations

import inspect

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from mmagan.checks import (  # noqa: F401 - check and friends are used from here by evaluate.py
    _MISSING,
    _get,
    _is_int,
    _is_number,
    check,
    int_at_least,
    one_of,
    run_checks,
)
from mmagan.data import DATASETS
from mmagan.errors import ConfigError
from mmagan.nets import NETS
from mmagan.objectives import OBJECTIVES, build_objective

PRECISIONS = ("32-true", "32", "bf16-mixed", "16-mixed", "bf16-true", "64-true")
# Trainer arguments mmagan sets itself, or that manual optimization refuses.
RESERVED_TRAINER_KEYS = {
    "max_steps": "set the training length with the top-level `iterations` (generator iterations)",
    "callbacks": "configure callbacks in the `callbacks` group",
    "logger": "choose loggers with the `logger` group",
    "default_root_dir": "runs write into their Hydra run folder",
    "gradient_clip_val": "Lightning refuses it with manual optimization",
    "accumulate_grad_batches": "Lightning refuses it with manual optimization",
    "use_distributed_sampler": "the training loader splits data between DDP ranks itself (resumable)",
}


def _unknown_keys(cfg: DictConfig, key: str, known: set[str]) -> None:
    extra = sorted(set(_get(cfg, key).keys()) - known)
    if extra:
        raise ConfigError(f"{key}.{extra[0]} is not a known key; known keys of {key}: {sorted(known)}")


def _objective_keys(cls: type) -> set[str]:
    return {"name"} | set(inspect.signature(cls.__init__).parameters) - {"self"}


def validate_objective(cfg: DictConfig) -> None:
    name = check(cfg, "model.objective.name", one_of(OBJECTIVES), f"one of {sorted(OBJECTIVES)}")
    _unknown_keys(cfg, "model.objective", _objective_keys(OBJECTIVES[name]))
    o = "model.objective."
    run_checks(cfg, o, OBJECTIVES[name].checks)
    m = build_objective(**cfg.model.objective).packing
    batch = _get(cfg, "data.batch_size")
    if m > 1 and _is_int(batch) and batch % m:  # a cross-key rule: the batch splits into packs
        raise ConfigError(
            f"model.objective.packing={m} is invalid with data.batch_size={batch}: the batch must "
            f"split into packs of m (a multiple of {m})"
        )


def validate_model(cfg: DictConfig) -> None:
    validate_objective(cfg)
    objective = build_objective(**cfg.model.objective)
    if objective.num_generators > 1:  # each generator's part of a batch goes through its batch norm
        per_step = _get(cfg, "data.batch_size") // objective.d_steps
        if _is_int(per_step) and per_step < 2 * objective.num_generators:
            raise ConfigError(
                f"model.objective.num_generators={objective.num_generators} needs at least "
                f"{2 * objective.num_generators} samples per step (two per generator), but "
                f"data.batch_size={cfg.data.batch_size} gives {per_step}; raise data.batch_size"
            )
    positive = lambda v: _is_number(v) and v > 0  # noqa: E731
    check(cfg, "model.optimizer.lr_g", positive, "a number > 0")
    check(cfg, "model.optimizer.lr_d", positive, "a number > 0")
    check(
        cfg,
        "model.optimizer.betas",
        lambda v: len(v) == 2 and all(_is_number(b) and 0 <= b < 1 for b in v),
        "two numbers in [0, 1), e.g. [0.5, 0.999]",
    )
    check(cfg, "model.ema.enabled", lambda v: isinstance(v, bool), "true or false")
    if cfg.model.ema.enabled:
        check(cfg, "model.ema.decay", lambda v: _is_number(v) and 0 < v < 1, "a number with 0 < decay < 1")
        check(cfg, "model.ema.start_iteration", int_at_least(0), "an integer >= 0")
        positive_or_null = lambda v: v is None or (_is_number(v) and v > 0)  # noqa: E731
        check(cfg, "model.ema.half_life_kimg", positive_or_null, "null or a number > 0 (thousands of images)")
        check(cfg, "model.ema.rampup", positive_or_null, "null or a number > 0 (StyleGAN2-ADA: 0.05)")


def validate_net(cfg: DictConfig, sample_shape: tuple[int, ...]) -> None:
    """The net's own checks (declared with it in nets/), then the rules that cross keys: the data's
    sample shape, batch norm with a gradient penalty, the truncation cutoff at this resolution."""
    name = check(cfg, "net.name", one_of(NETS), f"one of {list(NETS)}")
    kind = NETS[name]
    check(cfg, "net.latent_dim", int_at_least(1), "an integer >= 1")
    if not kind.fits(tuple(sample_shape)):
        raise ConfigError(
            f"net.name={name!r} needs {kind.needs}, but data {cfg.data.name!r} has samples of shape "
            f"{tuple(sample_shape)}; {kind.hint}"
        )
    if kind.keys is not None:
        _unknown_keys(cfg, "net", set(kind.keys))
    run_checks(cfg, "net.", kind.checks)
    objective = cfg.model.objective.name
    per_sample = not OBJECTIVES[objective].d_batch_norm_ok  # a per-sample D regulariser (a gradient penalty)
    if per_sample and cfg.net.get("d_norm") == "batch":
        raise ConfigError(
            f"net.d_norm='batch' is invalid with model.objective.name={objective!r}: its gradient penalty "
            "is per sample, so the critic must not use batch norm; use auto, layer or none"
        )
    if per_sample and cfg.net.get("d_minibatch", "none") != "none":
        raise ConfigError(
            f"net.d_minibatch={cfg.net.d_minibatch!r} is invalid with model.objective.name={objective!r}: "
            "its gradient penalty is per sample, and a minibatch layer mixes the samples of a batch; use none"
        )
    if kind.shape_checks is not None:
        kind.shape_checks(cfg, tuple(sample_shape))


def _turned_on_by(cls, block, net) -> str:
    """The key and value that turn a regulariser on, as an error message names them."""
    value, weight = block.get(cls.weight_key), f"{cls.weight_of(block, net):g}"
    auto = f" ({value} for net={net.name})" if value == "auto" else ""
    return f"{cls.name}.{cls.weight_key}={weight}{auto}"


def validate_regularizers(cfg: DictConfig) -> None:
    """Each registered regulariser's block (its keys, its checks), then, for those the config turns
    on and the objective's own: the batch each needs, the style-based G it may need, torch.compile
    (which cannot backpropagate through a gradient), and at most one lazy interval per phase."""
    from mmagan.regularizers import REGULARIZERS, enabled_blocks

    for name, cls in REGULARIZERS.items():
        if OmegaConf.select(cfg, name) is not None:
            _unknown_keys(cfg, name, set(cls.checks))
            run_checks(cfg, f"{name}.", cls.checks)
    objective = build_objective(**cfg.model.objective)
    # G's step reuses the last D step's latents: one of the d_steps slices of the batch
    per_step = cfg.data.batch_size // objective.d_steps
    on = [(cls, _turned_on_by(cls, block, cfg.net), block) for cls, block in enabled_blocks(cfg)]
    on += [
        (type(r), f"model.objective.name={cfg.model.objective.name!r}", None)
        for r in objective.regularizers()
    ]
    intervals: dict[str, set[int]] = {}
    for cls, what, block in on:
        if per_step < cls.min_batch:
            raise ConfigError(
                f"{what} needs at least {cls.min_batch} samples per G step, but "
                f"data.batch_size={cfg.data.batch_size} gives {per_step}; raise data.batch_size"
            )
        if cls.needs_style_based_g and not getattr(NETS.get(cfg.net.name), "style_based", False):
            raise ConfigError(
                f"{what} needs a style-based generator (net=stylegan): the penalty differentiates G's image "
                f"with respect to w, and net={cfg.net.name} has none; set {cls.name}.{cls.weight_key}=0"
            )
        if cls.phase == "D" and block is not None and objective.d_judges_pairs:
            raise ConfigError(
                f"{what} is not supported with model.objective.name={cfg.model.objective.name!r}: its D "
                f"judges (latent, sample) pairs, not samples; set {cls.name}.{cls.weight_key}=0"
            )
        if cls.double_backward and OmegaConf.select(cfg, "trainer.speed.compile") is True:
            raise ConfigError(
                f"trainer.speed.compile=true is invalid with {what}: its penalty backpropagates through a "
                "gradient, which torch.compile does not support; set trainer.speed.compile=false"
            )
        interval = int(block.get("interval", 1)) if block is not None else 1
        if interval > 1:
            intervals.setdefault(cls.phase, set()).add(interval)
    for phase, found in intervals.items():
        if len(found) > 1:
            raise ConfigError(
                f"lazy regularisers of {phase} have intervals {sorted(found)}: one interval per phase "
                "(StyleGAN2's Adam correction assumes one regularisation step every I iterations)"
            )


def validate_data(cfg: DictConfig) -> None:
    name = check(cfg, "data.name", one_of(DATASETS), f"one of {sorted(DATASETS)}")
    run_checks(cfg, "data.", DATASETS[name].checks)  # the data set's own, declared beside its code
    check(cfg, "data.batch_size", int_at_least(1), "an integer >= 1")
    check(cfg, "eval.num_samples", int_at_least(1), "an integer >= 1")
    check(cfg, "eval.batch_size", int_at_least(1), "an integer >= 1")
    check(cfg, "eval.seed", int_at_least(0), "an integer >= 0")


SPEED_KEYS = {
    "optimizer",
    "channels_last",
    "tf32",
    "compile",
    "compile_mode",
    "device_data",
    "threads",
    "loss_check_seconds",
}
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def validate_speed(cfg: DictConfig) -> None:
    from mmagan.lazy_adam import IMPLS as OPTIMIZER_IMPLS

    _unknown_keys(cfg, "trainer.speed", SPEED_KEYS)
    s = "trainer.speed."
    check(cfg, s + "optimizer", one_of(OPTIMIZER_IMPLS), f"one of {list(OPTIMIZER_IMPLS)}")
    for key in ("channels_last", "tf32", "compile", "device_data"):
        check(cfg, s + key, lambda v: isinstance(v, bool), "true or false")
    check(cfg, s + "compile_mode", one_of(COMPILE_MODES), f"one of {list(COMPILE_MODES)}")
    check(cfg, s + "threads", lambda v: v == "auto" or (_is_int(v) and v >= 1), "'auto' or an integer >= 1")
    check(cfg, s + "loss_check_seconds", lambda v: _is_number(v) and v >= 0, "a number of seconds >= 0")


def validate_trainer(cfg: DictConfig) -> None:
    known = set(inspect.signature(L.Trainer.__init__).parameters) - {"self"} | {"speed"}
    validate_speed(cfg)
    for key in _get(cfg, "trainer").keys():
        if key in RESERVED_TRAINER_KEYS:
            raise ConfigError(f"trainer.{key} cannot be set: {RESERVED_TRAINER_KEYS[key]}")
        if key not in known:
            raise ConfigError(f"trainer.{key} is not an argument of lightning.Trainer")
    accelerator = str(OmegaConf.select(cfg, "trainer.accelerator", default="auto"))
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"trainer.accelerator={accelerator!r} is invalid here: no CUDA GPU is visible; "
            "use trainer=cpu (or trainer.accelerator=cpu)"
        )
    precision = check(cfg, "trainer.precision", lambda v: str(v) in PRECISIONS, f"one of {list(PRECISIONS)}")
    if str(precision) == "16-mixed" and accelerator == "cpu":
        raise ConfigError("trainer.precision='16-mixed' is invalid on the CPU: use bf16-mixed or 32-true")
    iterations = check(
        cfg, "iterations", lambda v: _is_int(v) and (v == -1 or v >= 1), "-1 or an integer >= 1"
    )
    max_epochs = OmegaConf.select(cfg, "trainer.max_epochs")
    if iterations == -1 and not (_is_int(max_epochs) and max_epochs >= 1):
        raise ConfigError(
            f"iterations=-1 needs trainer.max_epochs >= 1 to bound training, "
            f"got trainer.max_epochs={max_epochs!r}"
        )


def validate_callbacks(cfg: DictConfig) -> None:
    """Each key of the callbacks group by its own declared checks (callbacks/from_config.py)."""
    from mmagan.callbacks.from_config import CALLBACKS

    _unknown_keys(cfg, "callbacks", set(CALLBACKS))
    for key, kind in CALLBACKS.items():
        run_checks(cfg, f"callbacks.{key}.", kind.checks)
    validate_fidelity(cfg)


def validate_ppl(cfg: DictConfig, p: str) -> None:
    """The perceptual path length settings under prefix p (callbacks.ppl. or ppl.)."""
    from mmagan.metrics.ppl import PPL_CHECKS

    run_checks(cfg, p, PPL_CHECKS)


def validate_fidelity(cfg: DictConfig) -> None:
    from mmagan.metrics.fidelity import FidelitySettings

    _unknown_keys(cfg, "fidelity", set(FidelitySettings.__dataclass_fields__))
    for key in ("batch_size", "is_splits", "kid_subsets", "kid_subset_size"):
        check(cfg, f"fidelity.{key}", int_at_least(1), "an integer >= 1")


def validate_logger(cfg: DictConfig) -> None:
    from mmagan.loggers import LOGGERS

    _unknown_keys(cfg, "logger", set(LOGGERS))
    if "wandb" in cfg.logger:
        check(cfg, "logger.wandb.mode", one_of(("auto", "online", "offline")), "auto, online or offline")


def validate_rerun(cfg: DictConfig) -> None:
    for key in ("rerun.skip_finished", "rerun.resume_last"):
        check(cfg, key, lambda v: isinstance(v, bool), "true or false")
    check(
        cfg,
        "sweep_name",
        lambda v: v is None or (isinstance(v, str) and v.strip() and "/" not in v),
        "null or a folder name (no slash)",
    )


def validate_config(cfg: DictConfig) -> None:
    """Raise ConfigError on the first bad value: the one pass over a run's config, before anything
    is built (the nets are checked against the sample shape the data block gives)."""
    check(cfg, "seed", int_at_least(0), "an integer >= 0")
    validate_data(cfg)
    validate_model(cfg)
    validate_regularizers(cfg)
    validate_trainer(cfg)
    validate_callbacks(cfg)
    validate_logger(cfg)
    validate_rerun(cfg)
    shape = sample_shape(cfg)
    validate_net(cfg, shape)
    validate_metric_inputs(cfg, shape)


def sample_shape(cfg: DictConfig) -> tuple[int, ...]:
    """One sample's shape as the (checked) data block gives it."""
    data = OmegaConf.to_container(cfg.data, resolve=True)
    return tuple(DATASETS[cfg.data.name].shape_for(data))


def validate_metric_inputs(cfg: DictConfig, shape: tuple[int, ...]) -> None:
    """The image metrics need image data; PPL's spaces must be ones this net's G offers."""
    from mmagan.metrics.ppl import requested_and_offered, spaces_offered

    c = cfg.callbacks
    if (c.fidelity.metrics or c.lpips_diversity.enabled or c.ppl.enabled) and len(shape) != 3:
        raise ConfigError(
            "callbacks.fidelity.metrics / callbacks.lpips_diversity / callbacks.ppl need image data; data "
            f"{cfg.data.name!r} is not images: use mode counting (callbacks.mode_coverage) instead"
        )
    if c.ppl.enabled:
        offered = spaces_offered(NETS[cfg.net.name].style_based)
        requested_and_offered(tuple(c.ppl.spaces), offered, "callbacks.ppl.spaces")
