"""The one output contract every model's ``forward(x, mask=None)`` returns."""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass

import torch

_PREDICTION_ONLY = contextvars.ContextVar("seqattn_prediction_only", default=False)


@contextlib.contextmanager
def prediction_only():
    """Within it, a model's ``forward`` may leave out what only attention maps read and take a faster
    path to the same prediction (to float rounding): the Transformer returns ``head_attention=None`` and
    mixes its steps with PyTorch's fused ``scaled_dot_product_attention`` instead of materialising every
    layer's [B, H, T, T] weights. The influence maps that need only the prediction (gradients,
    occlusion, Shapley values, deletion curves) run their passes inside it.

    >>> from seqattn.models.transformer import SeqTransformer, TransformerConfig
    >>> model = SeqTransformer(TransformerConfig(num_features=2, d_model=8, num_heads=2, max_len=12)).eval()
    >>> x = torch.randn(3, 12, 2)
    >>> with prediction_only():
    ...     fast = model(x)
    >>> fast.head_attention is None, bool(torch.allclose(fast.prediction, model(x).prediction, atol=1e-5))
    (True, True)
    """
    token = _PREDICTION_ONLY.set(True)
    try:
        yield
    finally:
        _PREDICTION_ONLY.reset(token)


_INPUT_ROWS = contextvars.ContextVar("seqattn_input_rows", default=None)


@contextlib.contextmanager
def copies_of(rows: torch.Tensor):
    """Within it, each row of the batch a model is given is a (perturbed) copy of the map's input sequence
    ``rows[i]``: set by the maps that batch copies of several sequences in their own order (occlusion,
    Shapley values), for a model wrapper that keeps state per sequence (a class to explain, say)."""
    token = _INPUT_ROWS.set(rows)
    try:
        yield
    finally:
        _INPUT_ROWS.reset(token)


def input_rows() -> torch.Tensor | None:
    """Inside :func:`copies_of`: the sequence each row of the current batch copies; None elsewhere (where
    Captum batches, k copies of the whole input, row r of sequence r mod B)."""
    return _INPUT_ROWS.get()


def attention_weights_wanted() -> bool:
    """False inside :func:`prediction_only`: a model need not return its attention weights."""
    return not _PREDICTION_ONLY.get()


@dataclass(frozen=True)
class SeqOutput:
    """What a seqattn model returns.

    Shape legend: B batch, T time, H heads, L layers.

    Attributes:
        prediction: next value ``[B]`` (float64, in the input's units) or class logits ``[B, 2]``.
        attention: ``[B, T]`` attention over input steps: exactly 0 on padding, sums to 1 over valid steps.
        mask: ``[B, T]`` bool, True = real step.
        head_attention: Transformer only: ``[B, L, H, T, T]`` self-attention of every layer and head
            (query × key, 0 on padded keys); None for other models.
        influence: next-value models, when asked (``forward(x, mask, influence=True)``): ``[B, T]`` float64
            recipe weights (``method="rules"``, the default, or ``"gradient"``: w_t = ∂prediction/∂x_t),
            0 on padding, with Σ_t w_t = 1 and Σ_t w_t·x_t =
            prediction (see :mod:`seqattn.influence`); None otherwise.
    """

    prediction: torch.Tensor
    attention: torch.Tensor
    mask: torch.Tensor
    head_attention: torch.Tensor | None = None
    influence: torch.Tensor | None = None
