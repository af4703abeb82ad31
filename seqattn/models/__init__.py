"""seqattn models; all return :class:`SeqOutput`. ``build_model`` makes one from its name and config.

Models register with ``@register_model(name, config_class, tasks=..., capabilities=...)``; callers ask a
model's ``capabilities`` (data, e.g. ``"self_attention"``), never its class name.
"""

from __future__ import annotations

from torch import nn

from ..config import config_from_dict
from ..errors import BadInput, BadType
from ..tasks import get_task

# models whose files this package may not edit are registered here; the others decorate themselves
from .lstm import LSTMConfig, LSTMWithAttention
from .output import SeqOutput
from .registry import (
    EXPORT_PROGRAM,
    EXPORT_TORCHSCRIPT,
    MODELS,
    POOLING_ATTENTION,
    RECURRENT,
    SELF_ATTENTION,
    TASK_IN_CONFIG,
    TASK_MODELS,
    capabilities,
    register_model,
)

register_model("lstm", LSTMConfig, tasks=("next-value",),
               capabilities=(POOLING_ATTENTION, EXPORT_TORCHSCRIPT, RECURRENT))(LSTMWithAttention)

# registry order: the classifiers as users met them, the random-kernel one last
# isort: off
from .pooling import AttentionPooling, PoolingConfig  # noqa: E402  (after lstm: registry order)
from .transformer import SeqTransformer, TransformerConfig  # noqa: E402
from .kernels import KernelClassifier, KernelConfig  # noqa: E402
# isort: on


def model_name(model: nn.Module) -> str:
    """The registry name of a model instance."""
    for name, (cls, _) in MODELS.items():
        if type(model) is cls:
            return name
    raise BadType(f"not a seqattn model: {type(model).__name__}")


def build_model(name: str, task: str, config: dict | None = None, **overrides) -> nn.Module:
    """Build model ``name`` for ``task`` from a config dict (as stored in checkpoints) plus overrides.

    >>> build_model("pooling", "classify", num_features=3).config.num_features
    3
    """
    if task not in TASK_MODELS:
        raise BadInput(f"unknown task {task!r}; choose from {', '.join(TASK_MODELS)}")
    if name not in TASK_MODELS[task]:
        raise BadInput(f"model {name!r} does not do task {task!r}; choose from {', '.join(TASK_MODELS[task])}")
    cls, config_cls = MODELS[name]
    values = {**(config or {}), **overrides}
    if TASK_IN_CONFIG in cls.capabilities:
        values["task"] = task
        if not get_task(task).per_step_features:
            values["num_features"] = 1
    return cls(config_from_dict(config_cls, values))


__all__ = [
    "MODELS", "TASK_MODELS", "AttentionPooling", "KernelClassifier", "KernelConfig", "LSTMConfig", "LSTMWithAttention", "PoolingConfig",
    "EXPORT_PROGRAM", "EXPORT_TORCHSCRIPT", "POOLING_ATTENTION", "RECURRENT", "SELF_ATTENTION", "SeqOutput", "SeqTransformer", "TransformerConfig", "build_model", "capabilities", "model_name",
    "register_model",
]
