"""Influence maps for any seqattn model, and the scores that say whether to trust them.

Maps (all ``[B, T]``, non-negative, summing to 1 over valid steps, 0 on padding):

- ``attention``: the model's pooling attention, as returned in ``SeqOutput.attention``;
- ``attention_norm``: attention × the norm of the value vector it weights (Kobayashi et al. 2020);
- ``rollout``: Transformer only, pooling attention propagated through head-averaged self-attention
  with the residual (Abnar & Zuidema 2020); :func:`head_maps` gives one map per layer and head;
- ``grad_input``: |gradient × input| (Captum ``InputXGradient``);
- ``integrated_gradients``: |Integrated Gradients| from a zero baseline (Captum);
- ``occlusion``: score change when a window of steps is replaced by the baseline (Captum ``Occlusion``);
- ``consensus`` (the default, :data:`DEFAULT_MAP`): the mean of the ``integrated_gradients``,
  ``occlusion`` and ``attention_norm`` maps — gradient, perturbation and attention evidence together;
- ``random``: a seeded random map, the floor every map must beat.

Gradient maps are summed over features. The explained score is P(class = 1) for classifiers and the
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
from .masks import check_mask
from .models.heads import attention_override
from .tasks import task_of

MAPS: dict = {}  # name -> fn(model, x, mask, seed=, ig_steps=, window=) -> [B, T]; see register_map
# The map seqattn presents by default, chosen by measurement (benchmarks/bench_explain.py, README
# "Influence maps"): no single map won every benchmark (occlusion lost on the rare-time box and the
# hidden-Markov switches, attention on all but one); the consensus of a gradient, a perturbation and an
# attention map reached at least Integrated Gradients' AUPRC on all five.
DEFAULT_MAP = "consensus"
CONSENSUS_PARTS = ("integrated_gradients", "occlusion", "attention_norm")


def register_map(name: str, needs: str | None = None):
    """Decorator: register an influence map ``fn(model, x, mask, *, seed, ig_steps, window) -> [B, T]``
    under ``name``; ``needs`` names the model capability it requires (e.g. ``"self_attention"``)."""

    def decorate(fn):
        fn.needs = needs
        MAPS[name] = fn
        return fn

    return decorate


def applicable(model: nn.Module, method: str) -> bool:
    """Can ``method`` explain ``model`` (does the model have the capability the map needs)?"""
    from .models import capabilities

    needs = MAPS[method].needs
    return needs is None or needs in capabilities(model)


def _score_fn(model: nn.Module):
    """Scalar per sequence that the maps explain: the task's score (P(class = 1), or the prediction)."""
    task = task_of(model)

    def score(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return task.score(model(x, mask).prediction)

    return score


def _normalise(m: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = m.abs().double() * mask
    total = m.sum(1, keepdim=True)
    uniform = mask / mask.sum(1, keepdim=True).clamp(min=1)
    return torch.where(total > 0, m / total.clamp(min=1e-300), uniform)


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


def influence_map(model: nn.Module, x: torch.Tensor, mask: torch.Tensor | None = None,
                  method: str = "attention", seed: int = 0, ig_steps: int = 32, window: int = 3) -> torch.Tensor:
    """One influence map ``[B, T]`` (float64) for inputs ``x`` ``[B, T]`` or ``[B, T, D]``.

    >>> from seqattn.api import load_pretrained
    >>> m = influence_map(load_pretrained("signal"), torch.randn(2, 20, 4), method="integrated_gradients")
    >>> tuple(m.shape), bool(torch.allclose(m.sum(1), torch.ones(2, dtype=m.dtype)))
    ((2, 20), True)
    """
    if method not in MAPS:
        raise BadInput(f"unknown method {method!r}; choose from {', '.join(MAPS)}")
    mask = check_mask(x, mask)
    return MAPS[method](model.eval(), x, mask, seed=seed, ig_steps=ig_steps, window=window)


@register_map("attention")
@torch.no_grad()
def attention_map(model, x, mask, **_):
    """The model's pooling attention, as in ``SeqOutput.attention``."""
    return _normalise(model(x, mask).attention, mask)


@register_map("attention_norm")
@torch.no_grad()
def attention_norm_map(model, x, mask, **_):
    """Attention × the norm of the value vector it weights (Kobayashi et al. 2020)."""
    captured = {}
    pool = _pooling(model)
    handle = pool.register_forward_hook(lambda module, args, output: captured.update(h=args[0]))
    try:
        out = model(x, mask)
    finally:
        handle.remove()
    norms = pool.value(captured["h"]).norm(dim=-1).double()
    return _normalise(out.attention.double() * norms, mask)


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
    return _normalise((out.attention.double().unsqueeze(1) @ rollout).squeeze(1), mask)


def _captum_map(model, x, mask, make):
    """Run one Captum attribution ``make(score, xg, baseline)`` and turn it into a map."""
    task = task_of(model)
    xg = x.detach().clone().to(task.dtype)
    base = task.baseline(xg, mask)
    with _no_cudnn():
        attr = make(_score_fn(model), xg, base).detach()
    if attr.dim() == 3:
        attr = attr.abs().sum(-1)
    return _normalise(attr, mask)


@register_map("grad_input")
def grad_input_map(model, x, mask, **_):
    """|gradient × input| (Captum ``InputXGradient``)."""
    from captum.attr import InputXGradient

    return _captum_map(model, x, mask, lambda score, xg, base: InputXGradient(score).attribute(
        xg.requires_grad_(), additional_forward_args=(mask,)))


@register_map("integrated_gradients")
def integrated_gradients_map(model, x, mask, ig_steps: int = 32, **_):
    """|Integrated Gradients| from the task's baseline (Captum)."""
    from captum.attr import IntegratedGradients

    return _captum_map(model, x, mask, lambda score, xg, base: IntegratedGradients(score).attribute(
        xg.requires_grad_(), baselines=base, additional_forward_args=(mask,), n_steps=ig_steps,
        internal_batch_size=len(xg) * ig_steps))


@register_map("occlusion")
def occlusion_map(model, x, mask, window: int = 3, **_):
    """Score change when a window of steps is replaced by the baseline (Captum ``Occlusion``)."""
    from captum.attr import Occlusion

    def make(score, xg, base):
        shape = (window,) if xg.dim() == 2 else (window, xg.shape[2])
        with torch.no_grad():
            return Occlusion(score).attribute(xg, sliding_window_shapes=shape, baselines=base,
                                              additional_forward_args=(mask,))

    return _captum_map(model, x, mask, make)


@register_map("consensus")
def consensus_map(model, x, mask, parts=None, **kw):
    """The mean of the ``integrated_gradients``, ``occlusion`` and ``attention_norm`` maps."""
    parts = parts or {}
    maps = [parts[m] if m in parts else MAPS[m](model, x, mask, **kw) for m in CONSENSUS_PARTS]
    return _normalise(sum(maps) / 3, mask)


@register_map("random")
def random_map(model, x, mask, seed: int = 0, **_):
    """A seeded random map, the floor every map must beat."""
    g = torch.Generator().manual_seed(seed)
    return _normalise(torch.rand(mask.shape, generator=g, dtype=torch.float64), mask)


METHODS = tuple(MAPS)  # the built-in maps, in presentation order


def explain(model: nn.Module, x: torch.Tensor, mask: torch.Tensor | None = None, **kw) -> torch.Tensor:
    """The default influence map (:data:`DEFAULT_MAP`) ``[B, T]``; raw attention stays in ``SeqOutput``."""
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


def influence_maps(model, x, mask=None, methods=None, **kw) -> dict[str, torch.Tensor]:
    """Every applicable map (``rollout`` only for models with self-attention): ``{method: [B, T]}``."""
    methods = methods or [m for m in MAPS if applicable(model, m)]
    maps = {m: influence_map(model, x, mask, m, **kw) for m in methods if m != "consensus"}
    if "consensus" in methods:  # reuse the parts already computed
        maps["consensus"] = consensus_map(model.eval(), x, check_mask(x, mask), parts=maps, **kw)
    return {m: maps[m] for m in methods}


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


@torch.no_grad()
def deletion_insertion(model, x, mask, maps, fractions=np.linspace(0, 1, 11)):
    """Deletion and insertion curves: replace the top-``f`` share of each sequence's steps (in map order)
    by the baseline (deletion), or start from the baseline and reveal them (insertion).

    Returns ``(deletion [F], insertion [F])``, whose means are the areas under the curves. Classifiers:
    the mean probability of the class predicted on the full input (deletion: lower is better; insertion:
    higher is better). Next value: the mean
    absolute change of the prediction from the full-input one, in units of the sequence's mean step
    (deletion: higher is better — removing what mattered moves the prediction; insertion: lower is better).
    """
    model = model.eval()
    mask = check_mask(x, mask)
    task = task_of(model)
    score = task.perturbation_score(model, x, mask)
    base = task.baseline(x, mask)
    ranks = torch.argsort(torch.argsort(-torch.as_tensor(maps).masked_fill(~mask, -1.0), dim=1), dim=1)
    lengths = mask.sum(1, keepdim=True)
    deletion, insertion = [], []
    for f in fractions:
        top = (ranks < torch.round(torch.as_tensor(f) * lengths)) & mask  # (B, T) steps affected
        sel = top if x.dim() == 2 else top.unsqueeze(-1)
        deletion.append(float(score(torch.where(sel, base, x), mask).double().mean()))
        insertion.append(float(score(torch.where(sel, x, base), mask).double().mean()))
    return np.array(deletion), np.array(insertion)


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

    ``df.attrs["curves"]`` holds the deletion/insertion curves (for :func:`seqattn.plots.plot_deletion`)
    and ``df.attrs["attention_tests"]`` the uniform/permutation tests.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(data.values), size=min(n, len(data.values)), replace=False))
    task = task_of(model)
    x = torch.as_tensor(task.model_values(np.asarray(data.values)[rows])).to(task.dtype)
    mask = torch.as_tensor(np.asarray(data.mask)[rows])
    salient = getattr(data, "salient", None)
    label = getattr(data, "label", None)
    maps = influence_maps(model, x, mask, methods, seed=seed)
    ig = maps.get("integrated_gradients")
    records, curves = [], {}
    # localise on the samples whose truth is meaningful: class 1 for event data (class 0 has none)
    for name, m in maps.items():
        row = {"map": name}
        if salient is not None:
            truth = np.asarray(salient)[rows]
            row.update(localisation(m.numpy(), truth, mask.numpy()))
        d, i = deletion_insertion(model, x, mask, m)
        curves[name] = {"deletion": d, "insertion": i}
        row["deletion_auc"], row["insertion_auc"] = float(d.mean()), float(i.mean())
        if ig is not None:
            row["kendall_tau_vs_ig"] = kendall_tau(m.numpy(), ig.numpy(), mask.numpy())
        records.append(row)
    df = pd.DataFrame(records).set_index("map")
    df.attrs["curves"] = curves
    y = None if label is None else np.asarray(label)[rows]
    df.attrs["attention_tests"] = attention_tests(model, x, mask, y)  # every seqattn model pools
    return df
