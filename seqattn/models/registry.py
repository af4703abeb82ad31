"""The model registry and the capability tags models declare (apart, so model modules can import it)."""

from __future__ import annotations

from torch import nn

MODELS: dict[str, tuple[type[nn.Module], type]] = {}
TASK_MODELS: dict[str, tuple[str, ...]] = {}  # task name -> model names that do it

# Capability tags a model may declare (aeon/sklearn-style estimator tags):
POOLING_ATTENTION = "pooling_attention"  # a QueryPooling whose weights SeqOutput.attention returns
SELF_ATTENTION = "self_attention"  # per-layer self-attention in SeqOutput.head_attention
EXPORT_PROGRAM = "export_program"  # torch.export (.pt2) handles it with dynamic shapes
EXPORT_TORCHSCRIPT = "export_torchscript"  # exported as a TorchScript trace (.ts) instead
TASK_IN_CONFIG = "task_in_config"  # one class for several tasks: the config carries the task name
RECURRENT = "recurrent"  # steps through time one small matmul at a time (seqattn.fit trains it on one thread)


def register_model(name: str, config_cls: type, tasks: tuple[str, ...], capabilities=()):
    """Class decorator: register a model class under ``name`` for ``tasks``, with its capability tags."""

    def decorate(cls):
        cls.capabilities = frozenset(capabilities)
        MODELS[name] = (cls, config_cls)
        for task_name in tasks:
            TASK_MODELS[task_name] = (*TASK_MODELS.get(task_name, ()), name)
        return cls

    return decorate


def capabilities(model: nn.Module) -> frozenset:
    """The capability tags ``model`` declares (empty for a foreign module)."""
    return getattr(model, "capabilities", frozenset())
