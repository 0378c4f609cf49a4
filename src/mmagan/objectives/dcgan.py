"""Radford et al. (2016): the DCGAN baseline, trained with the non-saturating GAN loss."""

from mmagan.objectives.gan import GANObjective


class DCGANObjective(GANObjective):
    """The non-saturating GAN loss with one head; the DCGAN baseline of the paper's tables."""

    name = "dcgan"
    checks = {}

    def __init__(self) -> None:
        super().__init__(non_saturating=True)
