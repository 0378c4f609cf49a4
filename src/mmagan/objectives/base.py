"""The seam between a GAN variant and the training step.

An objective turns discriminator outputs into the two losses; the LightningModule owns the step
order, the optimizers and logging. Adding a variant is one subclass here plus one config file.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from mmagan.checks import Checks

Losses = tuple[Tensor, dict[str, Tensor]]


class Objective:
    """D and G losses as pure functions of D's logits (shape (N, num_heads))."""

    name: str = "base"
    #: D's output width: K for MMA-GAN, 1 for the baselines.
    num_heads: int = 1
    #: Discriminator (critic) updates per generator update.
    d_steps: int = 1
    #: Latents in the separate batch whose D outputs reach `g_loss` as `div_logits`; 0 for none.
    diversity_batch_size: int = 0
    #: False where a per-sample D regulariser (a gradient penalty) rules out batch norm in D.
    d_batch_norm_ok: bool = True
    #: Samples D sees at once (PacGAN's m); D's input has this many times the data's channels.
    packing: int = 1
    #: Whether D's outputs are K sigmoid heads worth showing one by one (MMA-GAN's): the inspection
    #: figures and the painting page draw their activations.
    sigmoid_heads: bool = False
    #: Generators behind G (MAD-GAN's k; nets.multi_generator): a batch is split among them.
    num_generators: int = 1
    #: Whether those generators share every layer but the last.
    share_generators: bool = False
    #: Whether D judges something other than samples (VEEGAN's (latent, sample) pairs): the D
    #: regularisers, which differentiate D with respect to samples, are refused with it.
    d_judges_pairs: bool = False
    #: Its part in a study: "studied" (the method the report ranks against the best baseline,
    #: MMA-GAN), "baseline" (the paper's baselines) or "remedy" (the literature's remedies).
    role: str = "baseline"
    #: Config parameters the report shows in columns of their own (and in the row's label) instead
    #: of as changed parameters: MMA-GAN's K, lambda and tau; PacGAN's packing.
    report_columns: tuple[str, ...] = ()
    #: Options whose changes from the defaults name a variant of the method (MMA-GAN's head
    #: assignment, hinge, ...): the class's `variant` property, built from those options, names it.
    variant_options: tuple[str, ...] = ()
    #: The checks of this objective's own config parameters (model.objective.<key>), run before
    #: training by config/validation.py: key -> (predicate, what is allowed).
    checks: Checks = {}

    @property
    def steps_per_iteration(self) -> int:
        """Optimizer steps in one generator iteration: d_steps D updates and one G update."""
        return self.d_steps + 1

    def iteration(self, global_step: int) -> int:
        """Generator iterations done after Lightning's `global_step` optimizer steps: the one formula
        for the iteration count (the training step, checkpoints, the checkpoint callback)."""
        return global_step // self.steps_per_iteration

    def pack(self, x: Tensor) -> Tensor:
        """What D is given for a batch of samples x; x itself except for packing objectives."""
        return x

    def real_input(self, real: Tensor, generator: torch.nn.Module) -> Tensor:
        """What D judges for a real batch: the samples themselves by default; VEEGAN's pair of the
        reconstructed latent and the sample."""
        return real

    def fake_input(self, fake: Tensor, z: Tensor) -> Tensor:
        """What D judges for fakes made from latents z: the samples by default; VEEGAN's (z, G(z))."""
        return fake

    def wrap_nets(
        self, generator: torch.nn.Module, discriminator: torch.nn.Module, net_cfg, sample_shape
    ) -> tuple[torch.nn.Module, torch.nn.Module]:
        """The nets this objective trains, from the net family's G and D: those by default;
        VEEGAN adds a reconstructor to G and gives D pairs. Called wherever nets are built
        (training, checkpoints, inspection), so every path builds the same nets."""
        return generator, discriminator

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Losses:
        """D's loss on its logits for a real and a fake batch, each (N, K): the loss to minimise and
        the figures to log (detached tensors, by name)."""
        raise NotImplementedError

    def regularizers(self) -> list:
        """Regularisers that are part of this objective's definition (WGAN-GP's gradient penalty),
        run by the step like those chosen by config (regularizers/base.py); none by default."""
        return []

    def g_judge(
        self, discriminator: torch.nn.Module, judge: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor
    ) -> Callable[[Tensor], Tensor]:
        """The D that G's loss is taken against, as a function of samples: `judge` (D as it is
        after this iteration's D step) by default. `real` is the last D step's real batch and
        `fake` G's samples with gradient, for objectives that look ahead (Unrolled GAN)."""
        return judge

    def g_loss(self, fake_logits: Tensor, div_logits: Tensor | None = None) -> Losses:
        """G's loss on D's logits for fakes (N, K), and for the separate diversity batch where
        `diversity_batch_size` > 0: the loss to minimise and the figures to log."""
        raise NotImplementedError

    def diagnostics(
        self, real_logits: Tensor, fake_logits: Tensor, div_logits: Tensor | None
    ) -> dict[str, Tensor]:
        """Figures about D's outputs for the loggers, computed on log steps only; none by default."""
        return {}

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


def check_logits(logits: Tensor, num_heads: int, what: str) -> None:
    """Refuse logits that are not (N, num_heads), naming `what` (real / fake) and the shape given."""
    if logits.ndim != 2 or logits.shape[1] != num_heads:
        raise ValueError(f"{what}: expected D logits of shape (N, {num_heads}), got {tuple(logits.shape)}")


def mean_bce_with_logits(logits: Tensor, target: float) -> Tensor:
    """Mean over samples and heads of -log D (target 1) or -log(1 - D) (target 0), from logits."""
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))
