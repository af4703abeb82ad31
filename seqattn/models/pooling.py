"""Attention-pooling classifier (the ContextFlow design) for signal detection and labelled sequences.

Dimension legend: B batch, T time (input steps), P patches (T / stride), D features, H hidden size,
K classes.

A per-step encoder (two masked 1-D convolutions, so each step sees a short window, then ``blocks``
dilated residual convolutions that widen the view to whole shapes), a learned query, Q·Kᵀ scores, softmax
over valid steps → context vector → logits for K classes.

Long inputs: with ``stride`` > 1 the first convolution reads non-overlapping patches of ``stride`` steps,
so the cost grows with T / stride; each patch's attention weight is shared equally among its valid steps,
so ``SeqOutput.attention`` still has one weight per input step, 0 on padding, summing to 1.

Input scaling: ``input_mean``/``input_std`` (per feature, fitted on the training data by
:func:`seqattn.fit.fit` and stored in the config, so every model file carries them) are applied inside
``forward``; callers always pass raw values.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BadInput
from ..masks import check_mask
from .heads import QueryPooling, check_input_scaling, register_input_scaling
from .output import SeqOutput
from .registry import EXPORT_PROGRAM, POOLING_ATTENTION, register_model


@dataclass(frozen=True)
class PoolingConfig:
    num_features: int = 4  # D
    hidden_size: int = 32
    kernel_size: int = 7  # odd; steps each encoder layer sees
    dropout: float = 0.1
    max_len: int = 64  # longest input seen in training (longer inputs are accepted: the model is convolutional)
    num_classes: int = 2  # K
    blocks: int = 0  # dilated residual blocks after the two convolutions (dilation 2, 4, 8, ...)
    stride: int = 1  # steps per patch read by the first convolution (long inputs)
    heads: int = 1  # pooling queries, each over hidden_size / heads channels; attention is their mean
    input_mean: tuple[float, ...] = ()  # per-feature scaling applied in forward; () = none
    input_std: tuple[float, ...] = ()


class DilatedBlock(nn.Module):
    """Residual block: masked dilated convolution → per-step LayerNorm → GELU (padding-invariant)."""

    def __init__(self, hidden_size: int, kernel_size: int, dilation: int):
        super().__init__()
        self.conv = nn.Conv1d(hidden_size, hidden_size, kernel_size, padding=dilation * (kernel_size // 2),
                              dilation=dilation)
        self.norm = nn.LayerNorm(hidden_size)

    def forward(self, h: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """``h`` (B, H, P), ``m`` (B, 1, P) → (B, H, P), zero on padding."""
        y = self.norm(self.conv(h * m).transpose(1, 2)).transpose(1, 2)
        return h + F.gelu(y) * m


@register_model("pooling", PoolingConfig, tasks=("classify",), capabilities=(POOLING_ATTENTION, EXPORT_PROGRAM))
class AttentionPooling(nn.Module):
    """Classifier; ``forward(x [B, T, D], mask [B, T])`` → SeqOutput with logits ``[B, K]``.

    >>> model = AttentionPooling(PoolingConfig(num_features=3, hidden_size=8))
    >>> out = model(torch.randn(2, 10, 3))
    >>> tuple(out.prediction.shape), tuple(out.attention.shape)
    ((2, 2), (2, 10))
    """

    task = "classify"

    def __init__(self, config: PoolingConfig = PoolingConfig()):
        super().__init__()
        _check_config(config)
        self.config = config
        h, k, s = config.hidden_size, config.kernel_size, config.stride
        if s == 1:
            self.conv1 = nn.Conv1d(config.num_features, h, k, padding=k // 2)
        else:  # non-overlapping patches of s steps
            self.conv1 = nn.Conv1d(config.num_features, h, s, stride=s)
        self.conv2 = nn.Conv1d(h, h, k, padding=k // 2)
        self.blocks = nn.ModuleList(DilatedBlock(h, k, 2 ** (i + 1)) for i in range(config.blocks))
        self.act = nn.GELU()
        self.pool = QueryPooling(h, config.heads)
        self.classifier = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(h, h), nn.GELU(),
                                        nn.Linear(h, config.num_classes))
        register_input_scaling(self, config)

    def patch_mask(self, mask: torch.Tensor) -> torch.Tensor:
        """(B, T) step mask → (B, P) patch mask: a patch is valid when any of its steps is."""
        s = self.config.stride
        if s == 1:
            return mask
        return F.pad(mask, (0, (-mask.shape[1]) % s)).view(mask.shape[0], -1, s).any(-1)

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Per-patch features ``[B, P, H]`` (P = T when stride is 1); zero on padding so padding never
        leaks into valid steps."""
        s = self.config.stride
        x = (x - self.input_mean.to(x.dtype)) / self.input_std.to(x.dtype)
        x = x.transpose(1, 2) * mask.unsqueeze(1).to(x.dtype)  # (B, D, T)
        if s > 1:
            x = F.pad(x, (0, (-x.shape[2]) % s))
        m = self.patch_mask(mask).unsqueeze(1).to(x.dtype)  # (B, 1, P)
        h = self.act(self.conv1(x)) * m
        h = self.act(self.conv2(h)) * m + h
        for block in self.blocks:
            h = block(h, m)
        return h.transpose(1, 2)

    def spread(self, attention: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, P) patch weights → (B, T) step weights: each patch's weight shared among its valid steps."""
        s = self.config.stride
        if s == 1:
            return attention
        b, t = mask.shape
        m = F.pad(mask, (0, (-t) % s)).view(b, -1, s).to(attention.dtype)  # (B, P, s)
        share = m / m.sum(-1, keepdim=True).clamp(min=1)
        return (attention.unsqueeze(-1) * share).reshape(b, -1)[:, :t]

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> SeqOutput:
        if x.dim() == 2:
            x = x.unsqueeze(-1)
        if x.shape[-1] != self.config.num_features:
            raise BadInput(f"model expects {self.config.num_features} features, got {x.shape[-1]}")
        mask = check_mask(x, mask)
        x = x.to(self.conv1.weight.dtype)
        context, attention = self.pool(self.encode(x, mask), self.patch_mask(mask))
        return SeqOutput(self.classifier(context), self.spread(attention, mask), mask)


def _check_config(config: PoolingConfig) -> None:
    if config.kernel_size % 2 == 0:
        raise BadInput(f"kernel_size must be odd, got {config.kernel_size}")
    if config.num_classes < 2:
        raise BadInput(f"num_classes must be >= 2, got {config.num_classes}")
    if config.stride < 1 or config.blocks < 0:
        raise BadInput(f"stride must be >= 1 and blocks >= 0, got {config.stride} and {config.blocks}")
    check_input_scaling(config)
