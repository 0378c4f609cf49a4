"""Backward passes and optimizer steps for the manual training step.

Lightning's `manual_backward` and `LightningOptimizer.step` dispatch hooks around
`loss.backward()` and `optimizer.step()` on every call. Where nothing listens (one device, no
gradient scaler, no backward or optimizer-step hook in a callback or the module), the step makes
the bare calls and saves that dispatch on every step (benchmarks/step_throughput.py measures it);
DDP, 16-mixed and any listener keep Lightning's path. This is the only file that touches
Lightning's private API: the two calls by which `LightningOptimizer.step` counts a step
(`_on_before_step`, `_on_after_step`); tests/test_optimizer_calls.py fails if they change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import lightning as L
import torch
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.plugins.precision import MixedPrecision, Precision
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.utilities.model_helpers import is_overridden
from torch import Tensor, nn

HOOKS = ("on_before_backward", "on_after_backward", "backward", "on_before_optimizer_step")


def counts_steps(optimizer: LightningOptimizer) -> bool:
    """Whether `optimizer` has the two private calls by which Lightning counts a step."""
    return hasattr(optimizer, "_on_before_step") and hasattr(optimizer, "_on_after_step")


def dispatch_idle(module: L.LightningModule) -> bool:
    """Whether Lightning's backward and step dispatch would reach no listener (see the module doc)."""
    trainer = module.trainer
    plugin = trainer.precision_plugin
    plain_precision = type(plugin) is Precision or (type(plugin) is MixedPrecision and plugin.scaler is None)
    listened = any(
        is_overridden(hook, obj, L.Callback if obj is not module else L.LightningModule)
        for obj in [*trainer.callbacks, module]
        for hook in HOOKS
        if hasattr(obj, hook)
    )
    counted = all(counts_steps(opt) for opt in module.optimizers())
    return type(trainer.strategy) is SingleDeviceStrategy and plain_precision and not listened and counted


class OptimizerCalls:
    """The step's backward, counted step, uncounted step (a lazy regulariser's own phase) and the
    freezing of every other optimizer's parameters while one optimizer's loss is built."""

    def __init__(self) -> None:
        self.direct = False
        self._module: L.LightningModule | None = None
        self._frozen_while: dict[torch.optim.Optimizer, list[nn.Parameter]] = {}

    def attach(self, module: L.LightningModule) -> None:
        """At the start of a fit: choose the path and list each optimizer's others' parameters."""
        self._module = module
        self.direct = dispatch_idle(module)
        optimizers = module.trainer.optimizers
        own = {opt: {id(p) for g in opt.param_groups for p in g["params"]} for opt in optimizers}
        every = {id(p): p for opt in optimizers for g in opt.param_groups for p in g["params"]}
        self._frozen_while = {opt: [p for i, p in every.items() if i not in own[opt]] for opt in optimizers}

    def backward(self, loss: Tensor) -> None:
        if self.direct:
            loss.backward()
        else:
            self._module.manual_backward(loss)

    def step(self, optimizer: LightningOptimizer) -> None:
        """One step that Lightning counts in global_step (a D or G main step)."""
        if self.direct:  # LightningOptimizer.step without the strategy's hook dispatch
            optimizer._on_before_step()
            optimizer.optimizer.step()
            optimizer._on_after_step()
        else:
            optimizer.step()

    def step_uncounted(self, optimizer: LightningOptimizer) -> None:
        """One step that global_step does not count: StyleGAN2's separate regularisation phases
        (Dreg, Greg), so that `iteration = global_step // steps_per_iteration` holds."""
        if self.direct:
            optimizer.optimizer.step()
        else:  # through the strategy (gradient scaler, DDP), without the counting calls
            self._module.trainer.strategy.optimizer_step(optimizer.optimizer, lambda: None)

    @contextmanager
    def training_only(self, optimizer: LightningOptimizer) -> Iterator[None]:
        """`optimizer`'s loss built and backpropagated with every other optimizer's parameters
        frozen, so that no gradient is computed for them. Lightning's toggled_optimizer does the
        same but walks every parameter of every optimizer twice per call."""
        frozen = [p for p in self._frozen_while[optimizer.optimizer] if p.requires_grad]
        for p in frozen:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in frozen:
                p.requires_grad_(True)
