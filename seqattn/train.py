"""A readable training loop: ``train_model(model, train_loader, val_loader, config) -> (model, history)``.

The loop knows nothing about the model beyond the SeqOutput contract and the task's loss. In order:
forward (bf16 autocast on CUDA) → backward → clip → step → schedule → log → validate under no_grad →
save on best → early stop on patience. Ctrl-C ends training cleanly and still returns the history.

Distributed: when a process group is initialised (``torchrun``, see :mod:`seqattn.distributed`) the model
trains inside DistributedDataParallel, each rank on its loader's shard; metrics are reduced across ranks
and only rank 0 writes the checkpoint and shows progress bars.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from . import distributed as ddp
from .checkpoint import read_checkpoint, save_checkpoint
from .config import config_to_dict
from .errors import BadInput
from .tasks import get_task


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    lr: float = 2e-3
    weight_decay: float = 1e-4
    grad_clip: float = 1.0  # max global grad norm
    schedule: str = "cosine"  # "cosine", "onecycle" or "constant"
    warmup_fraction: float = 0.05  # of all steps (cosine); OneCycle uses pct_start
    label_smoothing: float = 0.05  # classification only
    huber_beta: float = 0.05  # next value: smooth-L1 knee, in units of the sequence's mean step
    patience: int = 5  # epochs without improvement before stopping
    seed: int = 0
    checkpoint: str | None = None  # where the best checkpoint is written (atomically)
    resume: str | None = None  # a training checkpoint to continue from
    device: str = "auto"  # "auto", "cpu", "cuda"
    progress: bool = True  # tqdm bars on stderr
    keep: str = "best"  # weights returned and saved: "best" by the validation metric, or "last"


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite: training stopped before writing a broken checkpoint."""


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def task_loss(task, output, batch, cfg: TrainConfig, train: bool = True) -> torch.Tensor:
    """The training loss of ``task`` (a name or :class:`~seqattn.tasks.Task`); see ``Task.loss``."""
    return get_task(task).loss(output, batch, cfg, train)


@torch.no_grad()
def validate(model: nn.Module, loader: Iterable, task, cfg: TrainConfig, device) -> dict:
    """Mean loss and the task's metric over a loader (``val_mae_scaled`` for next value, ``val_accuracy``).

    In a distributed run each rank validates its own shard and the sums are reduced across ranks."""
    task = get_task(task)
    was_training = model.training
    model.eval()
    loss_sum, metric_sum, n = 0.0, 0.0, 0
    for batch in loader:
        batch = batch.to(device)
        output = model(batch.x, batch.mask)
        loss_sum += float(task.loss(output, batch, cfg, train=False)) * len(batch)
        m, k = task.batch_metric(output, batch)
        metric_sum, n = metric_sum + m, n + k
    model.train(was_training)
    loss_sum, metric_sum, n = ddp.all_sum(loss_sum, metric_sum, n)
    return {"val_loss": loss_sum / max(n, 1), task.metric: metric_sum / max(n, 1)}


def _scheduler(optimizer, cfg: TrainConfig, total_steps: int):
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, cfg.lr, total_steps=max(total_steps, 1))
    if cfg.schedule == "cosine":
        warmup = max(1, int(cfg.warmup_fraction * total_steps))

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
            return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    if cfg.schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    raise BadInput(f"unknown schedule {cfg.schedule!r}; choose from cosine, onecycle, constant")


def train_model(model: nn.Module, train_loader, val_loader, config: TrainConfig = TrainConfig(),
                callbacks: Iterable[Callable[[dict], None]] = (), recipe: dict | None = None,
                extra: dict | None = None):
    """Train ``model``; returns ``(model, history)`` with the best validation weights loaded.

    Args:
        model: any seqattn model (its ``task`` picks the loss).
        train_loader / val_loader: iterables of :class:`seqattn.data.loaders.Batch`; a ``set_epoch``
            method, when present, is called each epoch (fresh, reproducible shuffles).
        config: :class:`TrainConfig`.
        callbacks: called with each epoch's history row (a dict) after validation.
        recipe: ``Recipe.to_dict()`` of the run, recorded in the checkpoint so it can be reproduced.
        extra: more plain-value keys for the checkpoint (e.g. the data schema).

    Returns:
        The model (best weights, eval mode) and a pandas DataFrame, one row per epoch.

    Distributed (``torchrun``): see the module docstring.

    Raises:
        NonFiniteLossError: the loss became NaN/inf (nothing broken is written).
    """
    import pandas as pd

    task, cfg = get_task(model.task), config
    set_seed(cfg.seed)
    device = ddp.device_for(resolve_device(cfg.device))
    model.to(device)
    net = ddp.wrap(model, device)  # the model itself unless distributed
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = _scheduler(optimizer, cfg, cfg.epochs * len(train_loader))
    state = _resume(model, optimizer, scheduler, cfg, device) if cfg.resume else _State()
    try:
        for epoch in range(state.start_epoch, cfg.epochs):
            _set_epoch(epoch, train_loader, val_loader)
            t0 = time.perf_counter()
            loss_total, n = _train_epoch(model, net, train_loader, optimizer, scheduler, task, cfg, epoch, device)
            row = {"epoch": epoch + 1, "train_loss": loss_total / max(n, 1), "lr": scheduler.get_last_lr()[0]}
            row.update(validate(model, val_loader, task, cfg, device))
            row["seconds"] = time.perf_counter() - t0
            state.record(row, model, task, keep_last=cfg.keep == "last")
            if cfg.checkpoint and ddp.info().main:
                _save_training_state(model, optimizer, scheduler, cfg, epoch, state, task,
                                     {**(extra or {}), **({} if recipe is None else {"recipe": recipe})})
            for callback in callbacks:
                callback(row)
            if state.stale >= cfg.patience:
                break
    except KeyboardInterrupt:
        pass  # stop cleanly: the best weights so far and the history are still returned
    if state.best_state is not None:
        model.load_state_dict(state.best_state)
    return model.eval(), pd.DataFrame(state.history)


def _set_epoch(epoch: int, *loaders) -> None:
    """Tell loaders with a ``set_epoch`` method the epoch (fresh, reproducible shuffles)."""
    for loader in loaders:
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)


@dataclass
class _State:
    """What training carries from epoch to epoch (and a resume restores)."""

    history: list = field(default_factory=list)
    best: float | None = None
    best_state: dict | None = None
    start_epoch: int = 0
    stale: int = 0

    def record(self, row: dict, model: nn.Module, task, keep_last: bool = False) -> None:
        """Append an epoch's row; keep a copy of the weights when the task's metric improved."""
        self.history.append(row)
        if keep_last or task.improved(row[task.metric], self.best):
            self.best, self.stale = row[task.metric], 0
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.stale += 1


def _resume(model, optimizer, scheduler, cfg: TrainConfig, device) -> _State:
    """Restore model, optimizer, scheduler, RNG and history from the training state in ``cfg.resume``."""
    import pandas as pd

    ckpt = read_checkpoint(cfg.resume, task=model.task)
    if "optimizer" not in ckpt:
        raise BadInput(f"{cfg.resume}: holds weights only, not a training state to resume")
    model.load_state_dict(ckpt["last_state"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    torch.set_rng_state(ckpt["rng"])
    return _State(history=pd.DataFrame(ckpt["history"]).to_dict("records"), best=ckpt["best_metric"],
                  best_state={k: v.to(device) for k, v in ckpt["state_dict"].items()},
                  start_epoch=ckpt["epoch"] + 1, stale=ckpt["stale"])


def _save_training_state(model, optimizer, scheduler, cfg: TrainConfig, epoch: int, state: _State, task,
                         extra: dict) -> None:
    """Write the best weights and everything a resume needs to ``cfg.checkpoint`` (atomically)."""
    import pandas as pd

    save_checkpoint(
        model, cfg.checkpoint, train_config=config_to_dict(replace(cfg, resume=None)),
        optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(), epoch=epoch,
        best_metric=state.best, stale=state.stale, state_dict=state.best_state, last_state=model.state_dict(),
        rng=torch.get_rng_state(), history=pd.DataFrame(state.history).to_dict("list"),
        metrics={task.metric: state.best}, **extra,
    )


def _train_epoch(model, net, loader, optimizer, scheduler, task, cfg: TrainConfig, epoch: int, device):
    """One pass over ``loader``; returns (summed loss over all ranks, sequences seen)."""
    from tqdm.auto import tqdm

    model.train()
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    loss_sum, n = torch.zeros((), device=device), 0
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
               disable=not (cfg.progress and ddp.info().main))
    # ranks may get different numbers of batches: join() lets the early ones shadow the rest
    with net.join() if net is not model else nullcontext():
        for batch in bar:
            batch = batch.to(device)
            with autocast:
                loss = task.loss(net(batch.x, batch.mask), batch, cfg)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(
                    f"loss became {float(loss.detach())} at epoch {epoch + 1}; lower the learning rate "
                    f"(lr={cfg.lr}) or check the data for extreme values"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            scheduler.step()
            loss_sum += loss.detach() * len(batch)
            n += len(batch)
    return ddp.all_sum(float(loss_sum), n)
