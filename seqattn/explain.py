"""Influence maps for any seqattn model, and the scores that say whether to trust them.

Every map is a feature×time map ``[B, T, D]`` (D = 1 for next-value models, which read one value per
step). :func:`influence_map` returns it whole (``reduce=None``) or reduced over features (``"time"``,
``[B, T]``, the default) or over time (``"feature"``, ``[B, D]``); absolute (the default: non-negative,
summing to 1 over the valid cells, 0 on padding) or signed (``signed=True``: the same shares with their
sign, Σ|m| = 1). The maps:

- ``attention``: the model's pooling attention, as returned in ``SeqOutput.attention``;
- ``attention_norm``: attention × the norm of the value vector it weights (Kobayashi et al. 2020);
- ``rollout``: Transformer only, pooling attention propagated through head-averaged self-attention
  with the residual (Abnar & Zuidema 2020); :func:`head_maps` gives one map per layer and head;
- ``grad_input``: gradient × input (Captum ``InputXGradient``);
- ``integrated_gradients``: Integrated Gradients from the task's baseline (Captum; 0 for classifiers, the
  sequence mean for next value);
- ``occlusion``: score change when a window of steps is replaced by the baseline (Captum ``Occlusion``);
- ``consensus`` (the default, :data:`DEFAULT_MAP`): the mean of the ``integrated_gradients``,
  ``occlusion`` and ``attention_norm`` maps — gradient, perturbation and attention evidence together
  (per cell, each step's consensus is split among its features as Integrated Gradients splits it);
- ``contributions`` and ``recipe_weights`` (next-value models only): the exact decomposition of the
  forecast (:mod:`seqattn.influence`): w_t·(x_t − mean) and w_t;
- ``random``: a seeded random map, the floor every map must beat.

Gradient maps give one value per cell. Occlusion (whose window covers every feature of its steps) and the
time-only maps (``attention``, ``attention_norm``, ``rollout``, ``random``) give one weight per step; their
feature×time form spreads each step's weight over
its features in proportion to |x − baseline| (the share of the step's input that is away from the task's
baseline; evenly where a step equals the baseline), so their ``"time"`` reduction is the weight itself.

No silent failures: a map with NaN or inf on a valid cell raises a ``ValueError`` naming the map and the
sequences; a map that is zero on every valid cell of a sequence (e.g. occlusion or Integrated Gradients
on a constant next-value sequence, where nothing moves away from the mean baseline) raises too unless the
caller chooses what to do with ``empty="zeros"`` or ``empty="uniform"``. ``consensus`` averages only the
parts that are not empty for that sequence.

The explained score is P(class = 1) for classifiers and the
prediction for next-value models. Captum's LSTM traps are handled: cuDNN's RNN backward refuses eval mode,
so gradients run with cuDNN off; packed sequences are built from the mask inside ``forward``, which Captum
expands with the inputs.

Scores: :func:`localisation` (pointing game, precision@k, AUROC, AUPRC against ground-truth steps),
:func:`deletion_insertion` (remove or reveal steps in map order, area under the score curve),
:func:`attention_tests` (uniform-attention and permutation tests) and Kendall τ against IG; all in one
table by :func:`explain_report`.

Dimension legend: B batch, T time, D features.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

from .errors import BadInput
from .masks import check_mask, sliding_windows
from .models.heads import attention_override
from .models.output import copies_of, prediction_only
from .tasks import task_of

MAPS: dict = {}  # name -> fn(model, x, mask, seed=, ig_steps=, window=) -> [B, T] or [B, T, D]; see register_map
# The map seqattn presents by default, chosen by measurement (benchmarks/bench_explain.py, README
# "Influence maps"): no single map won every benchmark (occlusion lost on the rare-time box and the
# hidden-Markov switches, attention on all but one); the consensus of a gradient, a perturbation and an
# attention map reached at least Integrated Gradients' AUPRC on all five.
DEFAULT_MAP = "consensus"
OCCLUSION_POSITIONS = 256  # occlusion windows per sequence at most: longer inputs slide by more than a step
STEP_BUDGET = 1 << 17  # sequence-steps per batched pass inside a map at most (bounds memory at any length)
SHAPLEY_PERMUTATIONS = 64  # sampled orders of the steps (32 antithetic pairs) per Shapley map
SHAPLEY_PLAYERS = 64  # steps a Shapley map values apart at most: longer inputs are cut into this many stretches
CONSENSUS_PARTS = ("integrated_gradients", "occlusion", "attention_norm")


def consensus_parts(model: nn.Module) -> tuple[str, ...]:
    """The consensus's three parts for ``model``: a model without pooling attention (the random-kernel
    classifier) gives its free map, ``attention`` (its class activation share), in place of ``attention_norm``."""
    from .models import POOLING_ATTENTION, capabilities

    if POOLING_ATTENTION in capabilities(model):
        return CONSENSUS_PARTS
    return tuple("attention" if m == "attention_norm" else m for m in CONSENSUS_PARTS)


def register_map(name: str, needs: str | None = None, task: str | None = None):
    """Decorator: register an influence map ``fn(model, x, mask, *, seed, ig_steps, window)`` under
    ``name``. It returns raw, unnormalised evidence: ``[B, T]`` (one weight per step, spread over the
    features by |x − baseline| share) or ``[B, T, D]`` (one signed value per cell); :func:`influence_map`
    checks, normalises and reduces it. ``needs`` names the model capability the map requires (e.g.
    ``"self_attention"``), ``task`` the only task it explains (e.g. ``"next-value"``)."""

    def decorate(fn):
        fn.needs, fn.task = needs, task
        MAPS[name] = fn
        return fn

    return decorate


def applicable(model: nn.Module, method: str) -> bool:
    """Can ``method`` explain ``model`` (does the model have the capability the map needs)?"""
    from .models import capabilities

    needs, task = MAPS[method].needs, getattr(MAPS[method], "task", None)
    return (needs is None or needs in capabilities(model)) and (task is None or task_of(model).name == task)


def steps_per_pass(model: nn.Module, gradient: bool = False) -> int:
    """Sequence-steps per batched pass inside a map: :data:`STEP_BUDGET`, or fewer where a model declares
    that smaller batches run faster (``model.explain_steps``: ``{"forward": n, "gradient": n}``, for passes
    without and with a backward pass). Only the batching changes, never the map (to float rounding). No
    built-in model declares one now: the Transformer's 8,192 made its maps about 3× faster while they
    materialised its [B, H, T, T] attention weights, but under :func:`~seqattn.models.output.prediction_only`
    (fused attention) it made them 0.90–0.98× as fast at T = 200 (``benchmarks/bench_passes.py``)."""
    own = getattr(model, "explain_steps", {}).get("gradient" if gradient else "forward", STEP_BUDGET)
    return max(1, min(STEP_BUDGET, int(own)))


def _score_fn(model: nn.Module, target=None):
    """What the maps explain: the task's score per sequence (P(class = 1), or the prediction), or, with a
    ``target`` class, the log class probabilities ``[B, K]`` that Captum indexes by that target (a log
    probability does not saturate: a prediction made with P = 1.0 in float32 still has a map)."""
    task = task_of(model)

    def score(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        with prediction_only():
            out = model(x, mask).prediction
        return task.score(out) if target is None else torch.log_softmax(out.float(), -1)

    return score


def _explained_score(task, prediction: torch.Tensor, target=None) -> torch.Tensor:
    """The explained score of each prediction ``[n]``: the task's score, or log P(target) with one ``target``
    class per row (as :func:`_score_fn` gives Captum to index)."""
    if target is None:
        return task.score(prediction)
    return torch.log_softmax(prediction.float(), -1).gather(1, target[:, None]).squeeze(1)


def _rows_score(model: nn.Module, target):
    """``fn(inputs, mask, rows) -> [len(inputs)]``: the explained score of each input, the task's score or,
    with a ``target``, log P(target[rows]) (``rows``: each input's sequence, for batches of perturbed copies)."""
    task = task_of(model)

    def explained(inputs, mask, rows):
        with copies_of(rows), prediction_only():
            out = model(inputs, mask).prediction
        return _explained_score(task, out, None if target is None else target[rows])

    return explained


def _check_target(model: nn.Module, x: torch.Tensor, target):
    """``target`` as a ``[B]`` long tensor of class indices (an int is one class for every row), or None."""
    if target is None:
        return None
    if not hasattr(task_of(model), "probabilities"):
        raise BadInput("target= picks the class a map explains; this model predicts values, not classes")
    k = int(model.config.num_classes)
    t = torch.as_tensor(target, dtype=torch.long).reshape(-1).to(x.device)
    t = t.expand(len(x)).clone() if t.numel() == 1 else t
    if len(t) != len(x) or bool(((t < 0) | (t >= k)).any()):
        raise BadInput(f"target must be one class index in 0..{k - 1} or one per sequence ({len(x)})")
    return t


def _rows(flags: torch.Tensor) -> str:
    rows = torch.nonzero(flags).flatten().tolist()
    return ", ".join(map(str, rows[:8])) + (f", … ({len(rows)} in all)" if len(rows) > 8 else "")


def _check_finite(cells: torch.Tensor, mask: torch.Tensor, method: str) -> None:
    """Refuse a map with NaN/inf on a valid cell: a ValueError naming the map and the sequences."""
    bad = (~torch.isfinite(cells) & mask.unsqueeze(-1)).flatten(1).any(1)
    if bad.any():
        raise BadInput(f"the {method} map is not finite (NaN or inf) for sequence(s) {_rows(bad)}: the model's "
                       "gradients or outputs overflow there; no map is returned rather than a wrong one")


def _as_cells(m: torch.Tensor, x: torch.Tensor, mask: torch.Tensor, base: torch.Tensor | None) -> torch.Tensor:
    """A raw map ``[B, T]`` or ``[B, T, D]`` as cells ``[B, T, D]`` (float64, 0 on padding). A time-only map
    is spread over the features by each cell's share of |x − baseline| (evenly where the step equals it)."""
    m = m.detach().double()
    x3 = x.detach().double() if x.dim() == 3 else x.detach().double().unsqueeze(-1)
    valid = mask.unsqueeze(-1)
    if m.dim() == 3:
        return torch.where(valid, m, torch.zeros_like(m))
    b3 = torch.zeros_like(x3) if base is None else base.detach().double().reshape(x3.shape)
    away = (x3 - b3).abs()
    total = away.sum(-1, keepdim=True)
    share = torch.where(total > 0, away / total.clamp(min=1e-300), torch.full_like(away, 1.0 / x3.shape[-1]))
    cells = torch.where(valid, m.unsqueeze(-1) * share, torch.zeros_like(share))
    return torch.where(valid, cells, torch.zeros_like(cells))


def reduce_map(cells: torch.Tensor, mask: torch.Tensor, reduce: str | None = "time", signed: bool = False,
               empty: str = "raise", method: str = "map") -> torch.Tensor:
    """Normalise feature×time ``cells`` ``[B, T, D]`` per sequence and reduce them.

    Args:
        cells: raw evidence per cell (any scale, any sign); padding is ignored.
        mask: ``[B, T]``, True = real step.
        reduce: ``"time"`` → ``[B, T]`` (summed over features), ``"feature"`` → ``[B, D]`` (summed over
            time), ``None`` → ``[B, T, D]``.
        signed: False: |cells| / Σ|cells| (non-negative, sums to 1); True: cells / Σ|cells| (signed
            shares; Σ|m| = 1 before reducing).
        empty: what to do with a sequence whose map is zero on every valid cell: ``"raise"`` (a
            ValueError naming the sequences), ``"zeros"`` (keep it all zero) or ``"uniform"`` (spread
            evenly over the valid cells — only when the caller asks).
        method: the map's name, for error messages.

    NaN or inf on a valid cell always raises.
    """
    if reduce not in ("time", "feature", None):
        raise BadInput(f"reduce must be 'time', 'feature' or None, got {reduce!r}")
    if empty not in ("raise", "zeros", "uniform"):
        raise BadInput(f"empty must be 'raise', 'zeros' or 'uniform', got {empty!r}")
    valid = mask.unsqueeze(-1)
    _check_finite(cells, mask, method)
    cells = torch.where(valid, cells.double(), torch.zeros((), dtype=torch.float64))
    mass = cells.abs().sum((1, 2), keepdim=True)  # (B, 1, 1)
    zero = (mass == 0).flatten() & mask.any(1)
    if zero.any():
        if empty == "raise":
            raise BadInput(f"the {method} map is zero on every valid step of sequence(s) {_rows(zero)}: the "
                           "score does not move away from the baseline there, so no step can be ranked; pass "
                           "empty='zeros' or empty='uniform' to accept it")
        if empty == "uniform":
            cells = torch.where(zero[:, None, None] & valid, torch.ones_like(cells), cells)
            mass = cells.abs().sum((1, 2), keepdim=True)
    out = (cells if signed else cells.abs()) / mass.clamp(min=1e-300)
    if reduce == "time":
        return out.sum(2)
    if reduce == "feature":
        return out.sum(1)
    return out


def empty_rows(cells: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``[B]`` bool: sequences whose map is zero on every valid cell (see ``empty`` in :func:`reduce_map`)."""
    return (cells.abs() * mask.unsqueeze(-1)).flatten(1).sum(1).eq(0) & mask.any(1)


def _pooling(model: nn.Module):
    from .models.heads import QueryPooling

    for module in model.modules():
        if isinstance(module, QueryPooling):
            return module
    raise BadInput(f"{type(model).__name__} has no attention pooling")


@contextlib.contextmanager
def _no_cudnn():
    with torch.backends.cudnn.flags(enabled=False):
        yield


def feature_time_map(model: nn.Module, x: torch.Tensor, mask: torch.Tensor | None = None,
                     method: str = "attention", seed: int = 0, ig_steps: int = 32, window: int = 3,
                     signed: bool = False, target=None) -> torch.Tensor:
    """The raw evidence of one map as cells ``[B, T, D]`` (float64, unnormalised, 0 on padding; D = 1 for
    next-value models); :func:`influence_map` normalises and reduces it. ``target``: the class the map
    explains (an index, or one per sequence; classifiers only): the map explains log P(target) instead of
    the task's score. Attention maps do not depend on the class."""
    if method not in MAPS:
        raise BadInput(f"unknown method {method!r}; choose from {', '.join(MAPS)}")
    mask = check_mask(x, mask)
    task = task_of(model)
    raw = MAPS[method](model.eval(), x, mask, seed=seed, ig_steps=ig_steps, window=window, signed=signed,
                       **({} if target is None else {"target": target}))
    return _as_cells(raw, x, mask, task.baseline(x.to(task.dtype), mask))


def influence_map(model: nn.Module, x: torch.Tensor, mask: torch.Tensor | None = None,
                  method: str = "attention", seed: int = 0, ig_steps: int = 32, window: int = 3, *,
                  reduce: str | None = "time", signed: bool = False, empty: str = "raise",
                  target=None) -> torch.Tensor:
    """One influence map (float64) for inputs ``x`` ``[B, T]`` or ``[B, T, D]``.

    Args:
        method: a registered map (:data:`MAPS`).
        reduce: ``"time"`` → ``[B, T]`` (the default), ``"feature"`` → ``[B, D]``, ``None`` → ``[B, T, D]``.
        signed: False (the default): non-negative shares summing to 1 over valid cells; True: the
            same shares with their sign (Σ|m| = 1 over cells).
        empty: a sequence whose map is zero everywhere: ``"raise"`` (the default), ``"zeros"`` or
            ``"uniform"``. NaN/inf always raise a ValueError.
        target: classifiers: the class explained (an index, or ``[B]`` indices), as log P(target);
            default: the task's score (P(class = 1) for binary models, the top class's probability).

    >>> from seqattn.api import load_pretrained
    >>> m = influence_map(load_pretrained("signal"), torch.randn(2, 20, 4), method="integrated_gradients")
    >>> tuple(m.shape), bool(torch.allclose(m.sum(1), torch.ones(2, dtype=m.dtype)))
    ((2, 20), True)
    """
    mask = check_mask(x, mask)
    cells = feature_time_map(model, x, mask, method, seed, ig_steps, window, signed, target)
    return reduce_map(cells, mask, reduce, signed, empty, method)


def top_steps(cells, k: int = 3, mask=None) -> list[tuple[int, float, int]]:
    """The ``k`` most influential steps of one sequence's feature×time map ``[T, D]`` (or ``[T]``) as
    ``(t, weight, top feature)``, highest weight first: weight = the step's share of Σ|m|, top feature =
    the feature with the largest |m| at that step.

    >>> top_steps([[0.1, 0.0], [0.2, 0.6], [0.0, 0.1]], k=2)
    [(1, 0.8, 1), (0, 0.1, 0)]
    """
    m = torch.as_tensor(cells, dtype=torch.float64)
    if m.dim() == 1:
        m = m.unsqueeze(-1)
    if m.dim() != 2:
        raise BadInput(f"top_steps takes one sequence's map [T, D] or [T], got shape {tuple(m.shape)}")
    if not torch.isfinite(m).all():
        raise BadInput("top_steps: the map contains NaN or inf")
    valid = torch.ones(len(m), dtype=torch.bool) if mask is None else torch.as_tensor(mask, dtype=torch.bool)
    a = m.abs() * valid.unsqueeze(-1)
    total = float(a.sum()) or 1.0
    per_step = a.sum(1) / total
    order = np.argsort(-per_step.numpy(), kind="stable")[: min(k, int(valid.sum()))]
    return [(int(t), round(float(per_step[t]), 12), int(a[t].argmax())) for t in order]


@torch.no_grad()
def step_features(model: nn.Module, x: torch.Tensor, mask: torch.Tensor, steps: torch.Tensor,
                  target=None) -> torch.Tensor:
    """Which feature of a step mattered: for each sequence's ``steps`` ``[B, k]``, the change in the
    explained score when one feature of that step alone is set to the task's baseline.

    Returns ``[B, k, D]`` float64: score(x) − score(x with cell (t, f) at the baseline), the score being
    log P(target) when ``target`` is given (as in :func:`feature_time_map`), else the task's score. One
    forward pass per (step, feature) pair, batched: a faithful per-feature answer for the steps a time map
    ranked first (an occlusion window over all features, or an attention weight, cannot tell features apart).
    """
    mask = check_mask(x, mask)
    task = task_of(model)
    x = x.to(task.dtype)
    x3 = x if x.dim() == 3 else x.unsqueeze(-1)
    b, k = steps.shape
    d = x3.shape[-1]
    target = _check_target(model, x, target)
    score = _rows_score(model.eval(), target)

    def explained(inputs, m, rows):
        return score(inputs if x.dim() == 3 else inputs[..., 0], m, rows)

    base = task.baseline(x, mask).reshape(x3.shape)
    full = explained(x3, mask, torch.arange(b)).double()
    effects = torch.zeros(b, k, d, dtype=torch.float64)
    rows = torch.arange(b).repeat_interleave(d)  # (B·D,) one copy per feature
    feats = torch.arange(d).repeat(b)
    for j in range(k):
        t = steps[rows, j]
        copies = x3[rows].clone()
        copies[torch.arange(len(rows)), t, feats] = base[rows, t, feats]
        effects[:, j] = (full[rows] - explained(copies, mask[rows], rows).double()).view(b, d)
    return effects


@register_map("attention")
@torch.no_grad()
def attention_map(model, x, mask, **_):
    """The model's pooling attention, as in ``SeqOutput.attention`` (time-only)."""
    return model(x, mask).attention.double()


@register_map("attention_norm", needs="pooling_attention")
@torch.no_grad()
def attention_norm_map(model, x, mask, **_):
    """Attention × the norm of the value vector it weights (Kobayashi et al. 2020); with several pooling
    heads, Σ_h a_{h,t}·‖v_{h,t}‖ (each head's weight times the norm of its own slice of the value)."""
    captured = {}
    pool = _pooling(model)
    handle = pool.register_forward_hook(lambda module, args, output: captured.update(h=args[0], m=args[1]))
    try:
        out = model(x, mask)
    finally:
        handle.remove()
    h = captured["h"]
    weights = pool.head_weights(h, captured["m"]).double()  # (B, heads, P)
    norms = pool.value(h).view(*h.shape[:2], pool.heads, -1).norm(dim=-1).double()  # (B, P, heads)
    weighted = (weights * norms.transpose(1, 2)).sum(1)  # (B, P)
    if weighted.shape[1] == out.attention.shape[1]:
        return weighted
    return model.spread(weighted, mask)  # patches of several steps (long inputs) -> one weight per step


@register_map("rollout", needs="self_attention")
@torch.no_grad()
def rollout_map(model, x, mask, **_):
    """Pooling attention propagated through head-averaged self-attention with the residual."""
    out = model(x, mask)
    if out.head_attention is None:
        raise BadInput("rollout needs a Transformer (per-layer self-attention)")
    b, _, _, t, _ = out.head_attention.shape
    eye = torch.eye(t, dtype=torch.float64)
    rollout = eye.expand(b, t, t)
    for layer in out.head_attention.double().unbind(1):  # (B, H, T, T) per layer
        a = layer.mean(1) + eye  # the residual path
        a = a / a.sum(-1, keepdim=True)
        rollout = a @ rollout
    return (out.attention.double().unsqueeze(1) @ rollout).squeeze(1)


def _captum_map(model, x, mask, make, target=None):
    """Run one Captum attribution ``make(score, xg, baseline, target)``: signed, one value per cell."""
    task = task_of(model)
    xg = x.detach().clone().to(task.dtype)
    base = task.baseline(xg, mask)
    target = _check_target(model, xg, target)
    with _no_cudnn():
        return make(_score_fn(model, target), xg, base, target).detach()


@register_map("grad_input")
def grad_input_map(model, x, mask, target=None, **_):
    """gradient × input (Captum ``InputXGradient``)."""
    from captum.attr import InputXGradient

    return _captum_map(model, x, mask, lambda score, xg, base, target: InputXGradient(score).attribute(
        xg.requires_grad_(), target=target, additional_forward_args=(mask,)), target)


@register_map("integrated_gradients")
def integrated_gradients_map(model, x, mask, ig_steps: int = 32, target=None, **_):
    """Integrated Gradients from the task's baseline (Captum)."""
    from captum.attr import IntegratedGradients

    batch = max(1, min(len(x) * ig_steps, steps_per_pass(model, gradient=True) // max(1, x.shape[1])))
    return _captum_map(model, x, mask, lambda score, xg, base, target: IntegratedGradients(score).attribute(
        xg.requires_grad_(), baselines=base, target=target, additional_forward_args=(mask,), n_steps=ig_steps,
        internal_batch_size=batch), target)


@register_map("occlusion")
def occlusion_map(model, x, mask, window: int = 3, target=None, local: bool = True, **_):
    """Score change when a window of steps is replaced by the baseline (Captum ``Occlusion``).

    The window covers every feature of its steps, so the map is one value per step (the window's effect):
    returned ``[B, T]``, the feature×time cells spread it over a step's features by their share of
    |x − baseline| like every step-level map, so a step's cells sum to its effect. (Before, each feature of
    a step got the same value: per cell, AUPRC on the saliency benchmarks' cell truth was 0.135 / 0.431 / 0.333 on SeqComb-MV / LowVar / HMM, spread 0.303 / 0.668 /
    0.642, one-off check with freshly trained pooling models; per step nothing changes.)

    Cost: one forward pass per window position. Beyond :data:`OCCLUSION_POSITIONS` steps the window slides
    by ``ceil(T / OCCLUSION_POSITIONS)`` steps (and is at least that wide), so a long sequence costs a
    bounded number of passes: its map is coarser, one value per stretch of steps.

    The same windows and arithmetic as Captum's ``Occlusion``, with two savings (``local=False`` runs
    Captum's, for every model; tests hold both to it, cell for cell):

    - a window that changes no valid cell (it covers only padding, or steps equal to the baseline) is not
      run: its score change is exactly 0, since padding never changes a result. A batch of sequences of
      different lengths costs their valid steps, not B × the longest (:func:`_skipping_occlusion`);
    - a model with its own ``occlusion_logits`` (the random-kernel classifier) gives the occluded copies'
      logits itself, recomputing only the steps each window reaches (:func:`_local_occlusion`): 6.9×
      faster at T = 200 (9.1× with 3 features), 2.2× at T = 50, 14.5× at T = 500, 20.5× at T = 1,000
      (``benchmarks/bench_occlusion.py``, 2 CPU threads, same run)."""
    from captum.attr import Occlusion

    t = x.shape[1]
    stride = max(1, -(-t // OCCLUSION_POSITIONS))
    window = min(max(window, stride), t)  # a sequence shorter than the window is occluded whole
    if local and hasattr(model, "occlusion_logits"):
        return _local_occlusion(model, x, mask, window, stride, target)
    if local:
        return _skipping_occlusion(model, x, mask, window, stride, target)
    per_eval = max(1, min(64, 4096 // len(x), steps_per_pass(model) // max(1, len(x) * t)))  # bounded memory

    def make(score, xg, base, target):
        shape, strides = ((window,), (stride,)) if xg.dim() == 2 else ((window, xg.shape[2]), (stride, 1))
        with torch.no_grad():
            return Occlusion(score).attribute(xg, sliding_window_shapes=shape, strides=strides, baselines=base,
                                              target=target, additional_forward_args=(mask,),
                                              perturbations_per_eval=per_eval)

    cells = _captum_map(model, x, mask, make, target)
    return cells.mean(-1) if cells.dim() == 3 else cells  # each cell of a window holds the window's effect


def _local_occlusion(model, x, mask, window: int, stride: int, target=None) -> torch.Tensor:
    """Occlusion from a model's own ``occlusion_logits(x, mask, base, window, stride)`` (the logits of ``x``
    and of each occluded copy; the random-kernel classifier recomputes only the steps a window reaches):
    the same arithmetic as Captum's ``Occlusion``, each step's value the mean of score(x) − score(occluded)
    over the windows that cover it."""
    task = task_of(model)
    xg = x.detach().to(task.dtype)
    target = _check_target(model, xg, target)
    with torch.no_grad():
        logits, occluded = model.occlusion_logits(xg, mask, task.baseline(xg, mask), window, stride)
        forward = model(xg, mask).prediction
    scale = float(forward.abs().max()) if forward.numel() else 0.0
    if logits.shape != forward.shape or not torch.allclose(logits.float(), forward.float(), rtol=1e-4,
                                                            atol=1e-4 * max(1.0, scale)):
        # a model that forwards ``occlusion_logits`` from another (a wrapper that changes the output) would be
        # explained wrongly: Captum's Occlusion explains what ``forward`` returns
        return occlusion_map(model, x, mask, window, target, local=False)
    b, p, k = occluded.shape
    before = _explained_score(task, logits, target)
    after = _explained_score(task, occluded.reshape(b * p, k), None if target is None else target.repeat_interleave(p))
    after = after.view(b, p)
    return _occlusion_from_scores(before, after, sliding_windows(x.shape[1], window, stride, x.device)[2])


def _occlusion_from_scores(before: torch.Tensor, after: torch.Tensor, covered: torch.Tensor) -> torch.Tensor:
    """Captum's occlusion arithmetic: each step's value is the mean of score(x) − score(occluded copy) over the
    windows that cover it (``before`` ``[B]``, ``after`` ``[B, P]``, ``covered`` ``(P, T)``)."""
    c = covered.double()
    return ((before[:, None] - after).double() @ c) / c.sum(0)


def _skipping_occlusion(model, x, mask, window: int, stride: int, target=None) -> torch.Tensor:
    """Captum's Occlusion without the windows that change no valid cell: only the (sequence, window) pairs
    that change a valid cell are run, as many copies per pass as :func:`steps_per_pass` allows."""
    task = task_of(model)
    xg = x.detach().to(task.dtype)
    base = task.baseline(xg, mask)
    score = _rows_score(model, _check_target(model, xg, target))
    b, t = mask.shape
    covered = sliding_windows(t, window, stride, mask.device)[2]  # (P, T)
    moved = ((xg != base) if xg.dim() == 2 else (xg != base).any(-1)) & mask  # (B, T)
    row, pos = torch.nonzero((moved[:, None, :] & covered).any(-1), as_tuple=True)
    chunk = max(1, min(4096, steps_per_pass(model) // max(1, t)))
    with torch.no_grad(), _no_cudnn():
        before = score(xg, mask, torch.arange(b, device=mask.device))
        after = before[:, None].repeat(1, len(covered))
        for lo in range(0, len(row), chunk):
            r, q = row[lo : lo + chunk], pos[lo : lo + chunk]
            sel = covered[q] if xg.dim() == 2 else covered[q].unsqueeze(-1)
            after[r, q] = score(torch.where(sel, base[r], xg[r]), mask[r], r).to(after.dtype)
    return _occlusion_from_scores(before, after, covered)


@register_map("shapley")
def shapley_map(model, x, mask, seed: int = 0, target=None, permutations: int = SHAPLEY_PERMUTATIONS, **_):
    """Shapley values of the steps for the task's score, a removed step set to the task's baseline (the
    sequence mean for next value): permutation sampling (Štrumbelj & Kononenko 2014) with antithetic
    pairs, each random order of the steps and its reverse. Every sampled order telescopes, so a sequence's
    values sum *exactly* to score(x) − score(baseline) (next value: prediction − mean, in the prediction's
    units, like the recipe's contributions), and a padded step gets 0. Unlike a first-order map (the
    recipe, gradients) or a 3-step window (occlusion), each step's value averages its effect over every
    set of other steps already removed: where the model switches rule when several steps go, the value
    sees it.

    Cost: ``permutations`` × (players + 1) forward passes per sequence, without gradients; a sequence of
    more than :data:`SHAPLEY_PLAYERS` valid steps is cut into that many contiguous stretches, each one
    player (its value shared evenly by its steps), so the cost is bounded at any length."""
    task = task_of(model)
    xg = x.detach().to(task.dtype)
    base = task.baseline(xg, mask)
    score = _rows_score(model, _check_target(model, xg, target))
    b, t = mask.shape
    dev = mask.device
    position = mask.long().cumsum(1) - 1  # each valid step's place among its sequence's valid steps
    length = mask.sum(1, keepdim=True).clamp(min=1)
    players = length.clamp(max=SHAPLEY_PLAYERS)  # (B, 1)
    player = torch.where(mask, position * players // length, torch.zeros_like(position))  # (B, T)
    n = int(players.max())
    g = torch.Generator().manual_seed(seed)
    pairs = max(1, permutations // 2)
    # the same draws for every sequence (the first n of SHAPLEY_PLAYERS): a sequence's map depends on its own
    # values, its length and the seed, never on which other sequences share its batch
    keys = torch.rand(pairs, 1, SHAPLEY_PLAYERS, generator=g)[:, :, :n].expand(pairs, b, n).to(dev)
    keys = torch.cat([keys, 1.0 - keys])  # each order and its reverse: (2·pairs, B, n)
    keys = keys.masked_fill(torch.arange(n, device=dev) >= players, 2.0)  # absent players come last
    rank = torch.argsort(torch.argsort(keys, dim=-1), dim=-1).flatten(0, 1)  # each player's place, (orders·B, n)
    step_rank = rank.gather(1, player.repeat(2 * pairs, 1))  # (orders·B, T)
    row = torch.arange(b, device=dev).repeat(2 * pairs)  # the sequence of each (order, sequence) pair
    values = torch.zeros(b, n, dtype=torch.float64, device=dev)
    chunk = max(1, steps_per_pass(model) // max(1, (n + 1) * t * (x.shape[2] if x.dim() == 3 else 1)))
    for lo in range(0, len(row), chunk):  # every order of every sequence in as few forward passes as fit
        hi, r = min(len(row), lo + chunk), row[lo : lo + chunk]
        shown = step_rank[lo:hi, None, :] < torch.arange(n + 1, device=dev)[None, :, None]  # (c, n + 1, T)
        sel = shown if x.dim() == 2 else shown.unsqueeze(-1)
        xs = torch.where(sel, xg[r, None], base[r, None]).flatten(0, 1)
        ms = mask[r, None].expand(-1, n + 1, -1).flatten(0, 1)
        with torch.no_grad():
            f = score(xs, ms, r.repeat_interleave(n + 1)).double().reshape(hi - lo, n + 1)
        values.index_add_(0, r, (f[:, 1:] - f[:, :-1]).gather(1, rank[lo:hi].clamp(max=n - 1)))
    values = values / (2 * pairs)
    size = torch.zeros(b, n, dtype=torch.float64, device=dev).scatter_add_(1, player, mask.double()).clamp(min=1)
    return torch.where(mask, (values / size).gather(1, player), torch.zeros((), dtype=torch.float64, device=dev))


@register_map("contributions", task="next-value")
def contributions_map(model, x, mask, **_):
    """Next value: the exact contributions w_t·(x_t − mean) of :mod:`seqattn.influence`'s default
    ("rules") recipe, in the prediction's units; they sum to prediction − mean. (The "gradient" recipe's
    contributions equal Integrated Gradients from the mean: the ``integrated_gradients`` map.)"""
    from .influence import recipe

    return recipe(model, x, mask).contributions


@register_map("recipe_weights", task="next-value")
def recipe_weights_map(model, x, mask, **_):
    """Next value: the recipe weights w_t (Σ w_t = 1, Σ w_t·x_t = prediction) of :mod:`seqattn.influence`'s
    default ("rules") recipe."""
    from .influence import recipe

    return recipe(model, x, mask).weights


@register_map("consensus")
def consensus_map(model, x, mask, parts=None, signed: bool = False, **kw):
    """The mean of the ``integrated_gradients``, ``occlusion`` and ``attention_norm`` maps, each normalised
    per sequence; a part that is empty for a sequence (zero everywhere) is left out of that sequence's mean
    rather than averaged in. ``parts``: their cells ``[B, T, D]`` when already computed.

    Per cell (D > 1, unsigned): occlusion and attention_norm know only steps, so each step's consensus is
    shared among its features as Integrated Gradients shares it (by |x − baseline| where IG is 0 at that
    step); per step nothing changes. Measured on the saliency benchmarks' cell truth, one-off check with
    freshly trained pooling models (AUPRC tint / TimeX): LowVar 0.797 / 0.837 → 0.890 / 0.937, HMM
    0.669 / 0.688 → 0.831 / 0.833, SeqComb-MV 0.353 / 0.411 → 0.372 / 0.437."""
    parts, names = parts or {}, consensus_parts(model)
    cells = [parts[m] if m in parts else feature_time_map(model, x, mask, m, signed=signed, **kw) for m in names]
    for name, c in zip(names, cells, strict=True):
        _check_finite(c, mask, name)
    used = torch.stack([~empty_rows(c, mask) for c in cells]).double()  # (parts, B)
    total = sum(reduce_map(c, mask, None, signed, "zeros") * u[:, None, None] for c, u in zip(cells, used, strict=True))
    total = total / used.sum(0).clamp(min=1)[:, None, None]
    if signed or total.shape[-1] == 1:
        return total
    ig = cells[names.index("integrated_gradients")].abs()
    step_ig = ig.sum(-1, keepdim=True)
    step = total.sum(-1, keepdim=True)
    return torch.where(step_ig > 0, step * ig / step_ig.clamp(min=1e-300), total)


@register_map("random")
def random_map(model, x, mask, seed: int = 0, **_):
    """A seeded random map, the floor every map must beat."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(mask.shape, generator=g, dtype=torch.float64)


METHODS = tuple(MAPS)  # the built-in maps, in presentation order


def explain(model: nn.Module, x: torch.Tensor, mask: torch.Tensor | None = None, **kw) -> torch.Tensor:
    """The default influence map (:data:`DEFAULT_MAP`) ``[B, T]``; raw attention stays in ``SeqOutput``.
    Keyword arguments (``reduce``, ``signed``, ``empty``, ...) go to :func:`influence_map`."""
    return influence_map(model, x, mask, DEFAULT_MAP, **kw)


@torch.no_grad()
def head_maps(model: nn.Module, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Transformer only: one map per layer and head, ``[B, L, H, T]`` — the pooling attention carried back
    through that head's self-attention (each row a distribution over valid steps)."""
    mask = check_mask(x, mask)
    out = model.eval()(x, mask)
    if out.head_attention is None:
        raise BadInput("per-head maps need a Transformer (per-layer self-attention)")
    pooled = out.attention.double()[:, None, None, None, :]  # (B, 1, 1, 1, T) over queries
    maps = (pooled @ out.head_attention.double()).squeeze(-2)  # (B, L, H, T) over keys
    return maps * mask[:, None, None, :]


def influence_maps(model, x, mask=None, methods=None, *, reduce: str | None = "time", signed: bool = False,
                   empty: str = "raise", **kw) -> dict[str, torch.Tensor]:
    """Every applicable map (``rollout`` only for models with self-attention): ``{method: map}``, each as
    :func:`influence_map` returns it (``reduce``, ``signed``, ``empty`` as there); the consensus reuses
    the parts already computed."""
    mask = check_mask(x, mask)
    methods = methods or [m for m in MAPS if applicable(model, m)]
    needed = [m for m in methods if m != "consensus"]
    if "consensus" in methods:
        needed += [m for m in consensus_parts(model) if m not in needed]
    cells = {m: feature_time_map(model, x, mask, m, signed=signed, **kw) for m in needed}
    if "consensus" in methods:
        cells["consensus"] = consensus_map(model.eval(), x, mask, parts=cells, signed=signed, **kw)
    return {m: reduce_map(cells[m], mask, reduce, signed, empty, m) for m in methods}


def localisation(maps: np.ndarray, salient: np.ndarray, mask: np.ndarray) -> dict:
    """Scores of ``maps`` [N, T] against ground-truth ``salient`` steps, over samples with any truth.

    pointing game (top-1 step is salient), precision@k (k = number of salient steps), and the mean
    per-sample AUROC and AUPRC over valid steps (scikit-learn). A perfect map scores 1 on all four; a
    random one scores about the base rate (precision, AUPRC) and 0.5 (AUROC).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    maps, salient, mask = np.asarray(maps, dtype=float), np.asarray(salient, bool), np.asarray(mask, bool)
    rows = np.flatnonzero((salient & mask).any(1) & (~salient & mask).any(1))
    if not len(rows):
        raise BadInput("no sample has both salient and non-salient valid steps")
    pointing, precision, auroc, auprc = [], [], [], []
    for i in rows:
        valid = mask[i]
        m, s = maps[i, valid], salient[i, valid]
        k = int(s.sum())
        order = np.argsort(-m, kind="stable")
        pointing.append(s[order[0]])
        precision.append(s[order[:k]].mean())
        auroc.append(roc_auc_score(s, m))
        auprc.append(average_precision_score(s, m))
    return {"pointing_game": float(np.mean(pointing)), "precision_at_k": float(np.mean(precision)),
            "auroc": float(np.mean(auroc)), "auprc": float(np.mean(auprc)),
            "base_rate": float(np.mean([salient[i, mask[i]].mean() for i in rows])), "n": int(len(rows))}


def feature_pointing(cells: np.ndarray, salient_cells: np.ndarray, mask: np.ndarray, model=None, x=None) -> dict:
    """Does a feature×time map ``[N, T, D]`` name the right step *and* the right feature? Over samples
    with any true cell: ``pointing_game_feature`` is the share whose top step (largest Σ_d |m|) carries
    truth and whose top feature at that step (largest |m|) is a true cell; ``feature_right`` the share
    of top steps inside the truth whose top feature is right. With ``model`` and its inputs ``x``, also
    ``pointing_game_infer``: the same with the feature named as ``seqattn infer`` names it, the one whose
    removal alone moves the score most (:func:`step_features` at the map's top step)."""
    cells, truth = np.abs(np.asarray(cells, dtype=float)), np.asarray(salient_cells, bool)
    mask = np.asarray(mask, bool)
    rows = np.flatnonzero((truth & mask[:, :, None]).any((1, 2)))
    if not len(rows):
        raise BadInput("no sample has a true cell")
    steps = np.where(mask[rows], cells[rows].sum(-1), -np.inf)
    top = steps.argmax(1)
    step_right = truth[rows, top].any(-1)
    feature = cells[rows, top].argmax(-1)
    both = step_right & truth[rows, top, feature]
    out = {"pointing_game_feature": float(both.mean()),
           "feature_right": float(both.sum() / max(int(step_right.sum()), 1))}
    if model is not None:
        idx = torch.as_tensor(rows)
        effects = step_features(model, x[idx], torch.as_tensor(mask[rows]), torch.as_tensor(top)[:, None])
        named = effects[:, 0].abs().argmax(-1).numpy()
        out["pointing_game_infer"] = float((step_right & truth[rows, top, named]).mean())
    return out


@torch.no_grad()
def deletion_insertion(model, x, mask, maps, fractions=np.linspace(0, 1, 11), per_sequence: bool = False):
    """Deletion and insertion curves: replace the top-``f`` share of each sequence's steps (in map order)
    by the baseline (deletion), or start from the baseline and reveal them (insertion).

    Returns ``(deletion [F], insertion [F])``, whose means are the areas under the curves. Classifiers:
    the mean probability of the class predicted on the full input (deletion: lower is better; insertion:
    higher is better). Next value: the mean
    absolute change of the prediction from the full-input one, in units of the sequence's mean step
    (deletion: higher is better — removing what mattered moves the prediction; insertion: lower is better).
    ``per_sequence``: ``[F, B]`` curves, one column per sequence (for paired comparisons of two maps).
    """
    model = model.eval()
    mask = check_mask(x, mask)
    task = task_of(model)
    base = task.baseline(x, mask)
    ranks = torch.argsort(torch.argsort(-torch.as_tensor(maps).masked_fill(~mask, -1.0), dim=1), dim=1)
    lengths = mask.sum(1, keepdim=True)
    deletion, insertion = [], []
    with prediction_only():
        score = task.perturbation_score(model, x, mask)
        for f in fractions:
            top = (ranks < torch.round(torch.as_tensor(f) * lengths)) & mask  # (B, T) steps affected
            sel = top if x.dim() == 2 else top.unsqueeze(-1)
            deletion.append(score(torch.where(sel, base, x), mask).double().cpu().numpy())
            insertion.append(score(torch.where(sel, x, base), mask).double().cpu().numpy())
    deletion, insertion = np.stack(deletion), np.stack(insertion)
    return (deletion, insertion) if per_sequence else (deletion.mean(1), insertion.mean(1))


@contextlib.contextmanager
def override_attention(model, how: str, seed: int = 0):
    """Inside the block the pooling attention is replaced: ``"uniform"`` over valid steps, or
    ``"permute"`` (the same weights shuffled among the valid steps)."""
    pool = _pooling(model)
    g = torch.Generator().manual_seed(seed)

    def uniform(attention, mask):
        return mask.to(attention.dtype) / mask.sum(1, keepdim=True).clamp(min=1)

    def permute(attention, mask):
        noise = torch.rand(attention.shape, generator=g).to(attention.device).masked_fill(~mask, 2.0)
        order = torch.argsort(noise, dim=1)  # valid steps first, in random order
        idx = torch.argsort(torch.argsort((~mask).float(), dim=1, stable=True), dim=1)
        return attention.gather(1, order.gather(1, idx))

    if how not in ("uniform", "permute"):
        raise BadInput(f"how must be 'uniform' or 'permute', got {how!r}")
    with attention_override(pool, uniform if how == "uniform" else permute):
        yield model


@torch.no_grad()
def attention_tests(model, x, mask, y=None) -> dict:
    """Does the output depend on *where* attention points? The uniform-attention test (accuracy or MAE
    with attention frozen to uniform) and the permutation test (mean |output change| when the weights are
    shuffled among valid steps), after Jain & Wallace 2019 and Serrano & Smith 2019."""
    from .models import POOLING_ATTENTION, capabilities

    if POOLING_ATTENTION not in capabilities(model):
        return {}  # no attention to replace (the random-kernel classifier pools every step alike)
    model = model.eval()
    score = _score_fn(model)
    mask = check_mask(x, mask)
    base = score(x, mask).double()
    with override_attention(model, "uniform"):
        uni = score(x, mask).double()
    with override_attention(model, "permute"):
        perm = score(x, mask).double()
    result = {"uniform_mean_abs_change": float((uni - base).abs().mean()),
              "permutation_mean_abs_change": float((perm - base).abs().mean())}
    if y is not None:
        result.update(task_of(model).score_accuracy({"accuracy": base, "accuracy_uniform": uni}, y))
    return result


def kendall_tau(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Mean per-sample Kendall τ between two maps over valid steps."""
    from scipy.stats import kendalltau

    taus = [kendalltau(a[i, mask[i]], b[i, mask[i]]).statistic for i in range(len(a)) if mask[i].sum() > 1]
    return float(np.nanmean(taus))


def explain_report(model, data, methods=None, n: int = 256, seed: int = 0):
    """Every map × every metric on ``n`` samples of ``data`` (anything with values, mask and, for the
    localisation scores, ``salient``; ``label`` is used when present): one DataFrame, one row per map.

    ``empty_maps`` counts the sequences whose map was zero on every step (kept as zeros: nothing to rank).
    ``df.attrs["curves"]`` holds the deletion/insertion curves (for :func:`seqattn.plots.plot_deletion`),
    ``df.attrs["deletion_higher_is_better"]`` which way the deletion curve is better for the model's task
    and ``df.attrs["attention_tests"]`` the uniform/permutation tests.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(data.values), size=min(n, len(data.values)), replace=False))
    task = task_of(model)
    x = torch.as_tensor(task.model_values(np.asarray(data.values)[rows])).to(task.dtype)
    mask = torch.as_tensor(np.asarray(data.mask)[rows])
    salient = getattr(data, "salient", None)
    salient_cells = getattr(data, "salient_cells", None)
    label = getattr(data, "label", None)
    cells = influence_maps(model, x, mask, methods, seed=seed, empty="zeros", reduce=None)
    feature_truth = None if salient_cells is None or x.dim() < 3 else np.asarray(salient_cells)[rows]
    if feature_truth is not None and (feature_truth == feature_truth.any(2, keepdims=True)).all():
        feature_truth = None  # every feature of a true step is true: any top feature is "right", say nothing
    maps = {name: c.sum(2) for name, c in cells.items()}  # [B, T], as reduce="time" gives
    ig = maps.get("integrated_gradients")
    records, curves = [], {}
    # localise on the samples whose truth is meaningful: class 1 for event data (class 0 has none)
    for name, m in maps.items():
        row = {"map": name, "empty_maps": int(empty_rows(m.unsqueeze(-1), mask).sum())}
        if salient is not None:
            truth = np.asarray(salient)[rows]
            row.update(localisation(m.numpy(), truth, mask.numpy()))
        if feature_truth is not None:
            row.update(feature_pointing(cells[name].numpy(), feature_truth, mask.numpy(), model, x))
        d, i = deletion_insertion(model, x, mask, m)
        curves[name] = {"deletion": d, "insertion": i}
        row["deletion_auc"], row["insertion_auc"] = float(d.mean()), float(i.mean())
        if ig is not None:
            row["kendall_tau_vs_ig"] = kendall_tau(m.numpy(), ig.numpy(), mask.numpy())
        records.append(row)
    df = pd.DataFrame(records).set_index("map")
    df.attrs["curves"] = curves
    df.attrs["task"] = task.name
    # which way is better, per task (classify: removing what mattered drops the class probability;
    # next value: removing what mattered moves the prediction)
    df.attrs["deletion_higher_is_better"] = task.name == "next-value"
    y = None if label is None else np.asarray(label)[rows]
    df.attrs["attention_tests"] = attention_tests(model, x, mask, y)
    return df
