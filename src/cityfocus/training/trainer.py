"""The one training loop for every torch model and every learning mode.

AdamW with weight decay, gradient clipping, a cosine learning-rate schedule, early stopping
on a validation metric (never on test), the best epoch's weights kept (and written to a
checkpoint if asked), seeds for reproducibility, a rich progress bar, TensorBoard events.
What a step computes is the caller's: ``step_loss(net, index)`` returns the training loss
of a batch of sample indices, ``val_metric(net)`` the validation score (lower is better).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cityfocus.errors import CityfocusError

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter


@dataclass
class TrainConfig:
    """Hyperparameters of the loop.

    Attributes:
        epochs: maximum number of passes over the training samples.
        batch_size: samples per optimizer step.
        lr: peak learning rate of AdamW.
        weight_decay: AdamW's decoupled weight decay (0 gives plain Adam).
        clip_norm: clip the gradient's global norm to this (None: no clipping).
        patience: stop after this many epochs without a better validation score
            (None: run all epochs).
        schedule: ``"cosine"`` (decay to 5 % of ``lr`` over ``epochs``) or ``"constant"``.
        seed: seeds python, numpy and torch before building batches.
        log_dir: write TensorBoard event files here (None: no logging).
        checkpoint: save the best epoch's weights here (None: keep in memory only).
        max_minutes: stop after this much wall time (None: no limit).
        progress: show a progress bar.
        validate_start: score the network before training as epoch 0, so a fine-tuning
            run keeps its starting weights unless an epoch beats them.
    """

    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    clip_norm: float | None = 5.0
    patience: int | None = 10
    schedule: str = "cosine"
    seed: int = 0
    log_dir: str | None = None
    checkpoint: str | None = None
    max_minutes: float | None = None
    progress: bool = True
    validate_start: bool = False


@dataclass
class TrainResult:
    """What training did: the best epoch, its validation score, per-epoch history."""

    best_epoch: int
    best_val: float
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    stopped: str = "epochs"


def train_network(
    net: torch.nn.Module,
    n_samples: int,
    step_loss: Callable[[torch.nn.Module, np.ndarray], torch.Tensor],
    val_metric: Callable[[torch.nn.Module], float],
    config: TrainConfig,
    description: str = "training",
) -> TrainResult:
    """Train ``net`` in place and leave it holding the best validation epoch's weights."""
    if n_samples < 1:
        raise CityfocusError("no training samples: the training split is shorter than one window")
    if config.schedule not in ("cosine", "constant"):
        raise CityfocusError(f"unknown schedule {config.schedule!r}; use cosine or constant")
    rng = np.random.default_rng(config.seed)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    lr_at = _schedule(config)
    writer = _tensorboard(config.log_dir)
    best_val, best_epoch, best_state = math.inf, -1, copy.deepcopy(net.state_dict())
    history: list[dict[str, float]] = []
    stopped = "epochs"
    started = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"),
               TimeElapsedColumn())
    if config.validate_start:
        net.eval()
        with torch.no_grad():
            best_val, best_epoch = float(val_metric(net)), 0
        history.append({"epoch": 0, "train_loss": math.nan, "val": best_val, "lr": 0.0,
                        "seconds": 0.0})
    with Progress(*columns, disable=not config.progress, transient=True) as progress:
        task = progress.add_task(description, total=config.epochs, status="")
        for epoch in range(config.epochs):
            epoch_started = time.perf_counter()
            for group in optimizer.param_groups:
                group["lr"] = lr_at(epoch)
            train_loss = _run_epoch(net, optimizer, n_samples, step_loss, config, rng)
            net.eval()
            with torch.no_grad():
                val = float(val_metric(net))
            if not math.isfinite(train_loss) or not math.isfinite(val):
                raise CityfocusError(
                    f"training diverged at epoch {epoch + 1} (loss {train_loss}, val {val}); "
                    "lower the learning rate or check the data for extreme values"
                )
            history.append({"epoch": epoch + 1, "train_loss": train_loss, "val": val,
                            "lr": lr_at(epoch), "seconds": time.perf_counter() - epoch_started})
            if writer is not None:
                writer.add_scalar("loss/train", train_loss, epoch + 1)
                writer.add_scalar("metric/val", val, epoch + 1)
                writer.add_scalar("lr", lr_at(epoch), epoch + 1)
            if val < best_val:
                best_val, best_epoch = val, epoch + 1
                best_state = copy.deepcopy(net.state_dict())
                if config.checkpoint:
                    Path(config.checkpoint).parent.mkdir(parents=True, exist_ok=True)
                    torch.save(best_state, config.checkpoint)
            progress.update(task, advance=1, status=(
                f"epoch {epoch + 1} loss {train_loss:.4f} val {val:.4f} best {best_val:.4f}"))
            if config.patience is not None and epoch + 1 - best_epoch >= config.patience:
                stopped = "early stopping"
                break
            minutes = (time.perf_counter() - started) / 60
            if config.max_minutes is not None and minutes >= config.max_minutes:
                stopped = "time limit"
                break
    net.load_state_dict(best_state)
    if writer is not None:
        writer.add_hparams(
            {k: v for k, v in asdict(config).items() if isinstance(v, int | float | str)},
            {"hparam/best_val": best_val},
        )
        writer.close()
    return TrainResult(best_epoch, best_val, time.perf_counter() - started, history, stopped)


def _run_epoch(
    net: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    n_samples: int,
    step_loss: Callable[[torch.nn.Module, np.ndarray], torch.Tensor],
    config: TrainConfig,
    rng: np.random.Generator,
) -> float:
    net.train()
    order = rng.permutation(n_samples)
    total, batches = 0.0, 0
    for start in range(0, n_samples, config.batch_size):
        loss = step_loss(net, order[start : start + config.batch_size])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(net.parameters(), config.clip_norm)
        optimizer.step()
        total += float(loss.detach())
        batches += 1
    return total / max(batches, 1)


def _schedule(config: TrainConfig) -> Callable[[int], float]:
    if config.schedule == "constant":
        return lambda epoch: config.lr
    floor = 0.05 * config.lr

    def cosine(epoch: int) -> float:
        progress = epoch / max(config.epochs - 1, 1)
        return floor + 0.5 * (config.lr - floor) * (1 + math.cos(math.pi * progress))

    return cosine


def _tensorboard(log_dir: str | None) -> SummaryWriter | None:
    if log_dir is None:
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=log_dir)
