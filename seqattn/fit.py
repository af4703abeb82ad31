"""Training that adapts to the data it is given: ``fit(data, task) -> FitResult``.

The one path from a labelled file to a model, used by ``seqattn train --csv`` and the notebooks:

1. the recipe is chosen from the data's shape (:func:`seqattn.recipes.recipe_for_data`: sequences, length,
   features, classes); ``model`` overrides the architecture;
2. the schedule is counted in optimizer steps, with a floor whatever N, and batches that follow N;
3. the validation split is stratified by class (at least one sequence of each class on each side);
   early stopping only acts when the validation split is large enough to measure (≥ 200 sequences);
4. input scaling (per feature, over valid steps) is fitted on the training split and stored in the model's
   config, so the model file carries it and callers always pass raw values;
5. the validation metric is put beside trivial baselines (majority class and 1-NN for classifiers, the naive
   last value for next value), with a warning in plain words when the model does not beat them;
6. small sets (fewer than :data:`seqattn.recipes.REFIT_BELOW` sequences) are measured on the split, then
   retrained on every sequence with the same schedule.

Small univariate labelled files get the random-kernel classifier (:mod:`seqattn.models.kernels`), which is
fitted in closed form (:func:`seqattn.models.kernels.fit_kernels`): no schedule, measured on the split and
then refitted on every sequence in seconds. Other classify files up to :data:`CHALLENGE_CELLS` sequences ×
steps (small multivariate sets) have the kernels measured on the same split as the gradient-trained model,
and keep them when they score strictly higher (the summary line says so); an explicit ``model``, ``steps``,
``lr`` or ``batch_size`` skips that.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from .data.loaders import AugmentLoader, BucketLoader, StepLoader
from .errors import BadInput
from .models import MODELS, RECURRENT, build_model
from .recipes import DataShape, Recipe, file_kernels_recipe, recipe_for_data
from .tasks import Task, get_task
from .train import set_seed, train_model

ROUNDS = 20  # validation passes over a run (each after steps / ROUNDS optimizer steps)
MIN_VAL_FOR_EARLY_STOP = 200  # fewer validation sequences than this: no early stopping (noise)
CHALLENGE_CELLS = 100_000  # multivariate classify files up to N × T this: the kernels are measured too
# (a few seconds there; 4,000 event logs × 200 steps × 17 features took 164 s and scored 0.849 to pooling's 1.000)
SMALL_STEP = 2_048  # batch × encoder steps per row at or below which a training step runs on one thread
SERIAL_BATCH = 512  # batches of a RECURRENT model at or below this run on one thread (T small matmuls in turn)


def training_threads(recipe: Recipe) -> int | None:
    """1 where a training step is many small kernels and one intra-op thread runs it faster, else None
    (torch's default). Each parallel region wakes a sleeping thread (OMP_WAIT_POLICY=PASSIVE), which small
    kernels do not repay. Measured per optimizer step on 2 cores, one thread against two: the next-value LSTM
    21 vs 34 ms at batch 128 × 32 steps, 209 vs 236 ms at 128 × 256, 90 vs 90 ms at 512 × 32; the pooling
    classifier 18 vs 28 ms at 10 × 100, 31 vs 33 ms at 32 × 64, but 70 vs 51 ms at 64 × 64 and 110 vs 91 ms
    at 128 × 64; the Transformer 195 vs 202 ms at 128 × 64."""
    if RECURRENT in MODELS[recipe.model][0].capabilities:
        return 1 if recipe.batch_size <= SERIAL_BATCH else None
    cells = -(-int(recipe.model_config.get("max_len", 0)) // int(recipe.model_config.get("stride", 1)))
    return 1 if recipe.batch_size * cells <= SMALL_STEP else None


@contextmanager
def intra_op_threads(n: int | None):
    """Run the block with ``n`` torch intra-op threads (None: unchanged), restoring the count after."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit` returns."""

    model: nn.Module  # trained, eval mode (retrained on every sequence when ``recipe.refit``)
    history: object  # pandas DataFrame, one row per validation round (of the measured run)
    recipe: Recipe  # what was chosen, with the fitted sizes and scaling: the model file records it
    report: dict  # validation metric, baselines, split sizes
    summary: str  # one line to print
    warning: str | None  # a plain-words line when the model does not beat the baselines


def fit(data, task, *, model: str | None = None, seed: int = 0, fast: bool = False, progress: bool = True,
        steps: int | None = None, lr: float | None = None, batch_size: int | None = None,
        checkpoint: str | None = None, resume: str | None = None, file_extra: dict | None = None,
        val_rows=None) -> FitResult:
    """Train a model for ``task`` on ``data`` (a :class:`~seqattn.data.io.LongData`, or anything with
    ``values``, ``mask`` and the task's target), choosing recipe, schedule and scaling from the data.

    Args:
        data: training sequences; classify labels are codes 0..K-1.
        task: ``"classify"`` or ``"next-value"`` (or a Task).
        model: architecture name overriding the recipe's (e.g. ``"transformer"``).
        steps / lr / batch_size: override the recipe's optimizer steps, learning rate and batch size.
        checkpoint: model file written atomically during training (the final model's file).
        resume: continue the final run from the training state in this file.
        file_extra: extra plain-value keys for the model file (e.g. the data schema).
        val_rows: the rows to validate on (default: a random split of ``recipe.val_fraction``, stratified by
            class; windows cut from series pass their latest ones, :func:`seqattn.data.io.latest_windows`).

    >>> from seqattn.config import SignalConfig
    >>> from seqattn.data import generate_signal
    >>> r = fit(generate_signal(SignalConfig(num_samples=40, seed=0)), "classify", fast=True, progress=False)
    >>> r.report["metric"], r.recipe.model
    ('accuracy', 'pooling')
    """
    task = get_task(task)
    values, mask, y = _arrays(task, data)
    shape = _shape(task, values, mask, y)
    recipe = _overrides(recipe_for_data(task.name, shape, model, fast), steps, lr, batch_size, seed)
    if val_rows is None:
        train_rows, val_rows = split_rows(task, y, recipe.val_fraction, seed)
    else:
        val_rows = np.unique(np.asarray(val_rows, dtype=np.int64))
        if len(val_rows) and (val_rows[0] < 0 or val_rows[-1] >= len(y)):
            raise ValueError(f"val_rows must index the {len(y)} sequences, got {val_rows[0]}..{val_rows[-1]}")
        train_rows = np.setdiff1d(np.arange(len(y)), val_rows)
    scaling = task.fit_scaling(values[train_rows], mask[train_rows])
    recipe = replace(recipe, model_config={**recipe.model_config, **scaling})
    common = {"seed": seed, "progress": progress, "extra": file_extra}
    if recipe.model == "kernels":  # closed-form: nothing to resume, refitting on everything costs one solve
        measured = _measure_kernels(task, recipe, values, mask, y, train_rows, val_rows, seed)
        return _finish_kernels(task, recipe, values, mask, y, measured, seed, checkpoint, file_extra)
    challenger = None
    if (model is None and steps is None and lr is None and batch_size is None and not resume and len(val_rows)
            and task.name == "classify" and shape.n * shape.max_len <= CHALLENGE_CELLS):
        # a small multivariate file (univariate ones get the kernels outright): the kernels are measured on
        # the same split, and kept if they score higher than the gradient-trained model
        k_recipe = file_kernels_recipe(fast, shape)
        k_recipe = replace(k_recipe, model_config={**k_recipe.model_config, **scaling})
        challenger = (k_recipe, _measure_kernels(task, k_recipe, values, mask, y, train_rows, val_rows, seed))
    final = None
    if recipe.refit and not resume:
        measured, history = _train(task, recipe, values, mask, y, train_rows, val_rows, **common)
        report = _report(task, measured, values, mask, y, train_rows, val_rows, retrained=True)
    else:
        final, history = _train(task, recipe, values, mask, y, train_rows, val_rows, checkpoint=checkpoint,
                                resume=resume, keep="last" if recipe.refit else "best", **common)
        report = _report(task, final, values, mask, y, train_rows, val_rows, retrained=False)
    if challenger and challenger[1][1]["value"] > report["value"]:
        return _finish_kernels(task, challenger[0], values, mask, y, challenger[1], seed, checkpoint, file_extra,
                               beaten=(recipe.model, report["value"]))
    if final is None:
        final, _ = _train(task, recipe, values, mask, y, np.arange(len(y)), val_rows, checkpoint=checkpoint,
                          keep="last", **common)
    summary, warning = task.fit_summary(report)
    return FitResult(final, history, recipe, report, summary, warning)


def _arrays(task: Task, data):
    values = np.asarray(task.model_values(np.asarray(data.values)))
    mask = np.asarray(data.mask, dtype=bool)
    y = np.asarray(task.require_targets(data))
    if len(y) < 2:
        raise BadInput(f"need at least 2 sequences to train, got {len(y)}")
    return values, mask, y


def _shape(task: Task, values, mask, y) -> DataShape:
    lengths = mask.sum(1)
    return DataShape(n=len(y), max_len=int(lengths.max()), num_features=1 if values.ndim == 2 else values.shape[2],
                     num_classes=task.check_training_targets(y))


def _overrides(recipe: Recipe, steps, lr, batch_size, seed) -> Recipe:
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if value is not None and value < 1:
            raise BadInput(f"{name} must be >= 1, got {value}")
    if lr is not None and not lr > 0:
        raise BadInput(f"lr must be > 0, got {lr}")
    return replace(recipe, steps=steps or recipe.steps, batch_size=batch_size or recipe.batch_size,
                   train=replace(recipe.train, lr=lr or recipe.train.lr, seed=seed))


def split_rows(task: Task, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows): ``fraction`` held out, stratified by class for classifiers (at least
    one sequence of each class on each side where the class has two or more)."""
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(y == k) for k in np.unique(y)] if task.stratify else [np.arange(len(y))]
    val = []
    for rows in groups:
        rows = rng.permutation(rows)
        if len(rows) >= 2:
            val.extend(rows[: min(len(rows) - 1, max(1, round(len(rows) * fraction)))])
    val = np.sort(np.asarray(val, dtype=np.int64))
    return np.setdiff1d(np.arange(len(y)), val), val


def _train(task: Task, recipe: Recipe, values, mask, y, rows, val_rows, *, seed, progress, extra,
           checkpoint=None, resume=None, keep="best"):
    """One run of ``recipe.steps`` optimizer steps on ``rows``, validated on ``val_rows`` every round."""
    set_seed(seed)
    model = build_model(recipe.model, task.name, recipe.model_config)
    lengths = mask[rows].sum(1)
    bucket = len(np.unique(lengths)) * recipe.batch_size <= len(rows)  # equal lengths: no padding work
    loader = BucketLoader(values[rows], mask[rows], y[rows], recipe.batch_size, seed=seed, bucket=bucket)
    rounds = min(ROUNDS, recipe.steps)
    patience = rounds if len(val_rows) < MIN_VAL_FOR_EARLY_STOP else max(3, rounds // 4)
    cfg = replace(recipe.train, epochs=rounds, patience=patience, seed=seed, checkpoint=checkpoint, resume=resume,
                  progress=progress, keep=keep)
    val = BucketLoader(values[val_rows], mask[val_rows], y[val_rows], 1024, shuffle=False)
    recorded = replace(recipe, train=replace(cfg, checkpoint=None, resume=None, progress=True))
    batches = StepLoader(loader, -(-recipe.steps // rounds))
    if recipe.augment is not None:
        batches = AugmentLoader(batches, recipe.augment, seed)
    with intra_op_threads(training_threads(recipe)):
        return train_model(model, batches, val, cfg, recipe=recorded.to_dict(), extra=extra)


def _kernels(task: Task, recipe: Recipe, values, mask, y, rows, seed):
    from .models.kernels import fit_kernels

    set_seed(seed)
    model = build_model(recipe.model, task.name, recipe.model_config)
    info = fit_kernels(model, values[rows], mask[rows], y[rows], seed=seed)
    return model.eval(), info


def _measure_kernels(task: Task, recipe: Recipe, values, mask, y, train_rows, val_rows, seed):
    """The random-kernel classifier fitted on the training split: (model, validation report, fit info)."""
    model, info = _kernels(task, recipe, values, mask, y, train_rows, seed)
    return model, _report(task, model, values, mask, y, train_rows, val_rows, retrained=recipe.refit), info


def _finish_kernels(task: Task, recipe: Recipe, values, mask, y, measured, seed, checkpoint, extra,
                    beaten: tuple[str, float] | None = None):
    """Refit the measured kernels on every sequence (``recipe.refit``), write the model file, report.
    ``beaten``: the gradient-trained model and validation score they were chosen over."""
    import pandas as pd

    from .checkpoint import save_checkpoint

    model, report, info = measured
    history = pd.DataFrame([{**info, "val_accuracy": report["value"]}])
    if recipe.refit:
        model, info = _kernels(task, recipe, values, mask, y, np.arange(len(y)), seed)
    if beaten:
        report = {**report, "chosen_over": {beaten[0]: beaten[1]}}
    if checkpoint:
        save_checkpoint(model, checkpoint, recipe=recipe.to_dict(), metrics={"loo_accuracy": info["loo_accuracy"]},
                        **(extra or {}))
    summary, warning = task.fit_summary(report)
    if beaten:
        summary += (f"; chosen over {beaten[0]} ({beaten[1]:.3f} on the same split), the default for"
                    " multivariate files")
    return FitResult(model, history, recipe, report, summary, warning)


def _report(task: Task, model, values, mask, y, train_rows, val_rows, retrained: bool) -> dict:
    report = task.validation_report(model, values, mask, y, train_rows, val_rows)
    report.update(train=int(len(train_rows)), validation=int(len(val_rows)), retrained_on_all=retrained)
    return report
