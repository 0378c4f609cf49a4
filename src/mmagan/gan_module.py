"""The two-optimizer GAN training step, shared by every objective."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import lightning as L
import torch
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.plugins.precision import MixedPrecision, Precision
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.utilities.model_helpers import is_overridden
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from mmagan import __version__
from mmagan.loss_guard import LossGuard
from mmagan.objectives.base import Objective
from mmagan.objectives.path_length import path_length_penalty
from mmagan.objectives.r1 import r1_penalty
from mmagan.regularizers import GRegularizer

log = logging.getLogger("mmagan")

OPTIMIZER_IMPLS = ("fused", "foreach", "single")


class GANModule(L.LightningModule):
    """D step(s) then G step, in manual optimization.

    One training step is one generator iteration: `objective.d_steps` discriminator updates (each
    on its own slice of the real batch) followed by one generator update. Lightning's global_step
    counts every optimizer step, so `iteration = global_step // steps_per_iteration`.

    An iteration that does not log never reads a tensor on the host: its losses are copied to a
    ring on the device and checked at log steps, validation, checkpoints and the end; the EMA
    update is a device-side lerp; loss terms and diagnostics are computed on log steps only.
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
        optimizer_impl: str = "fused",
        ema_decay: float | None = None,
        ema_start_iteration: int = 0,
        ema_half_life_kimg: float | None = None,
        ema_rampup: float | None = None,
        images_per_iteration: int = 64,
        eval_samples: int = 2500,
        eval_batch_size: int = 500,
        eval_seed: int = 1234,
        log_every_n_iterations: int = 50,
        channels_last: bool = False,
        run_config: dict | None = None,
        sample_shape: Sequence[int] = (),
        r1_gamma: float = 0.0,
        r1_interval: int = 16,
        pl_weight: float = 0.0,
        pl_interval: int = 4,
        pl_batch_shrink: int = 2,
        pl_decay: float = 0.01,
        loss_check_seconds: float = 2.0,
        g_regularizers: Sequence[GRegularizer] = (),
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.generator = generator
        self.discriminator = discriminator
        self.objective = objective
        self.latent_dim = latent_dim
        self.lr_g, self.lr_d, self.betas = lr_g, lr_d, tuple(betas)
        self.optimizer_impl = optimizer_impl
        self.ema_decay, self.ema_start_iteration = ema_decay, ema_start_iteration
        self.ema_half_life_kimg, self.ema_rampup = ema_half_life_kimg, ema_rampup
        # Real images one iteration's G step sees across all devices: the EMA's half-life counts them.
        self.images_per_iteration = images_per_iteration
        self.generator_ema: nn.Module | None = None
        if ema_decay is not None:
            self.generator_ema = copy.deepcopy(generator).requires_grad_(False)
        self.eval_samples, self.eval_batch_size, self.eval_seed = eval_samples, eval_batch_size, eval_seed
        self.log_every = max(1, log_every_n_iterations)
        self.channels_last = channels_last
        self.r1_gamma, self.r1_interval = r1_gamma, max(1, r1_interval)
        self.pl_weight, self.pl_interval = pl_weight, max(1, pl_interval)
        self.pl_batch_shrink, self.pl_decay = max(1, pl_batch_shrink), pl_decay
        # StyleGAN2's running mean of path lengths: a checkpointed buffer, updated on the device.
        self.register_buffer("pl_mean", torch.zeros(()))
        # What a checkpoint needs to rebuild the nets without the run folder (load_generator).
        self.run_config = run_config or {}
        self.sample_shape = tuple(sample_shape)
        self.last_eval_iteration = -1
        # Fixed latents for evaluation: the same samples at every validation, for every metric.
        g = torch.Generator().manual_seed(eval_seed)
        self.register_buffer(
            "eval_latents", torch.randn(eval_samples, latent_dim, generator=g), persistent=False
        )
        # The losses' finiteness, checked on the device's ring at log steps and every few seconds.
        self.loss_guard = LossGuard(self.log_every, loss_check_seconds)
        self.g_regularizers = list(g_regularizers)
        self._rng_to_restore: dict | None = None
        self._ema_lists: tuple[list[Tensor], ...] | None = None
        self._direct_calls = False
        self._frozen_while: dict[torch.optim.Optimizer, list[nn.Parameter]] = {}
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

    def eval_dataloader(self) -> DataLoader:
        """Validation batches: indices into the fixed evaluation latents (each DDP rank a share)."""
        return DataLoader(TensorDataset(torch.arange(self.eval_samples)), batch_size=self.eval_batch_size)

    # ----------------------------------------------------------------------------------- training
    def lazy_ratios(self) -> tuple[float, float]:
        """(c_D, c_G): StyleGAN2's correction for a regulariser applied every `interval` steps,
        c = interval / (interval + 1): Adam's lr times c and betas to the power c, so that the
        optimizer behaves as if the penalty were in every step. 1 where there is no lazy one."""
        ratio = lambda interval: interval / (interval + 1) if interval > 1 else 1.0  # noqa: E731
        c_d = ratio(self.r1_interval) if self.r1_gamma > 0 else 1.0
        c_g = ratio(self.pl_interval) if self.pl_weight > 0 else 1.0
        return c_d, c_g

    def configure_optimizers(self):
        impl = {"fused": {"fused": True}, "foreach": {"foreach": True}, "single": {"foreach": False}}
        kwargs = impl[self.optimizer_impl]
        c_d, c_g = self.lazy_ratios()

        def adam(params, lr: float, c: float) -> torch.optim.Adam:
            betas = tuple(b**c for b in self.betas)
            if c != 1.0:
                log.info(
                    "lazy regularisation: Adam lr %.4g -> %.4g, betas %s -> %s", lr, lr * c, self.betas, betas
                )
            return torch.optim.Adam(params, lr=lr * c, betas=betas, **kwargs)

        opt_d = adam(self.discriminator.parameters(), self.lr_d, c_d)
        opt_g = adam(self.generator.parameters(), self.lr_g, c_g)
        return [opt_d, opt_g]

    def setup(self, stage: str) -> None:
        self._ema_lists = None  # the nets may move to another device or memory format
        if self.channels_last:
            for net in (self.generator, self.discriminator, self.generator_ema):
                if net is not None:
                    net.to(memory_format=torch.channels_last)

    def on_fit_start(self) -> None:
        # Under DDP every rank starts from the same seed; give each its own latents so the ranks'
        # fakes differ (parameters are still broadcast from rank 0).
        if self.trainer.world_size > 1:
            torch.manual_seed(torch.initial_seed() + self.global_rank)

    def _lightning_dispatch_idle(self) -> bool:
        """Whether Lightning's manual_backward and optimizer step would only dispatch hooks no one
        listens to around `loss.backward()` and `optimizer.step()`: one device, no gradient
        scaler, no backward or optimizer-step hook in a callback or here. Where so, the step makes
        those calls itself and saves that dispatch on every step (measured by
        benchmarks/step_throughput.py); DDP, 16-mixed and any listener keep Lightning's path."""
        trainer = self.trainer
        plugin = trainer.precision_plugin
        plain_precision = type(plugin) is Precision or (
            type(plugin) is MixedPrecision and plugin.scaler is None
        )
        hooks = ("on_before_backward", "on_after_backward", "backward", "on_before_optimizer_step")
        listeners = [*trainer.callbacks, self]
        listened = any(
            is_overridden(hook, obj, L.Callback if obj is not self else L.LightningModule)
            for obj in listeners
            for hook in hooks
            if hasattr(obj, hook)
        )
        # The two calls by which LightningOptimizer.step counts the step (global_step).
        counted = all(hasattr(opt, "_on_before_step") for opt in self.optimizers())
        return type(trainer.strategy) is SingleDeviceStrategy and plain_precision and not listened and counted

    def _backward(self, loss: Tensor) -> None:
        if self._direct_calls:
            loss.backward()
        else:
            self.manual_backward(loss)

    def _step(self, optimizer: LightningOptimizer) -> None:
        if self._direct_calls:  # LightningOptimizer.step without the strategy's hook dispatch
            optimizer._on_before_step()
            optimizer.optimizer.step()
            optimizer._on_after_step()
        else:
            optimizer.step()

    @contextmanager
    def _training_only(self, optimizer: LightningOptimizer) -> Iterator[None]:
        """`optimizer`'s loss built and backpropagated with every other optimizer's
        parameters frozen, so that no gradient is computed for them. Lightning's toggled_optimizer
        does the same but walks every parameter of every optimizer twice per call."""
        frozen = [p for p in self._frozen_while[optimizer.optimizer] if p.requires_grad]
        for p in frozen:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in frozen:
                p.requires_grad_(True)

    def _other_parameters(self) -> dict[torch.optim.Optimizer, list[nn.Parameter]]:
        """For each optimizer, the parameters only other optimizers update."""
        optimizers = self.trainer.optimizers
        own = {opt: {id(p) for group in opt.param_groups for p in group["params"]} for opt in optimizers}
        every = {id(p): p for opt in optimizers for group in opt.param_groups for p in group["params"]}
        return {opt: [p for i, p in every.items() if i not in own[opt]] for opt in optimizers}

    def on_train_start(self) -> None:
        self._direct_calls = self._lightning_dispatch_idle()
        self._frozen_while = self._other_parameters()
        self.loss_guard.start(self.iteration)
        # A resumed run continues the random stream where the checkpointed run was: the latents
        # and flips after resuming are those of an uninterrupted run.
        if self._rng_to_restore is not None:
            torch.set_rng_state(self._rng_to_restore["torch"])
            if self._rng_to_restore.get("cuda") and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(self._rng_to_restore["cuda"])
            self._rng_to_restore = None
            if self.trainer.world_size > 1:  # rank 0's stream was saved: the ranks part ways again
                torch.manual_seed(int(torch.randint(2**62, ())) + self.global_rank)

    def is_log_step(self) -> bool:
        """Lightning's own rule for when training values reach the loggers, and the last iteration
        (so that every run ends with its final losses in metrics.json)."""
        last = (
            self.trainer.max_steps > 0
            and self.iteration + 1 >= self.trainer.max_steps // self.steps_per_iteration
        )
        return (self.iteration + 1) % self.log_every == 0 or last

    def training_step(self, batch, batch_idx: int) -> None:
        real = batch[0] if isinstance(batch, (list, tuple)) else batch
        if self.channels_last and real.ndim == 4:
            real = real.contiguous(memory_format=torch.channels_last)
        log_now, done = self.is_log_step(), self.iteration + 1
        opt_d, opt_g = self.optimizers()
        obj, G, D = self.objective, self.generator, self.discriminator

        def judge(x: Tensor) -> Tensor:  # D on what the objective shows it (PacGAN: packs of m)
            return D(obj.pack(x))

        # `done` (iteration + 1): the log rule's phase, so log steps show R1 when the periods meet
        r1_due = self.r1_gamma > 0 and done % self.r1_interval == 0
        for real_chunk in real.chunk(obj.d_steps):
            with self._training_only(opt_d):
                z = self.sample_latents(real_chunk.shape[0])
                with torch.no_grad():
                    fake = G(z)
                if r1_due:  # lazy R1: every r1_interval iterations, weighted by the interval
                    r1, real_logits = r1_penalty(judge, real_chunk, self.r1_gamma * self.r1_interval)
                else:
                    real_logits = judge(real_chunk)
                loss_d, d_terms = obj.d_loss(real_logits, judge(fake))
                reg, reg_terms = obj.d_regularizer(judge, real_chunk, fake)
                loss_d = loss_d + reg
                if r1_due:
                    loss_d = loss_d + r1
                    reg_terms = {**reg_terms, "r1": r1.detach()}
                opt_d.zero_grad(set_to_none=True)
                self._backward(loss_d)
                self._step(opt_d)

        with self._training_only(opt_g):
            # The same latents as the last D step, now with gradient (see the method spec). The
            # diversity batch is a second G pass, never concatenated with the first: with batch norm
            # in G, each pass is normalised by its own statistics, as the method specifies.
            fake = G(z)
            g_judge = obj.g_judge(D, judge, real_chunk, fake)
            fake_logits = g_judge(fake)
            m = obj.diversity_batch_size
            div_logits = g_judge(G(self.sample_latents(m))) if m > 0 else None
            loss_g, g_terms = obj.g_loss(fake_logits, div_logits)
            for regularizer in self.g_regularizers:
                penalty, terms = regularizer(G, z, fake)
                loss_g, g_terms = loss_g + penalty, {**g_terms, **terms}
            if self.pl_weight > 0 and done % self.pl_interval == 0:  # lazy: weighted by the interval
                pl_z = z[: max(1, z.shape[0] // self.pl_batch_shrink)]
                penalty, new_mean, _ = path_length_penalty(G, pl_z, self.pl_mean, self.pl_decay)
                self.pl_mean.copy_(new_mean)
                loss_g = loss_g + penalty * self.pl_weight * self.pl_interval
                g_terms = {**g_terms, "pl_penalty": penalty.detach(), "pl_mean": new_mean.detach()}
            opt_g.zero_grad(set_to_none=True)
            self._backward(loss_g)
            self._step(opt_g)

        self._update_ema()
        self.loss_guard.record(done, loss_d, loss_g)
        if self.loss_guard.due(done, log_now):
            self.check_finite()
        if log_now:
            losses = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}
            self.log_dict({f"train/{k}": v for k, v in losses.items()}, prog_bar=True, logger=False)
            figures = {**losses, **d_terms, **reg_terms, **g_terms}
            figures.update(obj.diagnostics(real_logits.detach(), fake_logits.detach(), div_logits))
            self._log_figures(figures, step=done - 1)

    def _log_figures(self, figures: dict[str, Tensor], step: int) -> None:
        """A log step's figures to the loggers and to `train_figures` (metrics.json) in one host
        read. Lightning's self.log re-checks and re-moves its record at every call: for the 26
        figures of K = 8 that costs about as much as a ring MLP step, or several GPU steps, at every
        log step. Only the loss pair, for the progress bar, takes it."""
        values = torch.stack([v.detach().float() for v in figures.values()]).tolist()
        self.train_figures = {f"train/{k}": v for k, v in zip(figures, values)}
        for logger in self.loggers:  # at Lightning's step and with its epoch column, as self.log would
            logger.log_metrics({**self.train_figures, "epoch": self.current_epoch}, step=step)
            logger.save()

    def ema_beta(self, iteration: int) -> float:
        """The average's decay at an iteration: `ema_decay`, or StyleGAN2-ADA's from a half-life in
        images, 0.5 ** (batch / half-life), the half-life at most `rampup` x images seen so far."""
        if self.ema_half_life_kimg is None:
            return self.ema_decay
        half_life = self.ema_half_life_kimg * 1000
        if self.ema_rampup is not None:
            half_life = min(half_life, iteration * self.images_per_iteration * self.ema_rampup)
        return 0.5 ** (self.images_per_iteration / max(half_life, 1e-8))

    @torch.no_grad()
    def _update_ema(self) -> None:
        """EMA of G's float parameters, a device-side lerp (no host read); G's buffers (batch norm
        statistics, StyleGAN's w_avg and noise) copied, as StyleGAN2's code does. Until
        `ema_start_iteration` (and at the first iteration) the average is a copy of G."""
        if self.generator_ema is None:
            return
        if self._ema_lists is None:  # the same tensors every step: listed once
            self._ema_lists = (
                list(self.generator_ema.parameters()),
                list(self.generator.parameters()),
                list(self.generator_ema.buffers()),
                list(self.generator.buffers()),
            )
        ema, src, ema_buffers, buffers = self._ema_lists
        done = self.iteration  # this iteration's G step is done: `done` iterations in all
        copy = done <= max(self.ema_start_iteration, 1)
        weight = 1.0 if copy else 1.0 - self.ema_beta(done)
        # torch has no public list-wise lerp; _foreach_lerp_ is what AveragedModel's own EMA uses.
        torch._foreach_lerp_(ema, src, weight)
        torch._foreach_copy_(ema_buffers, buffers)

    def check_finite(self) -> None:
        """Raise NonFiniteLossError if a loss went NaN or infinite since the last check (LossGuard).
        Called where the loss guard is due, at validation, checkpoints and the end."""
        self.loss_guard.check(self.iteration)

    # ------------------------------------------------------------------------------ checkpointing
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.check_finite()  # never a checkpoint of a broken state
        checkpoint["mmagan"] = {
            "version": __version__,
            "config": self.run_config,
            "sample_shape": list(self.sample_shape),
            "objective": self._objective_state(),
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            },
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        meta = checkpoint.get("mmagan", {})
        self._rng_to_restore = meta.get("rng")
        if meta.get("objective") and hasattr(self.objective, "load_state_dict"):
            self.objective.load_state_dict(meta["objective"])

    def _objective_state(self) -> dict[str, Tensor]:
        """An objective's running statistics (MMA-GAN's relative hinge), for an exact resume."""
        return self.objective.state_dict() if hasattr(self.objective, "state_dict") else {}

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
