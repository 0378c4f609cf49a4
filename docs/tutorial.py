# %% [markdown]
# # Tutorial: from a run to its samples, paths, comparisons and a painted image
#
# A notebook in script form (jupytext's percent format: `jupytext --to ipynb docs/tutorial.py`
# makes it a notebook). It trains two tiny runs on the offline single digits (seconds on a CPU),
# then works from their folders alone, as a notebook would after a sweep. The test suite runs it
# from top to bottom (`tests/test_tutorial.py`).

# %%
from pathlib import Path

import torch

from mmagan import load_generator, to_uint8
from mmagan.config import compose
from mmagan.train import train

WORK = Path("tutorial_runs")
TINY = ["data=digits", "data.num_samples=200", "data.batch_size=16", "net=dcgan", "net.g_width=8"]
TINY += ["net.d_width=8", "logger=csv", "callbacks.progress_bar.refresh_rate=0", "iterations=4"]
TINY += ["eval.num_samples=32", "eval.batch_size=32", f"paths.data_dir={WORK / 'data'}"]

# %% [markdown]
# ## Train MMA-GAN and a baseline
# `compose` is what `mmagan-train` composes from the command line; `train` runs it and returns the
# final figures (also in `<run>/metrics.json`). The config is saved where the command line's
# Hydra saves it, `.hydra/config.yaml`, which the listing and the report read.

# %%
from omegaconf import OmegaConf  # noqa: E402

runs = {}
for model in ("mmagan", "dcgan"):
    cfg = compose("train", [*TINY, f"model={model}", f"paths.output_dir={WORK / model}"])
    train(cfg)
    (WORK / model / ".hydra").mkdir()
    OmegaConf.save(cfg, WORK / model / ".hydra" / "config.yaml")
    runs[model] = WORK / model
print({name: sorted(p.name for p in folder.iterdir()) for name, folder in runs.items()})

# %% [markdown]
# ## Load a checkpoint and sample
# The checkpoint alone rebuilds G (its config travels inside it); the same seed gives the same
# samples on any machine.

# %%
g = load_generator(runs["mmagan"] / "checkpoints" / "last.ckpt")
images = g.sample(8, seed=0)  # (8, 1, 32, 32) in [-1, 1]
assert torch.equal(images, g.sample(8, seed=0))
print(g.iteration, tuple(images.shape), to_uint8(images).dtype)

# %% [markdown]
# ## Interpolate between two latents
# A spherical path between the latents of seeds 0 and 1; its ends are exactly those samples.

# %%
from mmagan.inspect.paths import latent_path  # noqa: E402

ends = [g.latents(1, seed=s)[0] for s in (0, 1)]
frames = g(latent_path(ends, steps=6, kind="spherical"))
assert torch.allclose(frames[0], g.sample(1, seed=0)[0], atol=1e-5)
print(tuple(frames.shape))

# %% [markdown]
# ## Compare two runs from their folders
# The listing reads each folder's config and metrics; the report groups runs by configuration and
# ranks them (here one seed each, so no interval yet).

# %%
from mmagan.report.tables import build_rows  # noqa: E402
from mmagan.runs.listing import find_runs, finished  # noqa: E402

records = finished(find_runs(list(runs.values())))
assert {r.method for r in records} == {"mmagan", "dcgan"}
rows = build_rows(records, ["modes/modes", "modes/kl"])
for row in sorted(rows, key=lambda r: r.rank):
    print(row.rank, row.label, {m: round(s.mean, 3) for m, s in row.summaries.items()})

# %% [markdown]
# ## Paint one activation vector
# Collect the activation vectors of one of G's layers, then write one of them into the top-left
# quarter of that layer for the base latent: only the pixels that layer reaches change.

# %%
from mmagan.inspect.paint import Stroke, paint  # noqa: E402
from mmagan.inspect.vectors import collect  # noqa: E402

bank = collect(g, "main.5", n=4, seed=0)
_, h, w = bank.layer.shape
labels = torch.full((h, w), -1)  # -1: keep G's own activations
labels[: h // 2, : w // 2] = 0  # label 0: the first colour of the palette
base, painted = paint(g, bank, labels, ["#ff0000"], {"#ff0000": Stroke(bank.vectors[0], grid=0)}, base_seed=3)
changed = (painted - base).abs().sum(0) > 1e-6
far = int(changed[24:, 24:].sum())
print(f"{int(changed.sum())} of {changed.numel()} pixels changed, {far} in the far quarter")
assert changed[:8, :8].all() and not changed[24:, 24:].any()
