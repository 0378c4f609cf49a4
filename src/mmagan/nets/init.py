"""DCGAN weight initialisation (Radford et al. 2016)."""

from torch import nn


def dcgan_init(module: nn.Module) -> None:
    """Conv and linear weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02), biases zero."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
