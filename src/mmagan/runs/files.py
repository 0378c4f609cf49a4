"""The one way mmagan writes files that others read while it runs, and names content by hash.

A dashboard, the report or a resumed job may read a file at any moment: every write goes to a
temporary sibling and is renamed into place, so a reader sees the old file or the new one, never
half of one, and a crash leaves the last complete version.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from mmagan.errors import OutputError


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call `write(tmp)` for a temporary file beside `path`, flush it to the disk, then rename it to
    `path`: a crash or a full disk at any moment leaves the old file or the new one, never half of
    one. A write that fails for want of space or permission raises OutputError naming `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)  # the rename itself reaches the disk
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS):
            kept = f"the previous {path.name} is kept" if path.exists() else "nothing was written"
            raise OutputError(f"cannot write {path}: {e.strerror or e}; {kept}") from e
        raise
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _fsync(path: Path) -> None:
    """Flush a file's (or a folder's entries') data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as e:  # some file systems cannot fsync a folder; the rename is still atomic
        if e.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def write_json(path: str | Path, data: dict) -> Path:
    """Atomic JSON. NaN and inf must be given as None (null): strict readers reject them."""
    text = json.dumps(data, indent=2) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def read_json(path: str | Path) -> dict:
    """The file's object, or {} when it is missing or unreadable (a job that never wrote it)."""
    path = Path(path)
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (json.JSONDecodeError, OSError):
        return {}


def finite_or_none(figures: dict[str, float]) -> dict[str, float | None]:
    """Figures with NaN and inf as None, which JSON writes as null."""
    return {k: (v if v is None or math.isfinite(v) else None) for k, v in figures.items()}


def merge_into_metrics(path: str | Path, figures: dict[str, float]) -> dict:
    """Add `figures` to an existing metrics.json (keeping what training wrote)."""
    merged = {**read_json(path), **finite_or_none(figures)}
    write_json(path, dict(sorted(merged.items())))
    return merged


def fingerprint(parts: Iterable[bytes | str]) -> str:
    """A short content key (12 hex digits of SHA-1) of `parts` in order, for caches and file names.
    Parts are consumed one at a time, so a generator of file chunks is never held whole."""
    h = hashlib.sha1()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
    return h.hexdigest()[:12]
