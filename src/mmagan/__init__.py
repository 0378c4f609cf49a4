"""mmagan: experiments on mode collapse in GANs, MMA-GAN and its baselines.

from mmagan import load_generator, to_uint8
g = load_generator("outputs/train/runs/<run>/checkpoints/last.ckpt", ema=True, device="cpu")
images = g.sample(16, seed=0)          # (16, C, H, W) in [-1, 1]
"""

__version__ = "0.1.0"

__all__ = ["__version__", "load_generator", "to_uint8"]


def __getattr__(name: str):
    # Imported on first use: `import mmagan` stays light for the config tools and launchers.
    if name == "load_generator":
        from mmagan.runs.checkpoints import load_generator

        return load_generator
    if name == "to_uint8":
        from mmagan.sampler import to_uint8

        return to_uint8
    raise AttributeError(f"module 'mmagan' has no attribute {name!r}")
