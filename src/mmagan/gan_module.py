"""The two-optimizer GAN training step, shared by every objective."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from mmagan.checkpoint_meta import CheckpointMeta
from mmagan.ema import GeneratorAverage
from mmagan.lazy_adam import lazy_adam
from mmagan.loss_guard import LossGuard
from mmagan.module_settings import ModuleSettings
from mmagan.objectives.base import Objective
from mmagan.optimizer_calls import OptimizerCalls
from mmagan.regularizers.base import PhaseBatch, Regularizer


@dataclass
class Phase:
    """One phase's outcome: its loss, the figures to log, what its regularisers saw, D's logits."""

    loss: Tensor
    terms: dict[str, Tensor]
    batch: PhaseBatch
    logits: Tensor
    div_logits: Tensor | None = None


class GANModule(L.LightningModule):
    """D step(s) then G step, in manual optimization.

    One training step is one generator iteration: `objective.d_steps` discriminator updates (each
    on its own slice of the real batch) followed by one generator update; a lazy regulariser that
    is due adds its own step after its phase. Lightning's global_step counts the main steps, so
    `iteration = global_step // steps_per_iteration`.

    An iteration that does not log never reads a tensor on the host: its losses are copied to a
    ring on the device and checked at log steps, validation, checkpoints and the end; the EMA
    update is a device-side lerp; loss terms and diagnostics are computed on log steps only.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        objective: Objective,
        settings: ModuleSettings,
        regularizers: Sequence[Regularizer] = (),
        meta: CheckpointMeta | None = None,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.generator, self.discriminator, self.objective = generator, discriminator, objective
        self.settings = settings
        self.regularizers = nn.ModuleDict({r.name: r for r in regularizers})
        self.generator_ema: nn.Module | None = None
        if settings.ema.decay is not None:
            self.generator_ema = copy.deepcopy(generator).requires_grad_(False)
        self.average = GeneratorAverage(settings.ema)
        self.meta = meta or CheckpointMeta()
        self.calls = OptimizerCalls()
        # The losses' finiteness, checked on the device's ring at log steps and every few seconds.
        self.loss_guard = LossGuard(settings.log_every, settings.loss_check_seconds)
        # Fixed latents for evaluation: the same samples at every validation, for every metric.
        ev = settings.evaluation
        g = torch.Generator().manual_seed(ev.seed)
        self.register_buffer(
            "eval_latents", torch.randn(ev.samples, settings.latent_dim, generator=g), persistent=False
        )
        self.last_eval_iteration = -1
        # The figures of the last log step (losses, loss terms, head diagnostics), by logged name.
        self.train_figures: dict[str, float] = {}

    # ----------------------------------------------------------------------------------- counting
    @property
    def steps_per_iteration(self) -> int:
        return self.objective.steps_per_iteration

    @property
    def iteration(self) -> int:
        """Generator updates done so far (restored with the checkpoint through global_step)."""
        return self.objective.iteration(self.global_step)

    @property
    def latent_dim(self) -> int:
        return self.settings.latent_dim

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return self.meta.sample_shape

    # ----------------------------------------------------------------------------------- sampling
    @property
    def eval_generator(self) -> nn.Module:
        """G's EMA weights where enabled, else G: what evaluation and sample snapshots use."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    def sample_latents(self, n: int) -> Tensor:
        """n standard normal latents on the module's device."""
        return torch.randn(n, self.latent_dim, device=self.device)

    def forward(self, z: Tensor) -> Tensor:
        return self.eval_generator(z)

    def judge(self, x: Tensor) -> Tensor:
        """D on what the objective shows it (PacGAN: packs of m)."""
        return self.discriminator(self.objective.pack(x))

    def eval_dataloader(self) -> DataLoader:
        """Validation batches: indices into the fixed evaluation latents (each DDP rank a share)."""
        ev = self.settings.evaluation
        return DataLoader(TensorDataset(torch.arange(ev.samples)), batch_size=ev.batch_size)

    # ----------------------------------------------------------------------------------- training
    def in_phase(self, phase: str, lazy: bool) -> list[Regularizer]:
        return [r for r in self.regularizers.values() if r.phase == phase and r.lazy == lazy]

    def configure_optimizers(self):
        opt = self.settings.optimizer
        lazy = lambda phase: [r.interval for r in self.in_phase(phase, lazy=True)]  # noqa: E731
        opt_d = lazy_adam(self.discriminator.parameters(), opt.lr_d, opt.betas, opt.impl, lazy("D"))
        opt_g = lazy_adam(self.generator.parameters(), opt.lr_g, opt.betas, opt.impl, lazy("G"))
        return [opt_d, opt_g]

    def setup(self, stage: str) -> None:
        self.average.forget_tensors()  # the nets may move to another device or memory format
        if self.settings.channels_last:
            for net in (self.generator, self.discriminator, self.generator_ema):
                if net is not None:
                    net.to(memory_format=torch.channels_last)

    def on_fit_start(self) -> None:
        # Under DDP every rank starts from the same seed; give each its own latents so the ranks'
        # fakes differ (parameters are still broadcast from rank 0).
        if self.trainer.world_size > 1:
            torch.manual_seed(torch.initial_seed() + self.global_rank)

    def on_train_start(self) -> None:
        self.calls.attach(self)
        self.loss_guard.start(self.iteration)
        self.meta.restore_rng(self.global_rank, self.trainer.world_size)

    def is_log_step(self) -> bool:
        """Lightning's own rule for when training values reach the loggers, and the last iteration
        (so that every run ends with its final losses in metrics.json)."""
        max_steps = self.trainer.max_steps
        last = max_steps > 0 and self.iteration + 1 >= max_steps // self.steps_per_iteration
        return (self.iteration + 1) % self.settings.log_every == 0 or last

    def training_step(self, batch, batch_idx: int) -> None:
        real = batch[0] if isinstance(batch, (list, tuple)) else batch
        if self.settings.channels_last and real.ndim == 4:
            real = real.contiguous(memory_format=torch.channels_last)
        done, log_now = self.iteration + 1, self.is_log_step()
        opt_d, opt_g = self.optimizers()
        for real_chunk in real.chunk(self.objective.d_steps):
            d = self.d_step(opt_d, real_chunk)
        lazy_terms = self.lazy_step("D", opt_d, d.batch, done)
        g = self.g_step(opt_g, d.batch)
        lazy_terms.update(self.lazy_step("G", opt_g, g.batch, done))
        if self.generator_ema is not None:
            self.average.update(self.generator_ema, self.generator, done)
        self.loss_guard.record(done, d.loss, g.loss)
        if self.loss_guard.due(done, log_now):
            self.check_finite()
        if log_now:
            self.log_iteration(d, g, lazy_terms, step=done - 1)

    def d_step(self, opt_d, real: Tensor) -> Phase:
        """One D update on a real batch and fakes from fresh latents, with D's every-step
        regularisers (a gradient penalty; R1 at interval 1)."""
        with self.calls.training_only(opt_d):
            z = self.sample_latents(real.shape[0])
            with torch.no_grad():
                fake = self.generator(z)
            obj = self.objective
            real_logits = self.judge(obj.real_input(real, self.generator))
            loss, terms = obj.d_loss(real_logits, self.judge(obj.fake_input(fake, z)))
            batch = PhaseBatch(self.generator, self.judge, real, z, fake)
            loss, terms = self.add_every_step("D", batch, loss, terms)
            self.update(opt_d, loss)
        return Phase(loss, terms, batch, real_logits)

    def g_step(self, opt_g, d_batch: PhaseBatch) -> Phase:
        """One G update on the last D step's latents, now with gradient (see the method spec). The
        diversity batch is a second G pass, never concatenated with the first: with batch norm in G,
        each pass is normalised by its own statistics, as the method specifies."""
        obj, G = self.objective, self.generator
        with self.calls.training_only(opt_g):
            fake = G(d_batch.z)
            judge = obj.g_judge(self.discriminator, self.judge, d_batch.real, fake)
            fake_logits = judge(obj.fake_input(fake, d_batch.z))
            div_logits = None
            if obj.diversity_batch_size > 0:
                z_div = self.sample_latents(obj.diversity_batch_size)
                div_logits = judge(obj.fake_input(G(z_div), z_div))
            loss, terms = obj.g_loss(fake_logits, div_logits)
            batch = PhaseBatch(G, judge, d_batch.real, d_batch.z, fake)
            loss, terms = self.add_every_step("G", batch, loss, terms)
            self.update(opt_g, loss)
        return Phase(loss, terms, batch, fake_logits, div_logits)

    def add_every_step(self, phase: str, batch: PhaseBatch, loss: Tensor, terms: dict) -> tuple[Tensor, dict]:
        for regularizer in self.in_phase(phase, lazy=False):
            penalty, reg_terms = regularizer(batch)
            loss, terms = loss + penalty, {**terms, **reg_terms}
        return loss, terms

    def lazy_step(self, phase: str, optimizer, batch: PhaseBatch, done: int) -> dict[str, Tensor]:
        """StyleGAN2's Dreg / Greg: the lazy regularisers due at this iteration, their penalties
        times their intervals, in a step of their own that global_step does not count."""
        due = [r for r in self.in_phase(phase, lazy=True) if r.due(done)]
        if not due:
            return {}
        terms: dict[str, Tensor] = {}
        with self.calls.training_only(optimizer):
            total = 0
            for regularizer in due:
                penalty, reg_terms = regularizer(batch)
                total, terms = total + penalty * regularizer.interval, {**terms, **reg_terms}
            self.update(optimizer, total, counted=False)
        return terms

    def update(self, optimizer, loss: Tensor, counted: bool = True) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.calls.backward(loss)
        (self.calls.step if counted else self.calls.step_uncounted)(optimizer)

    def log_iteration(self, d: Phase, g: Phase, lazy_terms: dict, step: int) -> None:
        """A log step's figures to the loggers and to `train_figures` (metrics.json) in one host
        read. Lightning's self.log re-checks and re-moves its record at every call: for the 26
        figures of K = 8 that costs about as much as a ring MLP step, or several GPU steps, at every
        log step. Only the loss pair, for the progress bar, takes it."""
        losses = {"loss_d": d.loss.detach(), "loss_g": g.loss.detach()}
        self.log_dict({f"train/{k}": v for k, v in losses.items()}, prog_bar=True, logger=False)
        figures = {**losses, **d.terms, **lazy_terms, **g.terms}
        figures.update(self.objective.diagnostics(d.logits.detach(), g.logits.detach(), g.div_logits))
        values = torch.stack([v.detach().float() for v in figures.values()]).tolist()
        self.train_figures = {f"train/{k}": v for k, v in zip(figures, values)}
        for logger in self.loggers:  # at Lightning's step and with its epoch column, as self.log would
            logger.log_metrics({**self.train_figures, "epoch": self.current_epoch}, step=step)
            logger.save()

    def check_finite(self) -> None:
        """Raise NonFiniteLossError if a loss went NaN or infinite since the last check (LossGuard).
        Called where the loss guard is due, at validation, checkpoints and the end."""
        self.loss_guard.check(self.iteration)

    # ------------------------------------------------------------------------------ checkpointing
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.check_finite()  # never a checkpoint of a broken state
        self.meta.write(checkpoint, self.objective, self.train_figures)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.train_figures = self.meta.read(checkpoint, self.objective, set(self.state_dict()))

    # --------------------------------------------------------------------------------- evaluation
    def on_validation_epoch_start(self) -> None:
        if not self.trainer.sanity_checking:
            self.check_finite()

    def validation_step(self, batch, batch_idx: int) -> Tensor:
        (indices,) = batch
        return self.eval_generator(self.eval_latents[indices])

    def on_validation_epoch_end(self) -> None:
        self.last_eval_iteration = self.iteration

    def on_train_end(self) -> None:
        self.check_finite()
