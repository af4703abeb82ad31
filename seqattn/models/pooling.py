"""Attention-pooling classifier (the ContextFlow design) for signal detection.

Dimension legend: B batch, T time, D features, H hidden size.

A per-step encoder (two masked 1-D convolutions, so each step sees a short window), a learned query,
Q·Kᵀ scores, softmax over valid steps → context vector → logits for class 0/1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import BadInput
from ..masks import check_mask
from .heads import QueryPooling
from .output import SeqOutput
from .registry import EXPORT_PROGRAM, POOLING_ATTENTION, register_model


@dataclass(frozen=True)
class PoolingConfig:
    num_features: int = 4  # D
    hidden_size: int = 32
    kernel_size: int = 7  # odd; steps each encoder layer sees
    dropout: float = 0.1
    max_len: int = 64  # longest input the model is trained for


@register_model("pooling", PoolingConfig, tasks=("classify",), capabilities=(POOLING_ATTENTION, EXPORT_PROGRAM))
class AttentionPooling(nn.Module):
    """Binary classifier; ``forward(x [B, T, D], mask [B, T])`` → SeqOutput with logits ``[B, 2]``.

    >>> model = AttentionPooling(PoolingConfig(num_features=3, hidden_size=8))
    >>> out = model(torch.randn(2, 10, 3))
    >>> tuple(out.prediction.shape), tuple(out.attention.shape)
    ((2, 2), (2, 10))
    """

    task = "classify"

    def __init__(self, config: PoolingConfig = PoolingConfig()):
        super().__init__()
        if config.kernel_size % 2 == 0:
            raise BadInput(f"kernel_size must be odd, got {config.kernel_size}")
        self.config = config
        h, k = config.hidden_size, config.kernel_size
        self.conv1 = nn.Conv1d(config.num_features, h, k, padding=k // 2)
        self.conv2 = nn.Conv1d(h, h, k, padding=k // 2)
        self.act = nn.GELU()
        self.pool = QueryPooling(h)
        self.classifier = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(h, h), nn.GELU(), nn.Linear(h, 2))

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Per-step features ``[B, T, H]``; zero on padding so padding never leaks into valid steps."""
        m = mask.unsqueeze(1).to(x.dtype)  # (B, 1, T)
        h = self.act(self.conv1(x.transpose(1, 2) * m)) * m
        h = self.act(self.conv2(h)) * m + h
        return h.transpose(1, 2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> SeqOutput:
        if x.dim() == 2:
            x = x.unsqueeze(-1)
        if x.shape[-1] != self.config.num_features:
            raise BadInput(f"model expects {self.config.num_features} features, got {x.shape[-1]}")
        mask = check_mask(x, mask)
        x = x.to(self.conv1.weight.dtype)
        context, attention = self.pool(self.encode(x, mask), mask)
        return SeqOutput(self.classifier(context), attention, mask)
