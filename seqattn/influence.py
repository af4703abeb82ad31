"""The exact recipe of a next-value forecast: signed weights on the inputs that reproduce it.

The next-value models normalise each sequence by its last value and mean absolute step, so the prediction
is prediction = last + scale·G(z), z = (x − last)/scale: shift-equivariant (f(x + c) = f(x) + c) and
positively 1-homogeneous (f(λx) = λ·f(x), λ > 0). Any weights of the form

    w_t = ∂last/∂x_t + G·∂scale/∂x_t + scale·Σ_i J_i·∂z_i/∂x_t

then satisfy Σ_t w_t = 1 and Σ_t w_t·x_t = prediction exactly, whatever J is (z is shift- and
scale-invariant, last and scale are shift-/scale-equivariant): every forecast is a weighted sum of its own
inputs. Two recipes choose J:

- ``"rules"`` (the default): J is the gradient of the forecast with the data-chosen coefficients held at
  their values (the gate over the closed-form rules, the correction's coefficient relative to the
  candidates' spread, the AR lag coefficients; ``structural.frozen_rules``, which holds them in the
  current thread only). It reads as "the forecast used these rules with these
  coefficients": a line continued from its last steps puts weight on its last steps. Its weights stay small
  (max |w_t| median 1.05, p99 2.97 on 4,000 held-out sequences, against 1.27 and 8.62 for the full
  gradient: ``benchmarks/bench_influence.py``), and after a strong edit of one step in the app, that step
  carries the largest |contribution| more often (``benchmarks/bench_app.py``: 81.5 % against 47.9 %).
- ``"gradient"``: J = ∂G/∂z, the full gradient w_t = ∂prediction/∂x_t, including how the network's choice
  of rule would change with x_t. Its contributions equal Integrated Gradients from the constant baseline
  x̄ (the path x̄ + α(x − x̄) has gradient w at every α).

The contributions c_t = w_t·(x_t − x̄) (x̄ the mean over valid steps) sum to prediction − x̄ under either
recipe; they are in the prediction's units ("this step pulls the forecast up by 0.8").

Shape legend: B batch, T time.
"""

from __future__ import annotations

import contextlib
import inspect
from dataclasses import dataclass, fields, replace

import torch
from torch import nn

from .masks import check_mask
from .models import structural
from .models.output import SeqOutput

RECIPES = structural.RECIPES


@dataclass(frozen=True)
class Recipe:
    """A batch of forecasts as weighted sums of their inputs.

    Attributes:
        prediction: ``[B]`` float64, the model's forecast.
        weights: ``[B, T]`` float64, the recipe's weight on each step; 0 on padding; each row sums to 1
            and Σ_t weights·x = prediction.
        contributions: ``[B, T]`` float64, weights·(x − mean over valid steps); rows sum to
            prediction − mean.
        mask: ``[B, T]`` bool, True = real step.
        method: ``"rules"`` or ``"gradient"`` (module docstring).
    """

    prediction: torch.Tensor
    weights: torch.Tensor
    contributions: torch.Tensor
    mask: torch.Tensor
    method: str = "rules"


def contributions(weights: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """c_t = w_t·(x_t − x̄) ``[B, T]``, x̄ the mean of ``x`` over valid steps; 0 on padding.

    >>> w = torch.tensor([[-0.5, 0.0, 1.5]], dtype=torch.float64)
    >>> x = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    >>> contributions(w, x, torch.ones(1, 3, dtype=torch.bool)).tolist()
    [[0.5, 0.0, 1.5]]
    """
    x = x.to(torch.float64) * mask
    mean = x.sum(1, keepdim=True) / mask.sum(1, keepdim=True).clamp(min=1)
    return weights.to(torch.float64) * (x - mean) * mask


check_method = structural.check_recipe


def forward_with_influence(model: nn.Module, x: torch.Tensor, mask: torch.Tensor | None = None,
                           method: str = "rules") -> SeqOutput:
    """The model's SeqOutput with ``influence`` ``[B, T]`` (float64 recipe weights) filled, one backward pass.

    ``method``: ``"rules"`` (default) or ``"gradient"`` (module docstring). Uses the model's own
    ``forward(..., influence=True)`` when it has one, else autograd on a float64 copy of ``x`` (any
    next-value model: the identities need only its shift- and scale-equivariance). The returned tensors
    are detached from ``x``.
    """
    check_method(method)
    if getattr(model, "task", "next-value") != "next-value":
        raise ValueError(f"recipes need a next-value model; this one's task is {model.task!r}")
    if x.dim() == 3:
        if x.shape[-1] != 1:
            raise ValueError(f"next-value input must have 1 feature, got {x.shape[-1]}")
        x = x[..., 0]
    mask = check_mask(x, mask)
    if {"influence", "method"} <= set(inspect.signature(model.forward).parameters):
        return model(x, mask, influence=True, method=method)
    x = x.detach().to(torch.float64).requires_grad_(True)
    frozen = structural.frozen_rules() if method == "rules" else contextlib.nullcontext()
    with torch.enable_grad(), frozen:
        out = model(x, mask)
        (weights,) = torch.autograd.grad(out.prediction.sum(), x)
    detached = {f.name: v.detach() if isinstance(v := getattr(out, f.name), torch.Tensor) else v
                for f in fields(out)}
    return replace(out, **{**detached, "influence": weights * mask})


def recipe(model: nn.Module, x: torch.Tensor, mask: torch.Tensor | None = None, method: str = "rules") -> Recipe:
    """Prediction, recipe weights and contributions of a next-value model on ``x [B, T]``; ``method``:
    ``"rules"`` (default) or ``"gradient"`` (module docstring).

    >>> from seqattn.api import load_pretrained
    >>> r = recipe(load_pretrained("next-value"), torch.tensor([[2.0, 4.0, 6.0, 8.0, 10.0]]))
    >>> round(float(r.prediction), 4), round(float(r.weights.sum()), 6)
    (12.0, 1.0)
    >>> round(float((r.weights * torch.tensor([2.0, 4.0, 6.0, 8.0, 10.0])).sum()), 4)
    12.0
    """
    if x.dim() == 3 and x.shape[-1] == 1:
        x = x[..., 0]
    mask = check_mask(x, mask)
    out = forward_with_influence(model, x, mask, method)
    weights = out.influence
    return Recipe(out.prediction.to(torch.float64), weights, contributions(weights, x, mask), mask, method)


def format_recipe(prediction: float, weights, values, digits: int = 2, times: str = "×") -> str:
    """The recipe as one line, e.g. ``12.0 = −0.20×2 + 0.00×4 + … + 0.60×10`` (``times``: the product sign;
    ``"*"`` where the output cannot show ×).

    >>> format_recipe(12.0, [-1.0, 2.0], [8.0, 10.0])
    '12 = -1.00×8 + 2.00×10'
    """
    terms = [f"{float(w):+.{digits}f}{times}{float(v):g}" for w, v in zip(weights, values, strict=True)]
    line = " ".join(terms).replace(" +", " + ").replace(" -", " - ")
    return f"{float(prediction):.6g} = {line.lstrip('+')}"
