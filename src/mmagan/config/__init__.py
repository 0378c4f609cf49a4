"""The config: where it lives, composing it, its resolvers and its validation."""

from mmagan.config.compose import compose, config_dir
from mmagan.config.resolvers import register_resolvers

# Registered on import, not in a command's main(): a Ray or SLURM worker unpickles the task
# function in a fresh process and resolves the job folder name before any mmagan code runs there.
register_resolvers()

__all__ = ["compose", "config_dir", "register_resolvers"]
