"""LSTM with attention for next-value prediction.

Dimension legend: B batch, T time, H hidden size.

The sequence is normalised by its own last value and mean absolute step (``structural.normalise``), an
LSTM runs over the valid steps only (packed when a batch mixes lengths), a learned query attends over its
hidden states, and the head mixes closed-form candidate forecasts (``structural.candidates``) with a
bounded learned correction, mapped back to the input's units.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..masks import check_mask
from . import structural
from .heads import NextValueHead
from .output import SeqOutput

PACK_ABOVE = 2  # pack a batch whose padded cells outnumber its valid ones


@dataclass(frozen=True)
class LSTMConfig:
    hidden_size: int = 64
    num_layers: int = 2
    dropout: float = 0.0  # between LSTM layers
    max_len: int = 32  # longest input the model is trained for (longer input is a ValueError upstream)
    num_features: int = 1  # next value is univariate


class LSTMWithAttention(nn.Module):
    """Next-value regressor; ``forward(x [B, T], mask [B, T])`` → SeqOutput with prediction ``[B]``.

    >>> model = LSTMWithAttention(LSTMConfig(hidden_size=8, num_layers=1))
    >>> out = model(torch.tensor([[2.0, 4.0, 6.0, 8.0, 10.0]]))
    >>> tuple(out.prediction.shape), tuple(out.attention.shape)
    ((1,), (1, 5))
    >>> weights = model(torch.tensor([[2.0, 4.0, 6.0, 8.0, 10.0]]), influence=True).influence
    >>> round(float(weights.sum()), 6)
    1.0
    """

    task = "next-value"

    def __init__(self, config: LSTMConfig = LSTMConfig()):
        super().__init__()
        self.config = config
        self.lstm = nn.LSTM(structural.NUM_STEP_FEATURES, config.hidden_size, config.num_layers,
                            batch_first=True, dropout=config.dropout if config.num_layers > 1 else 0.0)
        self.head = NextValueHead(config.hidden_size)

    def encode(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """LSTM states ``[B, T, H]`` over valid steps; padded positions hold zeros."""
        lengths = mask.sum(1)
        tracing = torch.compiler.is_compiling() or torch.compiler.is_exporting() or torch.jit.is_tracing()
        # pack only when padding is most of the batch (packing skips it, but its LSTM kernels are ~2x slower
        # per step: unpacked training on real windows, lengths 8..32, took 11.8 s per 300 steps against 20.3 s)
        if not tracing and int(lengths.sum()) * PACK_ABOVE < mask.numel():
            packed = pack_padded_sequence(features, lengths.clamp(min=1).cpu(), batch_first=True,
                                          enforce_sorted=False)
            h, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=mask.shape[1])
        else:
            # right padding (features are 0 there) cannot reach earlier steps of a one-directional LSTM, so
            # this agrees with the packed path on every valid step (a property test checks it)
            h = self.lstm(features)[0]
        return h * mask.unsqueeze(-1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, influence: bool = False,
                method: str = "rules") -> SeqOutput:
        """Predict the next value; with ``influence=True`` also the recipe weights ``[B, T]``.

        ``influence=True`` costs one backward pass (to the input only, parameters untouched) and returns
        a prediction detached from ``x``; leave it off for training. ``method``: the recipe,
        ``"rules"`` or ``"gradient"`` (``seqattn.influence``).
        """
        if x.dim() == 3:
            if x.shape[-1] != 1:
                raise ValueError(f"next-value input must have 1 feature, got {x.shape[-1]}")
            x = x[..., 0]
        mask = check_mask(x, mask)
        if influence:
            x = x.detach().to(torch.float64).requires_grad_(True)
        structural.check_recipe(method)
        frozen = structural.frozen_rules() if influence and method == "rules" else nullcontext()
        with torch.enable_grad() if influence else nullcontext(), frozen:
            z, last, scale = structural.normalise(x, mask)
            dtype = self.lstm.weight_ih_l0.dtype
            # the rules recipe holds everything the LSTM decides, so no graph is built through it
            read = z.detach() if structural.rules_frozen() else z
            h = self.encode(structural.step_features(read, mask).to(dtype), mask)
            prediction, attention = self.head(h, mask, z, last, scale)
            if not influence:
                return SeqOutput(prediction, attention, mask)
            # each prediction depends on its own row only, so one backward pass of the sum gives every
            # row's weights (0 on padding, which the model never reads); under the "rules" recipe the
            # gate is held, so this pass never enters the LSTM
            (weights,) = torch.autograd.grad(prediction.sum(), x)
        return SeqOutput(prediction.detach(), attention.detach(), mask, influence=weights * mask)
