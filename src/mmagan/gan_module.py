"""The two-optimizer GAN training step, shared by every objective."""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from mmagan.errors import NonFiniteLossError
from mmagan.objectives.base import Objective


class GANModule(L.LightningModule):
    """D step(s) then G step, in manual optimization.

    One training step is one generator iteration: `objective.d_steps` discriminator updates (each
    on its own slice of the real batch) followed by one generator update. Lightning's global_step
    counts every optimizer step, so `iteration = global_step // steps_per_iteration`.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        objective: Objective,
        latent_dim: int,
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas: Sequence[float] = (0.5, 0.999),
        ema_decay: float | None = None,
        ema_start_iteration: int = 0,
        eval_samples: int = 2500,
        eval_seed: int = 1234,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.generator = generator
        self.discriminator = discriminator
        self.objective = objective
        self.latent_dim = latent_dim
        self.lr_g, self.lr_d, self.betas = lr_g, lr_d, tuple(betas)
        self.ema_start_iteration = ema_start_iteration
        self.last_eval_iteration = -1
        self.generator_ema: AveragedModel | None = None
        if ema_decay is not None:
            self.generator_ema = AveragedModel(
                generator, multi_avg_fn=get_ema_multi_avg_fn(ema_decay), use_buffers=True
            )
            self.generator_ema.requires_grad_(False)
        # Fixed latents for evaluation: the same samples at every validation, for every metric.
        g = torch.Generator().manual_seed(eval_seed)
        self.register_buffer(
            "eval_latents", torch.randn(eval_samples, latent_dim, generator=g), persistent=False
        )

    # ----------------------------------------------------------------------------------- counting
    @property
    def steps_per_iteration(self) -> int:
        return self.objective.d_steps + 1

    @property
    def iteration(self) -> int:
        """Generator updates done so far (restored with the checkpoint through global_step)."""
        return self.global_step // self.steps_per_iteration

    # ----------------------------------------------------------------------------------- sampling
    @property
    def eval_generator(self) -> nn.Module:
        """G's EMA weights where enabled, else G: what evaluation and sample snapshots use."""
        return self.generator_ema.module if self.generator_ema is not None else self.generator

    def sample_latents(self, n: int) -> Tensor:
        return torch.randn(n, self.latent_dim, device=self.device)

    def forward(self, z: Tensor) -> Tensor:
        return self.eval_generator(z)

    # ----------------------------------------------------------------------------------- training
    def configure_optimizers(self):
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=self.lr_d, betas=self.betas)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=self.lr_g, betas=self.betas)
        return [opt_d, opt_g]

    def on_fit_start(self) -> None:
        # Under DDP every rank starts from the same seed; give each its own latents so the ranks'
        # fakes differ (parameters are still broadcast from rank 0).
        if self.trainer.world_size > 1:
            torch.manual_seed(torch.initial_seed() + self.global_rank)

    def training_step(self, batch, batch_idx: int) -> None:
        real = batch[0] if isinstance(batch, (list, tuple)) else batch
        opt_d, opt_g = self.optimizers()
        obj, G, D = self.objective, self.generator, self.discriminator

        for real_chunk in real.chunk(obj.d_steps):
            with self.toggled_optimizer(opt_d):
                z = self.sample_latents(real_chunk.shape[0])
                with torch.no_grad():
                    fake = G(z)
                loss_d, d_terms = obj.d_loss(D(real_chunk), D(fake))
                reg, reg_terms = obj.d_regularizer(D, real_chunk, fake)
                loss_d = loss_d + reg
                opt_d.zero_grad(set_to_none=True)
                self.manual_backward(loss_d)
                opt_d.step()

        with self.toggled_optimizer(opt_g):
            # The same latents as the last D step, now with gradient (see the method spec).
            fake_logits = D(G(z))
            m = obj.diversity_batch_size
            div_logits = D(G(self.sample_latents(m))) if m > 0 else None
            loss_g, g_terms = obj.g_loss(fake_logits, div_logits)
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(loss_g)
            opt_g.step()

        if self.generator_ema is not None:
            if self.iteration <= self.ema_start_iteration:
                self.generator_ema.n_averaged.zero_()  # copy G until the EMA starts
            self.generator_ema.update_parameters(G)

        self._stop_if_not_finite(loss_d, loss_g)
        self.log_dict({"train/loss_d": loss_d.detach(), "train/loss_g": loss_g.detach()}, prog_bar=True)
        terms = {**d_terms, **reg_terms, **g_terms}
        self.log_dict({f"train/{k}": v for k, v in terms.items()})

    def _stop_if_not_finite(self, loss_d: Tensor, loss_g: Tensor) -> None:
        if not bool(torch.isfinite(loss_d.detach()) & torch.isfinite(loss_g.detach())):
            raise NonFiniteLossError(
                f"non-finite loss at iteration {self.iteration} (global step {self.global_step}): "
                f"loss_d={loss_d.item():.4g}, loss_g={loss_g.item():.4g}; "
                "the last checkpoint before this point is kept"
            )

    # --------------------------------------------------------------------------------- evaluation
    def validation_step(self, batch, batch_idx: int) -> Tensor:
        (indices,) = batch
        return self.eval_generator(self.eval_latents[indices])

    def on_validation_epoch_end(self) -> None:
        self.last_eval_iteration = self.iteration
