"""Errors that end a run with one clear line instead of a stack trace."""


class ConfigError(ValueError):
    """A config value is out of range or unknown; raised before training starts."""


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the run stops and keeps its last good checkpoint."""


class DataError(ValueError):
    """A data set is missing, empty or unreadable; raised before training starts."""
