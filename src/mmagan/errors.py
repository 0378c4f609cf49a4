"""Errors that end a run with one clear line instead of a stack trace."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable


class ConfigError(ValueError):
    """A config value is out of range or unknown; raised before training starts."""


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the run stops and keeps its last good checkpoint."""


class CheckpointError(ValueError):
    """A file is not a usable mmagan checkpoint, or does not fit the run it should resume."""


class DataError(ValueError):
    """A data set is missing, empty or unreadable; raised before training starts."""


class InspectError(ValueError):
    """A layer, vector, map, palette or grid that does not fit the generator being inspected."""


class OutputError(OSError):
    """An output folder or file cannot be created or written."""


def require_one_of(key: str, value: object, options, error: type[Exception] = ConfigError) -> None:
    """Refuse a value outside `options` with the key, the value and the choices."""
    if value not in options:
        raise error(f"{key}={value!r} is invalid: must be one of {options}")


# A user's mistake: the command ends with this label, the error's one line, and exit status 2.
USER_ERRORS = {
    ConfigError: "config error",
    DataError: "data error",
    CheckpointError: "checkpoint error",
    OutputError: "output error",
    InspectError: "inspect error",
}


def exit_on_user_error(
    command: Callable[[], object], on_user_error: Callable[[], object] | None = None
) -> object:
    """Run a command; a user's mistake ends it with one line and exit status 2 (a bad run with 1),
    after `on_user_error` (e.g. removing the empty run folder the command had made)."""
    log = logging.getLogger("mmagan")
    try:
        return command()
    except tuple(USER_ERRORS) as e:
        label = next(text for kind, text in USER_ERRORS.items() if isinstance(e, kind))
        log.error("%s: %s", label, e)
        if on_user_error is not None:
            on_user_error()
        sys.exit(2)
    except NonFiniteLossError as e:
        log.error("training stopped: %s", e)
        sys.exit(1)
