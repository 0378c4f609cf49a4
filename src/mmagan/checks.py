"""The vocabulary of config checks: each names the key, the value and what is allowed, in one line.
Used by config/validation.py for cross-key rules and by the objectives, nets and data sets for
their own parameters (`checks` on each class), so a check lives with what it checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from mmagan.errors import ConfigError

#: key -> (predicate, what is allowed): a class's declaration of its own parameters' checks.
Checks = dict[str, tuple[Callable[[Any], bool], str]]

_MISSING = object()


def _get(cfg: DictConfig, key: str) -> Any:
    value = OmegaConf.select(cfg, key, default=_MISSING)
    if value is _MISSING:
        raise ConfigError(f"{key} is missing")
    return value


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check(cfg: DictConfig, key: str, ok: Callable[[Any], bool], allowed: str) -> Any:
    """The value at `key`, or a one-line ConfigError naming the key, the value and `allowed`."""
    value = _get(cfg, key)
    try:
        good = ok(value)
    except TypeError:
        good = False
    if not good:
        shown = OmegaConf.to_container(value) if isinstance(value, (DictConfig, ListConfig)) else value
        raise ConfigError(f"{key}={shown!r} is invalid: must be {allowed}")
    return value


def int_at_least(lo: int) -> Callable[[Any], bool]:
    """A predicate: an int (not a bool) >= lo."""
    return lambda v: _is_int(v) and v >= lo


def one_of(options) -> Callable[[Any], bool]:
    """A predicate: one of `options`."""
    return lambda v: v in options


def number_in(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False) -> Callable[[Any], bool]:
    """A number between lo and hi, each end included unless open."""
    return lambda v: _is_number(v) and (lo < v if lo_open else lo <= v) and (v < hi if hi_open else v <= hi)


def check_values(values: dict, prefix: str, checks: Checks) -> None:
    """The same declared checks on plain values (a constructor's arguments, nested dicts for dotted
    keys), with the same one-line errors; a key absent from `values` is left to its default."""
    for key, (ok, allowed) in checks.items():
        value: Any = values
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                break
            value = value[part]
        else:
            try:
                good = ok(value)
            except TypeError:
                good = False
            if not good:
                raise ConfigError(f"{prefix}{key}={value!r} is invalid: must be {allowed}")


def run_checks(cfg: DictConfig, prefix: str, checks: Checks) -> None:
    """Each declared parameter that the config sets, checked; `prefix` is its place ('model.objective.')."""
    for key, (ok, allowed) in checks.items():
        if OmegaConf.select(cfg, prefix + key, default=_MISSING) is not _MISSING:
            check(cfg, prefix + key, ok, allowed)
