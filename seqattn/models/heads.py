"""Pieces shared by several models: learned-query attention pooling and the next-value head.

Dimension legend: B batch, T time, H hidden size, K candidate rules.
"""

from __future__ import annotations

import contextlib
import math
from contextvars import ContextVar

import torch
from torch import nn

from ..masks import masked_softmax
from . import structural

# Faithfulness tests (seqattn.explain) replace the pooling weights, e.g. by uniform ones, inside a
# `with attention_override(...)` block: scoped to the block and the current thread/task, never a module
# attribute that a forgotten reset would leave behind. Maps id(QueryPooling) -> fn(attention, mask).
_OVERRIDE: ContextVar[tuple] = ContextVar("seqattn_attention_override", default=())  # ((id, fn), ...)


@contextlib.contextmanager
def attention_override(pool: nn.Module, replace_with):
    """Inside the block, ``pool`` (a :class:`QueryPooling`) returns ``replace_with(attention, mask)``."""
    token = _OVERRIDE.set((*_OVERRIDE.get(), (id(pool), replace_with)))
    try:
        yield pool
    finally:
        _OVERRIDE.reset(token)


def initialised_parameter(shape, init) -> nn.Parameter:
    """``nn.Parameter(init())`` of ``shape``, left empty on the meta device: loading a model file first counts
    its parameters there (checkpoint.parameter_count), and factories or arithmetic on meta tensors go through
    torch's reference ops, whose first use imports sympy and torch._dynamo (1.1 s of every CLI start)."""
    parameter = nn.Parameter(torch.empty(shape))
    if not parameter.is_meta:
        with torch.no_grad():
            parameter.copy_(init())
    return parameter


def check_input_scaling(config) -> None:
    """A classifier config's per-feature ``input_mean``/``input_std``: one value per feature, std finite and > 0."""
    from ..errors import BadInput

    for name in ("input_mean", "input_std"):
        values = getattr(config, name)
        if values and len(values) != config.num_features:
            raise BadInput(f"{name} has {len(values)} values for {config.num_features} features")
    if config.input_std and not all(v > 0 and math.isfinite(v) for v in config.input_std):
        raise BadInput("input_std values must be finite and > 0")


def register_input_scaling(module: nn.Module, config) -> None:
    """The config's input scaling as (non-persistent: the config carries it) buffers ``input_mean``/``input_std``."""
    d = config.num_features
    module.register_buffer("input_mean", torch.tensor(config.input_mean or [0.0] * d), persistent=False)
    module.register_buffer("input_std", torch.tensor(config.input_std or [1.0] * d), persistent=False)


class QueryPooling(nn.Module):
    """Attention pooling with learned queries: scores = K·q / √d, softmax over valid steps.

    With ``heads`` > 1 each head has its own query over its own d = H / heads slice of the keys and
    values (each head can look at a different pattern, and a spread-out head can count one); the
    returned attention is the mean over heads, so it still sums to 1 and the context is exactly
    ``Σ_t Σ_h a_{h,t} · v_{h,t}`` with the weights it reports.

    An :func:`attention_override` replaces every head's weights with the replaced mean.

    Returns ``(context [B, H], attention [B, T])``.
    """

    def __init__(self, hidden_size: int, heads: int = 1):
        super().__init__()
        if heads < 1 or hidden_size % heads:
            raise ValueError(f"heads must divide hidden_size, got {heads} heads for {hidden_size}")
        self.heads = heads
        d = hidden_size // heads
        shape = (hidden_size,) if heads == 1 else (heads, d)  # heads = 1 keeps the shipped state_dicts
        self.query = initialised_parameter(shape, lambda: torch.randn(shape) / math.sqrt(d))
        self.key = nn.Linear(hidden_size, hidden_size)
        self.value = nn.Linear(hidden_size, hidden_size)

    def head_weights(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Each head's own weights ``[B, heads, T]`` (before any :func:`attention_override`)."""
        b, t, width = h.shape
        d = width // self.heads
        keys = self.key(h).view(b, t, self.heads, d)  # (B, T, heads, d)
        scores = torch.einsum("bthd,hd->bht", keys, self.query.view(self.heads, d)) / math.sqrt(d)
        return masked_softmax(scores, mask.unsqueeze(1))

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, width = h.shape
        d = width // self.heads
        attention = self.head_weights(h, mask)  # (B, heads, T)
        for pool_id, replace_with in reversed(_OVERRIDE.get()):  # the innermost block wins
            if pool_id == id(self):
                attention = replace_with(attention.mean(1), mask).unsqueeze(1).expand(-1, self.heads, -1)
                break
        values = self.value(h).view(b, t, self.heads, d)
        context = torch.einsum("bht,bthd->bhd", attention, values).reshape(b, width)
        return context, attention.mean(1)


class NextValueHead(nn.Module):
    """Mixes the closed-form candidate forecasts with weights chosen from the encoder's context.

    prediction = last + scale · (Σ_k g_k · candidate_k + correction), g = softmax(gate),
    |correction| ≤ the gate-weighted spread of the candidates, and the result is kept within
    ``structural.ENVELOPE`` input ranges of the input's min and max
    """

    def __init__(self, hidden_size: int, mlp_size: int = 128):
        super().__init__()
        self.pool = QueryPooling(hidden_size)
        self.mlp = nn.Sequential(
            nn.Linear(2 * hidden_size + structural.NUM_CANDIDATE_FEATURES, mlp_size), nn.GELU(),
            nn.Linear(mlp_size, mlp_size), nn.GELU(),
            nn.Linear(mlp_size, structural.K + 1),
        )

    def forward(self, h: torch.Tensor, mask: torch.Tensor, z: torch.Tensor, last: torch.Tensor,
                scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        context, attention = self.pool(h, mask)
        lengths = mask.sum(1)
        h_last = h.gather(1, (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, h.shape[-1])).squeeze(1)
        cand, feats = structural.candidates(z, mask)
        out = self.mlp(torch.cat([context, h_last, feats.to(h.dtype)], -1)).to(torch.float64)
        gate = torch.softmax(out[:, :-1] + structural.evidence(feats), -1)
        coefficient = torch.tanh(out[:, -1])
        if structural.rules_frozen():  # the "rules" recipe: the network's choice is held, the rules stay live
            gate, coefficient = gate.detach(), coefficient.detach()
        mixed = (gate * cand).sum(-1)
        # the correction can move the prediction only as far as the chosen candidates disagree, so
        # when they agree (a line, a parabola, an exact AR fit) the prediction is exact
        # (sqrt(v + ε²) − ε: 0 with a finite gradient where the candidates agree exactly, √v elsewhere)
        variance = (gate * (cand - mixed.unsqueeze(-1)).pow(2)).sum(-1)
        spread = (variance + structural._TINY**2).sqrt() - structural._TINY
        prediction_z = mixed + coefficient * spread
        # a forecast never leaves the input's range by more than structural.ENVELOPE ranges; in z units, so
        # the bound (min − 3·range or max + 3·range when it binds) is itself shift- and scale-equivariant
        low, high = structural.envelope(z, mask)
        prediction_z = torch.minimum(torch.maximum(prediction_z, low), high)
        return last + scale * prediction_z, attention
