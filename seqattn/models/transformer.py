"""Transformer encoder variant for both tasks.

Dimension legend: B batch, T time, D features, E model width, H heads, L layers.

Sin/cos or learned positional encoding, multi-head self-attention written out so every head's weights
are returned, post-norm Add&Norm blocks (attention, then a feed-forward net), an optional causal mask,
then learned-query pooling: logits for ``classify``, or the candidate-mixing head for ``next-value``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BadInput
from ..masks import check_mask, masked_softmax
from ..tasks import get_task
from . import structural
from .heads import NextValueHead, QueryPooling, initialised_parameter
from .output import SeqOutput, attention_weights_wanted
from .registry import EXPORT_PROGRAM, POOLING_ATTENTION, SELF_ATTENTION, TASK_IN_CONFIG, register_model


@dataclass(frozen=True)
class TransformerConfig:
    task: str = "classify"  # "classify" or "next-value"
    num_features: int = 4  # D (1 for next value)
    d_model: int = 64
    num_heads: int = 4
    num_layers: int = 2
    dim_feedforward: int = 128  # set explicitly: PyTorch's default 2048 is 5x slower here
    dropout: float = 0.1
    positional: str = "sincos"  # "sincos" or "learned"
    causal: bool = False  # each step attends only to itself and earlier steps
    max_len: int = 64
    num_classes: int = 2  # K (classify)
    input_mean: tuple[float, ...] = ()  # classify: per-feature scaling applied in forward; () = none
    input_std: tuple[float, ...] = ()


def sincos_encoding(max_len: int, d_model: int) -> torch.Tensor:
    """The fixed sinusoidal position table ``[max_len, d_model]`` of Vaswani et al. (On the meta device,
    where checkpoint.parameter_count builds models, only its shape: see heads.initialised_parameter.)"""
    if torch.empty(0).is_meta:
        return torch.empty(max_len, d_model)
    position = torch.arange(max_len).unsqueeze(1)
    div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div)[:, : d_model // 2]
    return pe


class EncoderLayer(nn.Module):
    """Multi-head self-attention and a feed-forward net, each followed by Add & LayerNorm."""

    def __init__(self, c: TransformerConfig):
        super().__init__()
        if c.d_model % c.num_heads:
            raise BadInput(f"d_model={c.d_model} must be divisible by num_heads={c.num_heads}")
        self.h, self.dk = c.num_heads, c.d_model // c.num_heads
        self.qkv = nn.Linear(c.d_model, 3 * c.d_model)
        self.out = nn.Linear(c.d_model, c.d_model)
        self.ffn = nn.Sequential(nn.Linear(c.d_model, c.dim_feedforward), nn.GELU(),
                                 nn.Dropout(c.dropout), nn.Linear(c.dim_feedforward, c.d_model))
        self.norm1, self.norm2 = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor,
                weights: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``weights=False``: the same mixing by PyTorch's fused attention, without the (B, H, T, T) weights
        (returned as None). A query with no allowed key (a padded step) then attends to every key instead of
        none; it is padding, so nothing valid reads it."""
        b, t, e = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.h, self.dk).permute(2, 0, 3, 1, 4)  # each (B, H, T, dk)
        if weights:
            scores = q @ k.transpose(-1, -2) / math.sqrt(self.dk)  # (B, H, T, T)
            attention = masked_softmax(scores, allowed)
            mixed = attention @ v
        else:
            attention = None
            mixed = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed | ~allowed.any(-1, keepdim=True))
        mixed = mixed.transpose(1, 2).reshape(b, t, e)
        x = self.norm1(x + self.drop(self.out(mixed)))
        x = self.norm2(x + self.drop(self.ffn(x)))
        return x, attention


@register_model("transformer", TransformerConfig, tasks=("next-value", "classify"),
                capabilities=(POOLING_ATTENTION, SELF_ATTENTION, EXPORT_PROGRAM, TASK_IN_CONFIG))
class SeqTransformer(nn.Module):
    """Transformer encoder; ``forward(x, mask)`` → SeqOutput with ``head_attention [B, L, H, T, T]``.

    >>> model = SeqTransformer(TransformerConfig(num_features=2, d_model=8, num_heads=2, max_len=12))
    >>> out = model(torch.randn(3, 12, 2))
    >>> tuple(out.prediction.shape), tuple(out.head_attention.shape)
    ((3, 2), (3, 2, 2, 12, 12))
    """

    def __init__(self, config: TransformerConfig = TransformerConfig()):
        super().__init__()
        # next value reads one value per step through the structural features and mixes candidate rules;
        # classification reads D features per step and pools them into logits
        self.reads_values = not get_task(config.task).per_step_features
        if config.positional not in ("sincos", "learned"):
            raise BadInput(f"positional must be 'sincos' or 'learned', got {config.positional!r}")
        self.config, self.task = config, config.task
        width = structural.NUM_STEP_FEATURES if self.reads_values else config.num_features
        self.embed = nn.Linear(width, config.d_model)
        if config.positional == "learned":
            shape = (config.max_len, config.d_model)
            self.position = initialised_parameter(shape, lambda: torch.randn(shape) * 0.02)
        else:
            self.register_buffer("position", sincos_encoding(config.max_len, config.d_model), persistent=False)
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.num_layers))
        if self.reads_values:
            self.head = NextValueHead(config.d_model)
        else:
            self.pool = QueryPooling(config.d_model)
            self.classifier = nn.Linear(config.d_model, config.num_classes)
        d = config.num_features
        self.register_buffer("input_mean", torch.tensor(config.input_mean or [0.0] * d), persistent=False)
        self.register_buffer("input_std", torch.tensor(config.input_std or [1.0] * d), persistent=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> SeqOutput:
        c = self.config
        if self.reads_values and x.dim() == 3:
            x = x[..., 0]
        if not self.reads_values and x.dim() == 2:
            x = x.unsqueeze(-1)
        if not self.reads_values and x.shape[-1] != c.num_features:
            raise BadInput(f"model expects {c.num_features} features, got {x.shape[-1]}")
        mask = check_mask(x, mask)
        t = x.shape[1]
        if t > c.max_len:
            raise BadInput(f"sequence has {t} steps; the model supports at most {c.max_len}")
        dtype = self.embed.weight.dtype
        if self.reads_values:
            z, last, scale = structural.normalise(x, mask)
            inputs = structural.step_features(z, mask).to(dtype)
        else:
            inputs = (x.to(dtype) - self.input_mean.to(dtype)) / self.input_std.to(dtype) * mask.unsqueeze(-1)
        h = self.embed(inputs) + self.position[:t]
        allowed = mask[:, None, None, :]  # (B, 1, 1, T): keys that exist
        if c.causal:
            allowed = allowed & torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        weights, maps = attention_weights_wanted(), []
        for layer in self.layers:
            h, attention = layer(h, allowed, weights)
            maps.append(attention)
        # rows of padded queries → 0; none inside output.prediction_only
        head_attention = torch.stack(maps, 1) * mask[:, None, None, :, None] if weights else None
        h = h * mask.unsqueeze(-1)
        if self.reads_values:
            prediction, attention = self.head(h, mask, z, last, scale)
        else:
            context, attention = self.pool(h, mask)
            prediction = self.classifier(context)
        return SeqOutput(prediction, attention, mask, head_attention)
