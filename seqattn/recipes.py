"""Typed training presets: the shipped weights, ``seqattn train``, notebooks and benchmarks share them.

A :class:`Recipe` says everything a run needs besides the data file: the model and its config, the
generated data, the :class:`~seqattn.train.TrainConfig`, batch size and validation split. Every model file
records the recipe it was trained with (``Recipe.to_dict()``, plain values: weights-only loading reads it).

>>> get_recipe("signal-transformer", fast=True).train.lr
0.001

Adding a recipe: write a function ``fast -> Recipe`` here and decorate it with ``@register_recipe("name")``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .config import DataConfig, SignalConfig, config_to_dict, hard_signal_config
from .data.loaders import Augment
from .errors import BadInput
from .train import TrainConfig

RECIPES: dict[str, Callable[[bool], Recipe]] = {}


@dataclass(frozen=True)
class Recipe:
    """One training preset (frozen; derive variants with ``dataclasses.replace``)."""

    name: str
    task: str  # a seqattn.tasks name
    model: str  # a seqattn.models name
    model_config: dict = field(default_factory=dict)  # build_model's config
    train: TrainConfig = TrainConfig()
    data: DataConfig | None = None  # next value: the generated training stream
    signal_data: tuple[SignalConfig, ...] = ()  # classify: generated training sets, concatenated
    num_samples: int = 0  # generated training sequences (per epoch for streams)
    batch_size: int = 256  # sequences per training batch
    val_fraction: float = 0.1  # share held out for validation (when not given separately)
    source: str = "generated"  # "generated" or the training file's path
    steps: int = 0  # optimizer steps in all (0: train.epochs passes over the data instead)
    refit: bool = False  # after measuring on the validation split, retrain on every sequence
    augment: Augment | None = None  # classify: randomly scaled, noisy (optionally cropped) training batches

    def to_dict(self) -> dict:
        """Plain values only (stored in model files, read with ``weights_only=True``)."""
        return {"name": self.name, "task": self.task, "model": self.model, "model_config": dict(self.model_config),
                "train": config_to_dict(self.train), "data": None if self.data is None else config_to_dict(self.data),
                "signal_data": [config_to_dict(c) for c in self.signal_data], "num_samples": self.num_samples,
                "batch_size": self.batch_size, "val_fraction": self.val_fraction, "source": self.source,
                "steps": self.steps, "refit": self.refit,
                "augment": None if self.augment is None else config_to_dict(self.augment)}


def register_recipe(name: str):
    """Decorator: register a ``fast -> Recipe`` function under ``name``."""

    def decorate(fn):
        RECIPES[name] = fn
        return fn

    return decorate


def get_recipe(name: str, fast: bool = False) -> Recipe:
    if name not in RECIPES:
        raise BadInput(f"unknown recipe {name!r}; choose from {', '.join(RECIPES)}")
    return RECIPES[name](fast)


def recipe_for(task: str, model: str, fast: bool = False) -> Recipe:
    """The recipe ``seqattn train`` uses for ``model`` on ``task`` (generated data): the registered one
    that matches both, else the task's default recipe with the model's own default sizes."""
    from .tasks import get_task

    for fn in RECIPES.values():
        recipe = fn(fast)
        if (recipe.task, recipe.model, recipe.source) == (task, model, "generated"):
            return recipe
    recipe = get_recipe(get_task(task).default_recipe, fast)
    return replace(recipe, name=f"{recipe.name}+{model}", model=model, model_config={})


@register_recipe("next-value")
def next_value_recipe(fast: bool = False) -> Recipe:
    """The shipped next-value LSTM: a fresh generated stream every epoch."""
    data = DataConfig(num_samples=6_000 if fast else 300_000, min_len=3, max_len=32, seed=1)
    return Recipe(name="next-value", task="next-value", model="lstm",
                  model_config={"hidden_size": 64, "num_layers": 1, "max_len": 32}, data=data,
                  train=TrainConfig(epochs=2 if fast else 12, lr=3e-3, schedule="cosine", patience=100, seed=0),
                  num_samples=data.num_samples, batch_size=256)


@register_recipe("signal")
def signal_recipe(fast: bool = False) -> Recipe:
    """The shipped signal classifier (attention pooling): half default, half hard difficulty."""
    n = 2_000 if fast else 100_000
    return Recipe(name="signal", task="classify", model="pooling",
                  model_config={"num_features": 4, "hidden_size": 32, "kernel_size": 5, "max_len": 64},
                  signal_data=(SignalConfig(num_samples=n // 2, seed=1), hard_signal_config(num_samples=n // 2, seed=2)),
                  train=TrainConfig(epochs=3 if fast else 15, lr=3e-3, schedule="cosine", patience=5, seed=0),
                  num_samples=n, batch_size=128)


@register_recipe("signal-transformer")
def signal_transformer_recipe(fast: bool = False) -> Recipe:
    """The Transformer variant of the signal classifier."""
    base = signal_recipe(fast)
    return replace(base, name="signal-transformer", model="transformer",
                   model_config={"num_features": 4, "d_model": 32, "num_heads": 4, "num_layers": 2,
                                 "dim_feedforward": 64, "max_len": 64},
                   train=replace(base.train, epochs=2 if fast else 6, lr=1e-3))


@register_recipe("real-forecast")
def real_forecast_recipe(fast: bool = False) -> Recipe:
    """The LSTM with attention trained from scratch on real windows (notebook 05, benchmarks/peers): the
    shipped next-value model's size; fine-tuning the shipped weights instead scored 0.72 on the
    validation windows against 0.54 from scratch."""
    base = next_value_recipe(fast)
    return replace(base, name="real-forecast", data=None, num_samples=0, batch_size=32, source="real windows",
                   train=TrainConfig(epochs=6 if fast else 80, lr=3e-3, patience=15, seed=0, progress=False))


@register_recipe("real-classify")
def real_classify_recipe(fast: bool = False) -> Recipe:
    """A small labelled real data set: the Transformer variant (its positional encoding matters on
    whole-shape problems such as GunPoint); ``num_features``/``max_len`` come from the data."""
    return Recipe(name="real-classify", task="classify", model="transformer",
                  model_config={"d_model": 64, "num_layers": 2}, batch_size=16, source="real data set",
                  train=TrainConfig(epochs=5 if fast else 150, lr=3e-3, patience=40, seed=0, progress=False))


# ---- recipes chosen from the data's shape: seqattn.fit, `seqattn train --csv` ------------------------------

@dataclass(frozen=True)
class DataShape:
    """What a training file looks like, as far as choosing a recipe goes."""

    n: int  # sequences
    max_len: int  # longest sequence
    num_features: int  # D
    num_classes: int = 0  # K (0 for next value)


REFIT_BELOW = 1_000  # classify: below this many sequences, measure on a split, then retrain on all
PATCH_STEPS = 128  # classify: longer inputs are read in patches so the encoder sees at most ~this many
AUGMENT_BELOW = 10_000  # classify: smaller sets train on augmented batches (scale and noise; see Augment)
KERNELS_BELOW = 5_000  # classify, one feature: smaller sets get the random-kernel classifier (N × N solve)


def _schedule(n: int, batch_size: int, epochs: int, floor: int, cap: int) -> int:
    """Optimizer steps: ``epochs`` passes over the data, at least ``floor`` and at most ``cap``."""
    return int(min(cap, max(floor, epochs * -(-n // batch_size))))


@register_recipe("file-classify")
def file_classify_recipe(fast: bool = False, shape: DataShape | None = None) -> Recipe:
    """Attention pooling over a dilated convolutional encoder, sized by the data: a floor of optimizer steps
    whatever N (small labelled sets train to convergence), batches that follow N, patches for long inputs.

    Measured on small UCR/UEA sets (benchmarks/bench_frontdoor.py): one optimizer step per epoch and
    early stopping on 5 validation sequences trained to chance; 1,000+ steps with per-feature scaling did not.
    On OSULeaf (200 sequences, 6 classes; one seed each) the single-query model reached 0.785 whatever the
    steps (3,000), stride (2) or depth (5 blocks); four pooling heads 0.810, with cropped, scaled and noisy
    batches 0.839, with scale and noise only (the default, see :class:`~seqattn.data.loaders.Augment`)
    0.822; a GAP-like uniform pooling 0.835 (but no map); hidden 128 cost twice the time for 0.814.
    """
    shape = shape or DataShape(n=2_000, max_len=64, num_features=4, num_classes=2)
    batch_size = int(min(32 if shape.n < REFIT_BELOW else 64, max(8, shape.n // 4))) if shape.n < 10_000 else 128
    steps = 40 if fast else _schedule(shape.n, batch_size, epochs=30, floor=1_000, cap=4_000)
    stride = max(1, -(-shape.max_len // PATCH_STEPS))
    return Recipe(name="file-classify", task="classify", model="pooling",
                  model_config={"num_features": shape.num_features, "hidden_size": 64, "kernel_size": 7,
                                "blocks": 3, "stride": stride, "heads": 4, "max_len": shape.max_len,
                                "num_classes": max(2, shape.num_classes)},
                  train=TrainConfig(epochs=20, lr=3e-3, weight_decay=1e-2, label_smoothing=0.1,
                                    patience=20, seed=0),
                  batch_size=batch_size, val_fraction=0.2, source="file", steps=steps,
                  refit=shape.n < REFIT_BELOW, augment=Augment() if shape.n < AUGMENT_BELOW else None)


@register_recipe("file-next-value")
def file_next_value_recipe(fast: bool = False, shape: DataShape | None = None) -> Recipe:
    """The shipped next-value LSTM's size, trained from scratch on the file: a floor of 600 optimizer steps
    of 128 windows, or 20 passes over a larger file.

    Measured on the real windows (1,646 training windows, lengths 8..32; MAE / naive on the held-out windows,
    geometric mean over 7 series, seeds 0 and 1): 13 s of epochs reached 0.87; 1,500 steps of 64 reached
    0.586 / 0.572 in 46-49 s; 600 steps of 128, the default, 0.608 / 0.598 in 21-26 s; 400 steps of 128
    0.688 in 16 s."""
    shape = shape or DataShape(n=2_000, max_len=32, num_features=1)
    batch_size = 128 if shape.n < 20_000 else 256
    steps = 40 if fast else _schedule(shape.n, batch_size, epochs=20, floor=600, cap=6_000)
    return Recipe(name="file-next-value", task="next-value", model="lstm",
                  model_config={"hidden_size": 64, "num_layers": 1, "max_len": shape.max_len},
                  train=TrainConfig(epochs=20, lr=3e-3, patience=20, seed=0),
                  batch_size=batch_size, val_fraction=0.1, source="file", steps=steps)


@register_recipe("file-kernels")
def file_kernels_recipe(fast: bool = False, shape: DataShape | None = None) -> Recipe:
    """The random-kernel classifier (:mod:`seqattn.models.kernels`, MiniRocket's encoder with a class
    activation map), for univariate labelled sets of fewer than :data:`KERNELS_BELOW` sequences (multivariate
    sets keep the pooling classifier: on the generated 4-feature signal data, 400 sequences, it reached 0.918
    test accuracy against 0.771 for the kernels, whose random feature subsets dilute one feature's event;
    BasicMotions scored 1.000 with both). Nothing is trained by
    gradient, the read-out is a ridge fit with leave-one-out choice of the penalty, so small sets neither
    over-train nor stop on noise, and any length costs one pass.

    Measured through the front door: see the README's front-door table (benchmarks/bench_frontdoor.py).
    """
    shape = shape or DataShape(n=2_000, max_len=64, num_features=4, num_classes=2)
    return Recipe(name="file-kernels", task="classify", model="kernels",
                  model_config={"num_features": shape.num_features, "max_len": shape.max_len,
                                "num_classes": max(2, shape.num_classes), "features": 840 if fast else 9_996},
                  batch_size=256, val_fraction=0.2, source="file", refit=True)


def _file_classify(fast: bool = False, shape: DataShape | None = None) -> Recipe:
    shape = shape or DataShape(n=2_000, max_len=64, num_features=4, num_classes=2)
    kernels = shape.n < KERNELS_BELOW and shape.num_features == 1
    return (file_kernels_recipe if kernels else file_classify_recipe)(fast, shape)


FILE_RECIPES = {"classify": _file_classify, "next-value": file_next_value_recipe}


def recipe_for_data(task: str, shape: DataShape, model: str | None = None, fast: bool = False) -> Recipe:
    """The recipe ``seqattn.fit`` uses for a training file of this shape; ``model`` overrides the
    architecture (its own default sizes, with the shape's feature count, length and classes)."""
    from .tasks import get_task

    name = get_task(task).name
    recipe = FILE_RECIPES[name](fast, shape)
    if model is None or model == recipe.model:
        return recipe
    if name == "classify":  # the data-sized recipes of the other classifiers, whatever the shape chose
        for other in (file_kernels_recipe, file_classify_recipe):
            recipe = other(fast, shape)
            if model == recipe.model:
                return recipe
    config = {"max_len": shape.max_len}
    if name == "classify":
        config.update(num_features=shape.num_features, num_classes=max(2, shape.num_classes), d_model=64,
                      num_layers=2, dim_feedforward=128)
    return replace(recipe, name=f"{recipe.name}+{model}", model=model, model_config=config,
                   train=replace(recipe.train, lr=1e-3))
