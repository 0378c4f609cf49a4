"""Checkpoints written so that no crash, kill or full disk leaves a half file behind.

Lightning's TorchCheckpointIO hands the bytes to fsspec, which neither flushes them to the disk
before the rename nor says which path failed; a SIGKILL or a node failure soon after can then
leave a truncated last.ckpt that no resume can read. Local checkpoints here go through
`atomic_write` (temporary sibling, fsync, rename); remote URLs keep Lightning's path.
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO

from mmagan.runs.files import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    """TorchCheckpointIO whose local saves are atomic and durable."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or "://" in str(path):  # s3://, gs://: fsspec's own way
            return super().save_checkpoint(checkpoint, path, storage_options)
        atomic_write(path, lambda tmp: torch.save(checkpoint, tmp))
        return None
