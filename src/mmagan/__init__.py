"""mmagan: experiments on mode collapse in GANs, MMA-GAN and its baselines."""

__version__ = "0.1.0"
