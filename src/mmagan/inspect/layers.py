"""G's layers by module path or index, with the shape of what each one outputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from mmagan.errors import InspectError  # noqa: F401 - the inspect modules raise it from here


@dataclass(frozen=True)
class Layer:
    """A module of G by its dotted name, with its type and output shape for one latent."""

    index: int
    path: str
    shape: tuple[int, ...]  # (C, H, W) of one sample's output
    kind: str = ""  # the module's class, e.g. ReLU: what the output is
    is_output: bool = False  # its output is G's output (the image): nothing left to decode it

    @property
    def spatial(self) -> bool:
        return len(self.shape) == 3


@torch.no_grad()
def list_layers(net: nn.Module, latent_dim: int) -> list[Layer]:
    """Every submodule of G that outputs a tensor, in the order a forward pass reaches it."""
    seen: list[tuple[str, str, Tensor]] = []
    hooks = [
        module.register_forward_hook(
            lambda m, i, out, path=path: (
                seen.append((path, type(m).__name__, out)) if torch.is_tensor(out) else None
            )
        )
        for path, module in net.named_modules()
        if path
    ]
    was_training = net.training
    try:
        net.eval()
        device = next(iter(net.parameters())).device
        result = net(torch.zeros(1, latent_dim, device=device))
    finally:
        net.train(was_training)
        for h in hooks:
            h.remove()
    return [
        Layer(i, path, tuple(out.shape[1:]), kind, out is result) for i, (path, kind, out) in enumerate(seen)
    ]


def find_layer(net: nn.Module, latent_dim: int, name: str | int) -> Layer:
    """The layer named by module path or index; a spatial (C, H, W) one."""
    layers = list_layers(net, latent_dim)
    key = str(name)
    match = [layer for layer in layers if layer.path == key or str(layer.index) == key]
    if not match:
        listing = ", ".join(f"{layer.index}:{layer.path}{list(layer.shape)}" for layer in layers)
        raise InspectError(f"layer {name!r} is not a layer of this generator; its layers: {listing}")
    if not match[0].spatial:
        raise InspectError(f"layer {name!r} outputs {list(match[0].shape)}, not (C, H, W): pick a conv layer")
    if match[0].is_output:
        raise InspectError(f"layer {name!r} is G's output (the image itself): pick a hidden layer before it")
    return match[0]


def require_file(path, option: str) -> None:
    """A one-line error when `path` is not a file, naming the option that gave it."""
    if not Path(path).is_file():
        raise InspectError(f"{option} {path} is not a file")


def module_at(net: nn.Module, layer: Layer) -> nn.Module:
    """The submodule of `net` that `layer` names (its dotted path)."""
    return net.get_submodule(layer.path)
