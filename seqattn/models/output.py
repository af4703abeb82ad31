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
    """

    prediction: torch.Tensor
    attention: torch.Tensor
    mask: torch.Tensor
    head_attention: torch.Tensor | None = None
