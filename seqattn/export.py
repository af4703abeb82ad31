"""Full exported programs, loadable without seqattn's model classes.

``torch.export`` (``.pt2``) where it can: the attention-pooling classifier and the Transformer. The LSTM's
recurrence is specialised to one sequence length by ``torch.export`` in this PyTorch, so the LSTM model is
saved as a TorchScript trace (``.ts``) instead, which keeps ``aten::lstm`` whole and accepts any length.
Either way the program takes ``(x, mask)`` and returns ``(prediction, attention)`` as plain tensors, with
dynamic batch size and length (up to the model's ``max_len``; next-value programs need ≥ 3 steps — pad
shorter input and mark the padding in the mask).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from .errors import BadInput
from .files import atomic_path
from .tasks import task_of


class _Plain(nn.Module):
    """Wraps a seqattn model so its output is a tuple of tensors (what an exported program returns)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, mask: torch.Tensor):
        out = self.model(x, mask)
        return out.prediction, out.attention


def example_inputs(model: nn.Module, batch: int = 3, length: int = 8):
    task = task_of(model)
    if task.per_step_features:
        x = torch.randn(batch, length, model.config.num_features)
    else:  # one value per step: a random walk, in the dtype next-value models compute in
        x = torch.randn(batch, length, dtype=task.dtype).cumsum(1)
    return x, torch.ones(batch, length, dtype=torch.bool)


def exported_suffix(model: nn.Module) -> str:
    """``.ts`` (TorchScript) for models tagged ``export_torchscript`` (the LSTM), ``.pt2`` (torch.export)
    for those tagged ``export_program``."""
    from .models import EXPORT_PROGRAM, EXPORT_TORCHSCRIPT, capabilities

    tags = capabilities(model)
    if EXPORT_TORCHSCRIPT in tags:
        return ".ts"
    if EXPORT_PROGRAM in tags:
        return ".pt2"
    raise BadInput(f"{type(model).__name__} declares no export capability")


def export_model(model: nn.Module, path) -> Path:
    """Export ``model`` (eval mode) to ``path`` atomically; the suffix must match :func:`exported_suffix`."""
    model = model.eval()
    path = Path(path)
    if path.suffix != exported_suffix(model):
        raise BadInput(f"{path}: this model exports to a {exported_suffix(model)} file")
    x, mask = example_inputs(model)
    with atomic_path(path, suffix=f".tmp{path.suffix}") as tmp:
        if path.suffix == ".ts":
            # the tracer warns about shape checks inside nn.LSTM; a test checks other batch sizes and lengths
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.jit.trace(_Plain(model), (x, mask), check_trace=False).save(str(tmp))
        else:
            batch = torch.export.Dim("batch", min=1, max=1 << 20)
            low = 2 if task_of(model).per_step_features else 3  # next value needs >= 3 steps
            time = torch.export.Dim("time", min=low, max=model.config.max_len)
            shapes = {"x": {0: batch, 1: time}, "mask": {0: batch, 1: time}}
            program = torch.export.export(_Plain(model), (x, mask), dynamic_shapes=shapes, strict=False)
            torch.export.save(program, str(tmp))
    return path


def load_exported(path):
    """Load an exported program as a callable module: ``module(x, mask) -> (prediction, attention)``."""
    path = Path(path)
    if path.suffix == ".ts":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(str(path)).eval()
    return torch.export.load(str(path)).module()
