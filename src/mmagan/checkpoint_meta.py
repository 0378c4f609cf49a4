"""What a training checkpoint carries besides the weights and optimizer states, under "mmagan":
the config and sample shape that rebuild the nets without the run folder (load_generator), the
objective's running statistics and the random streams, so that a resumed run continues exactly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from mmagan import __version__

KEY = "mmagan"
#: state_dict keys renamed since (old -> new), so that older checkpoints still load.
RENAMED_STATE = {"pl_mean": "regularizers.pl.mean"}


class CheckpointMeta:
    def __init__(self, config: dict | None = None, sample_shape: Sequence[int] = ()) -> None:
        self.config = config or {}
        self.sample_shape = tuple(sample_shape)
        self.rng_to_restore: dict | None = None

    def write(self, checkpoint: dict[str, Any], objective: Any, train_figures: dict[str, float]) -> None:
        checkpoint[KEY] = {
            # the last log step's figures: a run resumed at its end (killed after its last
            # checkpoint) takes no step, and still reports them
            "train_figures": dict(train_figures),
            "version": __version__,
            "config": self.config,
            "sample_shape": list(self.sample_shape),
            "objective": objective.state_dict() if hasattr(objective, "state_dict") else {},
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            },
        }

    def read(self, checkpoint: dict[str, Any], objective: Any, state_keys: set[str]) -> dict[str, float]:
        """Restore the objective's statistics, keep the random streams for `restore_rng` (at the
        start of training, after Lightning has set its own), rename old state keys to those of
        `state_keys` (a key the module no longer has is dropped); returns the saved figures of the
        last log step."""
        meta = checkpoint.get(KEY, {})
        self.rng_to_restore = meta.get("rng")
        if meta.get("objective") and hasattr(objective, "load_state_dict"):
            objective.load_state_dict(meta["objective"])
        state = checkpoint.get("state_dict", {})
        for old, new in RENAMED_STATE.items():
            if old in state:
                value = state.pop(old)
                if new in state_keys:
                    state[new] = value
        return dict(meta.get("train_figures", {}))

    def restore_rng(self, rank: int, world_size: int) -> None:
        """Continue the random stream where the checkpointed run was: the latents and flips after
        resuming are those of an uninterrupted run."""
        if self.rng_to_restore is None:
            return
        torch.set_rng_state(self.rng_to_restore["torch"])
        if self.rng_to_restore.get("cuda") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(self.rng_to_restore["cuda"])
        self.rng_to_restore = None
        if world_size > 1:  # rank 0's stream was saved: the ranks part ways again
            torch.manual_seed(int(torch.randint(2**62, ())) + rank)
