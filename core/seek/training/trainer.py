"""The Trainer: fit / evaluate / predict with accumulation, mixed precision, resumable checkpoints, torchrun."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.errors import ConfigError
from seek.training import checkpoint as ckpt
from seek.training import distributed as dist_
from seek.training.callbacks import Callback, StopTraining
from seek.training.compiling import compile_blocks, mark_step
from seek.training.config import TrainerConfig
from seek.training.data import as_dataset, epoch_plan, loader, steps_per_epoch, to_device, windows
from seek.training.evaluation import forward_all
from seek.training.history import write_history, write_loss_curve
from seek.training.losses import default_loss, default_metrics, model_head
from seek.training.master_weights import MasterWeights, clip_in_step
from seek.training.progress import ProgressBar, StepLogs
from seek.training.schedule import build_scheduler
from seek.training.state_dicts import load_model_state, load_optimizer_state, model_state, optimizer_state

if TYPE_CHECKING:
    import torch

    from seek.runs import RunFolder
    from seek.training.graphs import StepGraphs

log = logging.getLogger("seek.training")
CHECKPOINT_DIR = "checkpoints"
BEST_FILE = "best.safetensors"
# Settings that decide which samples form each optimiser step: a resume must not change them.
_POSITION_KEYS = ("batch_size", "accumulation_steps", "seed")


@dataclass
class FitResult:
    """What ``fit`` returns: the per-epoch history and the best value of the monitored metric."""

    history: list[dict[str, float]]
    best_metric: float | None
    best_epoch: int | None
    stopped_early: bool = False
    resumed_from: str | None = None


@dataclass
class _Loop:
    """Data position and early-stopping state; saved in every checkpoint."""

    epoch: int = 0  # 0-based index of the epoch in progress
    step_in_epoch: int = 0  # optimiser steps already taken in that epoch
    global_step: int = 0
    loss_sum: float = 0.0
    loss_count: float = 0.0
    best: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    stopped_early: bool = False
    finished: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """Trains any ``nn.Module`` whose forward is ``model(x, mask=None)`` on dict samples {"x", "mask"?, "y"}.

    ``trainer.model`` is the module passed in; ``trainer.wrapped`` is what the training forward goes
    through (the DDP wrapper under torchrun, otherwise the module itself).
    """

    # With bf16 parameters and fused AdamW, clip inside the optimiser's step (``clip_in_step``) rather
    # than in a pass of its own; a class switch so the benchmark can measure both in one process.
    _fold_clip = True

    def __init__(
        self,
        model: torch.nn.Module,
        config: TrainerConfig | None = None,
        loss_fn: Callable[[Any, dict[str, Any]], Any] | None = None,
        metrics_fn: Callable[[Any, Any], dict[str, float]] | None = None,
        callbacks: Sequence[Callback] = (),
        run: RunFolder | None = None,
        device: str | torch.device = "cpu",
        progress: bool = True,
    ) -> None:
        import torch

        self.config = config if config is not None else TrainerConfig()
        self.dist = dist_.detect()
        self.device = dist_.resolve_device(device, self.dist)
        precision = self.config.precision
        if precision == "fp16" and self.device.type != "cuda":
            raise ConfigError("trainer.precision='fp16' needs a CUDA device (it uses a GradScaler); use 'bf16' on CPU")
        dist_.setup(self.dist, self.device)
        self.head = model_head(model)
        self.loss_fn = loss_fn if loss_fn is not None else default_loss(self.head)
        self.metrics_fn = metrics_fn
        self.callbacks = list(callbacks)
        self.run = run
        self.progress = progress
        self.model = model.to(self.device)
        self._masters: MasterWeights | None = None
        if self.config.param_dtype == "bf16":
            if self.dist.enabled:
                raise ConfigError("trainer.param_dtype='bf16' runs in one process for now; use 'fp32' under torchrun")
            self._masters = MasterWeights(self.model)
        if self.config.compile:
            compile_blocks(self.model, self.config.compile_mode)
        self._mark_steps = self.config.compile and self.config.compile_mode == "reduce-overhead"
        if self.config.cuda_graphs and self.device.type != "cuda":
            raise ConfigError(f"trainer.cuda_graphs: CUDA graphs need a CUDA device, got {self.device.type!r}")
        if self.config.cuda_graphs and self.dist.enabled:
            raise ConfigError("trainer.cuda_graphs runs in one process for now; turn it off under torchrun")
        self._step_graphs: StepGraphs | None = None
        self.wrapped = dist_.wrap_model(
            self.model,
            self.dist,
            self.device,
            self.config.distributed,
            self.config.grad_compression,
            self.config.powersgd_rank,
            self.config.tp_size,
        )
        self.optimizer = self._build_optimizer()
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=precision == "fp16")
        self.scheduler: Any = None
        self.state = _Loop()
        self._best_weights: dict[str, Any] | None = None
        # the epoch's running loss sum stays on the device (no host sync per step); state.loss_sum
        # is brought up to date from it at checkpoints and epoch ends
        self._loss_sum: torch.Tensor | None = None

    @property
    def _fsdp(self) -> bool:
        return self.dist.enabled and self.config.distributed in ("fsdp", "fsdp+tp")

    @property
    def _tp(self) -> int:
        """Tensor-parallel ranks per replica: they share every batch (1 outside fsdp+tp)."""
        return self.config.tp_size if self.dist.enabled and self.config.distributed == "fsdp+tp" else 1

    @property
    def _data(self) -> tuple[int, int]:
        """(replica index, number of replicas): the data-parallel rank and world size."""
        return self.dist.rank // self._tp, self.dist.world_size // self._tp

    @property
    def checkpoint_dir(self) -> Path | None:
        """``run.path / "checkpoints"``, or None without a run folder."""
        return None if self.run is None else self.run.path / CHECKPOINT_DIR

    def _build_optimizer(self) -> torch.optim.Optimizer:
        import torch

        decay: list[torch.Tensor] = [p for p in self.model.parameters() if p.requires_grad and p.dim() >= 2]
        plain: list[torch.Tensor] = [p for p in self.model.parameters() if p.requires_grad and p.dim() < 2]
        if self._masters is not None:  # the optimiser steps the fp32 masters, in the same order and groups
            decay, plain = [self._masters.master(p) for p in decay], [self._masters.master(p) for p in plain]
        groups = [
            {"params": params, "weight_decay": wd}
            for params, wd in ((decay, self.config.weight_decay), (plain, 0.0))
            if params
        ]
        if not groups:
            raise ConfigError("Trainer: the model has no trainable parameters")
        if self.config.optimizer == "sgd":
            return torch.optim.SGD(groups, lr=self.config.lr, momentum=0.9)
        # one fused kernel per parameter group on a GPU; the CPU keeps torch's default implementation
        return torch.optim.AdamW(groups, lr=self.config.lr, fused=True if self.device.type == "cuda" else None)

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        import torch

        if self.config.precision == "fp32" or self._lowp:
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.config.precision == "bf16" else torch.float16
        # a CUDA-graph recording must not keep autocast's cast-weight cache (its tensors would be freed under it)
        return torch.autocast(device_type=self.device.type, dtype=dtype, cache_enabled=not self.config.cuda_graphs)

    @contextlib.contextmanager
    def _grad_sync(self, sync: bool) -> Iterator[None]:
        """Skip the gradient all-reduce on all but the last micro-batch of an accumulation window."""
        if self._fsdp:
            self.wrapped.set_requires_gradient_sync(sync)  # type: ignore[operator]
            yield
        elif self.dist.enabled and not sync:
            with self.wrapped.no_sync():  # type: ignore[operator]
                yield
        else:
            yield

    def _seed(self) -> None:
        import torch

        # ranks of one tensor-parallel group draw the same dropout masks on their replicated activations
        seed = self.config.seed + self._data[0]
        random.seed(seed)
        torch.manual_seed(seed)
        with contextlib.suppress(ImportError):
            import numpy as np

            np.random.seed(seed)

    # ---- fit -----------------------------------------------------------------------------------------

    def fit(self, train_data: Any, val_data: Any = None, resume: bool = False) -> FitResult:
        """Train for ``config.epochs`` (or until early stopping); ``resume=True`` continues the last checkpoint."""
        cfg = self.config
        train = as_dataset(train_data, "train_data")
        val = as_dataset(val_data, "val_data") if val_data is not None else None
        plan_length = len(epoch_plan(len(train), cfg.batch_size, cfg.seed, 0, *self._data))
        per_epoch = steps_per_epoch(plan_length, cfg.accumulation_steps)
        self.scheduler = build_scheduler(
            self.optimizer, cfg.epochs * per_epoch, cfg.warmup_ratio, cfg.schedule, cfg.min_lr_ratio
        )
        self.state = _Loop()
        resumed_from = self._resume() if resume else None
        if resumed_from is None:
            self._seed()
        for callback in self.callbacks:
            callback.on_train_start(self)
        bar = ProgressBar(self.progress and self.dist.is_main)
        if self._masters is not None:
            self._masters.enter()
        if cfg.cuda_graphs:  # recorded after the bf16 switch: a recording holds the parameters' storage
            from seek.training.graphs import StepGraphs

            self._step_graphs = StepGraphs(self.model)
        try:
            while not self.state.finished:
                self._train_epoch(train, val, per_epoch, bar)
        finally:
            bar.close()
            if self._step_graphs is not None:
                graphs = self._step_graphs
                log.info(
                    "CUDA graphs: %d micro-batches replayed over %d input shapes, %d run eagerly",
                    graphs.replays,
                    graphs.shapes,
                    graphs.eager_calls,
                )
                graphs.release()
                self._step_graphs = None
            if self._masters is not None:
                self._masters.exit()
        state = self.state
        result = FitResult(state.history, state.best, state.best_epoch, state.stopped_early, resumed_from)
        if cfg.restore_best and state.best_epoch is not None:
            self._restore_best()
        if self.run is not None and self.dist.is_main:
            write_history(self.run, state.history)
            write_loss_curve(self.run, state.history)
        for callback in self.callbacks:
            callback.on_train_end(self, result)
        return result

    def _train_epoch(self, train: Any, val: Any, per_epoch: int, bar: ProgressBar) -> None:
        import torch

        cfg, state, info = self.config, self.state, self.dist
        epoch_no = state.epoch + 1
        data_rank, data_world = self._data
        plan = epoch_plan(len(train), cfg.batch_size, cfg.seed, state.epoch, data_rank, data_world)
        todo = list(windows(plan, cfg.accumulation_steps, state.step_in_epoch))
        batches = [micro.indices for window in todo for micro in window]
        data = iter(loader(train, batches, cfg.num_workers, cfg.seed * 100_003 + state.epoch, self._pin))
        bar.start_epoch(epoch_no, cfg.epochs, per_epoch, state.step_in_epoch)
        started = time.perf_counter()
        self.wrapped.train()
        loss_sum = torch.tensor(state.loss_sum, dtype=torch.float64, device=self.device)
        self._loss_sum = loss_sum
        for window in todo:
            window_total = sum(micro.global_size for micro in window)
            window_loss: torch.Tensor | None = None
            for i, micro in enumerate(window):
                batch = to_device(next(data), self.device)
                share = len(micro.indices)
                if self._mark_steps:
                    mark_step()
                with self._grad_sync(i == len(window) - 1):
                    with self._autocast():
                        if self._step_graphs is not None:
                            outputs = self._step_graphs(batch["x"], batch.get("mask"))
                        else:
                            outputs = self.wrapped(batch["x"], mask=batch.get("mask"))
                        loss = self.loss_fn(outputs, batch)
                    for callback in self.callbacks:
                        loss = callback.on_batch_loss(self, batch, loss)
                    # each micro-batch loss is a mean over its samples: weight it by its share of the window
                    # (times the replica count, since DDP/FSDP average over replicas) so the step sees its mean
                    weight = share * data_world / window_total  # 1 for one micro-batch on one replica: no multiply
                    self.scaler.scale(loss if weight == 1.0 else loss * weight).backward()
                part = loss.detach().double() * share
                window_loss = part if window_loss is None else window_loss + part
            assert window_loss is not None  # a window holds at least one micro-batch
            grad_norm = self._optimizer_step()
            # summed over ranks on the device; the replicas' shares of a window add up to its global size
            # (tensor-parallel ranks of one replica hold the same loss: counted once)
            dist_.all_reduce_tensor(window_loss, info)
            if self._tp > 1:
                window_loss /= self._tp
            state.global_step += 1
            state.step_in_epoch += 1
            loss_sum += window_loss
            state.loss_count += float(window_total)
            lr = self.optimizer.param_groups[0]["lr"]
            step_loss = window_loss / window_total
            logs = StepLogs({"loss": step_loss, "lr": lr, "grad_norm": grad_norm})
            for callback in self.callbacks:
                callback.on_step_end(self, state.global_step, logs)
            bar.step(step_loss, lr)
            every = cfg.checkpoint_every_steps
            if every and state.global_step % every == 0 and state.step_in_epoch < per_epoch:
                self._checkpoint()
        self._sync_loss()  # waits for the epoch's last step, so the epoch time below is the device's too
        self._end_epoch(val, epoch_no, time.perf_counter() - started, bar)

    @property
    def _lowp(self) -> bool:
        """True while the model holds bf16 parameters (inside ``fit`` with ``param_dtype='bf16'``)."""
        return self._masters is not None and self._masters.active

    def _weights(self) -> dict[str, Any]:
        """The model state to checkpoint: the fp32 masters while the model runs in bf16."""
        if self._lowp:
            assert self._masters is not None
            return self._masters.state_dict()
        return model_state(self.model, self._fsdp)

    @property
    def _pin(self) -> bool:
        return self.device.type == "cuda"

    def _optimizer_step(self) -> float | torch.Tensor:
        """Step the optimiser; return the gradient norm before clipping (a device scalar, NaN without clipping)."""
        import torch

        if self.scaler.is_enabled():
            self.scaler.unscale_(self.optimizer)
        stepped: Any = self.model.parameters()
        if self._lowp:
            assert self._masters is not None
            self._masters.grads_to_masters(keep=self._step_graphs is not None)
            stepped = self._masters.masters
        grad_norm: float | torch.Tensor = float("nan")
        if self.config.grad_clip and self._tp > 1:
            from seek.training.tensor_parallel import clip_grad_norm_

            grad_norm = clip_grad_norm_(stepped, self.config.grad_clip)
        elif self.config.grad_clip and self._lowp and self._fold_clip and self.optimizer.defaults.get("fused"):
            grad_norm = clip_in_step(self.optimizer, stepped, self.config.grad_clip)
        elif self.config.grad_clip:
            norm = torch.nn.utils.clip_grad_norm_(stepped, self.config.grad_clip)
            grad_norm = norm.full_tensor() if hasattr(norm, "full_tensor") else norm
        self.scaler.step(self.optimizer)
        if hasattr(self.optimizer, "grad_scale"):  # set by clip_in_step for this step only
            del self.optimizer.grad_scale
        self.scaler.update()
        self.scheduler.step()
        # recorded backward graphs add into the parameters' gradient buffers: those are zeroed, not dropped
        # (with bf16 parameters the optimiser holds the masters, whose gradients grads_to_masters reassigns)
        self.optimizer.zero_grad(set_to_none=self._step_graphs is None or self._lowp)
        if self._lowp:
            assert self._masters is not None
            self._masters.masters_to_params()
        return grad_norm

    def _sync_loss(self) -> None:
        """Copy the device-side running loss sum into ``state`` (one host sync)."""
        if self._loss_sum is not None:
            self.state.loss_sum = float(self._loss_sum)

    def _end_epoch(self, val: Any, epoch_no: int, seconds: float, bar: ProgressBar) -> None:
        cfg, state = self.config, self.state
        self._sync_loss()
        self._loss_sum = None
        row: dict[str, Any] = {
            "epoch": epoch_no,
            "step": state.global_step,
            "lr": self.optimizer.param_groups[0]["lr"],
            "train_loss": state.loss_sum / max(state.loss_count, 1.0),
            "epoch_seconds": round(seconds, 4),
        }
        if val is not None:
            row.update({f"val_{key}": value for key, value in self.evaluate(val).items()})
        stop = False
        try:
            for callback in self.callbacks:
                callback.on_epoch_end(self, epoch_no, row)
        except StopTraining:
            stop = True
        stop = self._track_best(row, has_val=val is not None) or stop
        state.history.append(row)
        state.epoch += 1
        state.step_in_epoch = 0
        state.loss_sum = state.loss_count = 0.0
        state.finished = stop or state.epoch >= cfg.epochs
        bar.end_epoch(row)
        if self.run is not None and self.dist.is_main:
            write_history(self.run, state.history)
        self._checkpoint()

    def _track_best(self, row: dict[str, Any], has_val: bool) -> bool:
        """Update the best value of the monitored metric; True when patience has run out."""
        cfg, state = self.config, self.state
        if cfg.monitor not in row:
            if not has_val and cfg.monitor.startswith("val_"):
                return False
            raise ConfigError(f"trainer.monitor: {cfg.monitor!r} is not among the epoch metrics ({', '.join(row)})")
        value = float(row[cfg.monitor])
        improved = state.best is None or (value < state.best if cfg.mode == "min" else value > state.best)
        if improved:
            state.best, state.best_epoch, state.bad_epochs = value, row["epoch"], 0
            if cfg.restore_best:
                self._save_best()
            return False
        state.bad_epochs += 1
        patience = cfg.early_stopping_patience
        state.stopped_early = patience is not None and patience > 0 and state.bad_epochs >= patience
        return state.stopped_early

    # ---- evaluate / predict --------------------------------------------------------------------------

    def evaluate(self, data: Any) -> dict[str, float]:
        """Mean loss over ``data`` plus metrics (accuracy for classification heads, then ``metrics_fn``)."""
        outputs, targets, loss = self._forward_all(data, with_loss=True)
        metrics = {"loss": loss} if loss is not None else {}
        metrics.update(default_metrics(self.head, outputs, targets))
        if self.metrics_fn is not None:
            for key, value in self.metrics_fn(outputs, targets).items():
                metrics[key] = float(value)
        return metrics

    def predict(self, data: Any) -> torch.Tensor:
        """Raw model outputs for every sample of ``data``, concatenated in dataset order (float32, CPU)."""
        outputs, _, _ = self._forward_all(data, with_loss=False)
        return outputs

    def _forward_all(self, data: Any, with_loss: bool) -> tuple[Any, Any, float | None]:
        """Run the model over ``data`` in order; every rank sees all of it (evaluation is not sharded)."""
        return forward_all(
            self.model,
            as_dataset(data, "data"),
            self.loss_fn if with_loss else None,
            self._autocast,
            self.device,
            self.config.eval_batch_size or self.config.batch_size,
            self.config.num_workers,
        )

    # ---- checkpoints ---------------------------------------------------------------------------------

    def _checkpoint(self) -> None:
        """Write ``checkpoints/step-N.safetensors`` (rank 0) with everything a bit-exact resume needs."""
        directory = self.checkpoint_dir
        if directory is None:
            return
        self._sync_loss()
        path = ckpt.checkpoint_path(directory, self.state.global_step)
        sharded: dict[str, Any] = {}
        if self._tp > 1:  # every rank writes its own shards through DCP; rank 0 the rest beside them
            from seek.training import sharded_checkpoint as dcp_

            kept = dcp_.save_sharded(dcp_.sharded_dir(path), self.model, self.optimizer)
            sharded = {"sharded": dcp_.sharded_dir(path).name, "sharded_optimizer": kept}
            weights: dict[str, Any] = {}
            optimizer: dict[str, Any] = {}
        else:
            weights = self._weights()
            optimizer = optimizer_state(self.model, self.optimizer, self._fsdp)
        rng = dist_.gather_tensors(ckpt.capture_rng(self.device), self.dist, self.device)
        if self.dist.is_main:
            payload = {
                **sharded,
                "model": weights,
                "optimizer": optimizer,
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(),
                "rng": {str(rank): states for rank, states in enumerate(rng)},
                "loop": dataclasses.asdict(self.state),
                "world_size": self.dist.world_size,
                "config": self.config.to_dict(),
            }
            ckpt.save_checkpoint(path, payload)
            ckpt.prune_checkpoints(directory, self.config.keep_checkpoints)
            if sharded:
                from seek.training.sharded_checkpoint import prune_sharded

                prune_sharded(directory)
        dist_.barrier(self.dist)

    def _resume(self) -> str | None:
        """Load the newest checkpoint of the run folder; None when there is none yet (fresh start)."""
        directory = self.checkpoint_dir
        if directory is None:
            raise ConfigError("fit(resume=True): needs Trainer(run=RunFolder(...)) holding the checkpoints")
        found = ckpt.load_latest_good(directory)
        if found is None:
            log.info("no checkpoint in %s: starting from scratch", directory)
            return None
        path, payload = found
        for key in _POSITION_KEYS:
            if payload["config"][key] != getattr(self.config, key):
                raise ConfigError(
                    f"fit(resume=True): {path} was written with trainer.{key}={payload['config'][key]!r}, "
                    f"now {getattr(self.config, key)!r}"
                )
        main = self.dist.is_main
        if payload.get("sharded"):
            if self._tp == 1:
                raise ConfigError(f"fit(resume=True): {path} is a sharded fsdp+tp checkpoint; resume it with fsdp+tp")
            from seek.training.sharded_checkpoint import load_sharded

            load_sharded(path.parent / payload["sharded"], self.model, self.optimizer, payload["sharded_optimizer"])
        else:
            load_model_state(self.model, payload["model"], self._fsdp, main)
            load_optimizer_state(self.model, self.optimizer, payload["optimizer"], self._fsdp, main)
        self.scheduler.load_state_dict(payload["scheduler"])
        self.scaler.load_state_dict(payload["scaler"])
        self.state = _Loop(**payload["loop"])
        if payload["world_size"] == self.dist.world_size:
            ckpt.restore_rng(payload["rng"][str(self.dist.rank)], self.device)
        else:
            log.warning(
                "%s: saved with %d ranks, resuming with %d: RNG streams are reseeded",
                path,
                payload["world_size"],
                self.dist.world_size,
            )
            self._seed()
        log.info("resumed from %s (epoch %d, step %d)", path, self.state.epoch + 1, self.state.global_step)
        return str(path)

    def _save_best(self) -> None:
        weights = self._weights()
        if self.checkpoint_dir is None:
            self._best_weights = weights
        elif self.dist.is_main:
            ckpt.save_checkpoint(self.checkpoint_dir / BEST_FILE, {"model": weights, "epoch": self.state.best_epoch})

    def _restore_best(self) -> None:
        """Load the weights of the best epoch back into the model."""
        if self.checkpoint_dir is None:
            weights = self._best_weights
        else:
            dist_.barrier(self.dist)
            path = self.checkpoint_dir / BEST_FILE
            weights = ckpt.load_checkpoint(path)["model"] if (self.dist.is_main or not self._fsdp) else {}
        if weights is not None:
            load_model_state(self.model, weights, self._fsdp, self.dist.is_main)
