"""The one way a config chooses a class by name (objectives, nets, data sets): a Registry maps the
names a config key accepts to what builds them, and says which names exist when one is unknown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(dict[str, T], Generic[T]):
    """name -> class or builder for the config key `key` (e.g. "net.name")."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def add(self, name: str, entry: T) -> T:
        """Make `entry` selectable as <key>=<name>; a name is never silently taken over."""
        if name in self and self[name] is not entry:
            raise KeyError(f"{self.key} {name!r} is taken by {getattr(self[name], '__name__', self[name])}")
        self[name] = entry
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of `add`."""
        return lambda entry: self.add(name, entry)

    def pick(self, name: str) -> T:
        """The entry of `name`, or a KeyError that lists the known names."""
        if name not in self:
            raise KeyError(f"unknown {self.key} {name!r}; known: {sorted(self)}")
        return self[name]
