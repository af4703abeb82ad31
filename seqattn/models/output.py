"""The one output contract every model's ``forward(x, mask=None)`` returns."""

from __future__ import annotations

from dataclasses import dataclass

import torch


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
