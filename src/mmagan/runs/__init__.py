"""Run folders: their files, job names, sweeps, listings, and the checkpoints they hold."""
