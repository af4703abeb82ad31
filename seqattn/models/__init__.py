"""seqattn models; all return :class:`SeqOutput`. ``build_model`` makes one from its name and config."""

from __future__ import annotations

from dataclasses import asdict

from torch import nn

from ..config import config_from_dict
from .lstm import LSTMConfig, LSTMWithAttention
from .output import SeqOutput
from .pooling import AttentionPooling, PoolingConfig
from .transformer import SeqTransformer, TransformerConfig

MODELS: dict[str, tuple[type[nn.Module], type]] = {
    "lstm": (LSTMWithAttention, LSTMConfig),
    "pooling": (AttentionPooling, PoolingConfig),
    "transformer": (SeqTransformer, TransformerConfig),
}
TASK_MODELS = {"next-value": ("lstm", "transformer"), "classify": ("pooling", "transformer")}


def model_name(model: nn.Module) -> str:
    """The registry name of a model instance."""
    for name, (cls, _) in MODELS.items():
        if type(model) is cls:
            return name
    raise TypeError(f"not a seqattn model: {type(model).__name__}")


def model_task(model: nn.Module) -> str:
    return model.task


def build_model(name: str, task: str, config: dict | None = None, **overrides) -> nn.Module:
    """Build model ``name`` for ``task`` from a config dict (as stored in checkpoints) plus overrides.

    >>> build_model("pooling", "classify", num_features=3).config.num_features
    3
    """
    if task not in TASK_MODELS:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASK_MODELS)}")
    if name not in TASK_MODELS[task]:
        raise ValueError(f"model {name!r} does not do task {task!r}; choose from {', '.join(TASK_MODELS[task])}")
    cls, config_cls = MODELS[name]
    values = {**(config or {}), **overrides}
    if name == "transformer":
        values["task"] = task
        if task == "next-value":
            values["num_features"] = 1
    return cls(config_from_dict(config_cls, values))


def model_config(model: nn.Module) -> dict:
    return asdict(model.config)


__all__ = [
    "MODELS", "TASK_MODELS", "AttentionPooling", "LSTMConfig", "LSTMWithAttention", "PoolingConfig",
    "SeqOutput", "SeqTransformer", "TransformerConfig", "build_model", "model_config", "model_name",
    "model_task",
]
