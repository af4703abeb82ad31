"""seqattn's influence maps beside Captum and tint, on the field's own saliency benchmarks, in one run.

Benchmarks (:mod:`seqattn.data.saliency_benchmarks`): tint's HMM and ARMA (rare feature, rare time) and
TimeX's FreqShapes, SeqComb-UV, SeqComb-MV and LowVar, generated at the peers' test sizes. What the shared
2-core machine affords (all options; ``--small`` is a quick check at a tenth):
  - training: at most ``--train-cap`` 1,500 rows (TimeX trains on 5,000; HMM: 800 sequences × 4 random
    prefixes), ``--epochs`` 5 with patience 3;
  - explained: ``--n-explain`` 64 test samples (TimeX: its 1,000 minus class 0; tint ARMA: 10), HMM
    ``--n-hmm`` 8 sequences × 20 steps (tint: 200 × 200);
  - tint's mask methods on the first ``--mask-n`` 16 of them (HMM: 2 sequences × 20 steps), ExtremalMask
    300 epochs (tint: 500; ARMA: 2,000 as tint), DynaMask 1,000 epochs as tint and 3 keep ratios (tint:
    10 on HMM, 50 on ARMA).

Models: on every labelled benchmark the attention-pooling classifier and the Transformer, trained here with
seqattn.train.train_model on a BucketLoader (the pooling model with the shipped signal recipe's settings),
or with ``--trainer fit`` by seqattn.fit.fit's defaults, as ``seqattn train --csv`` trains on a user's file;
seqattn's classifiers are binary, so for TimeX's four classes the final layer is widened to four. On ARMA
the benchmark's own fixed white box (tint ``Arma.get_white_box``: the summed squares of the salient cells),
explained with the gradient and occlusion maps only (it has no attention).

What is explained: the class the model predicts on the full input (``Explained`` wraps a model so that
its P(class 1) is P(predicted class): seqattn.explain's maps explain P(class 1)). HMM follows tint's
per-step setting: the classifiers are trained on prefixes ``x[:t+1]`` labelled with the label at ``t``
(tint's ``StateClassifierNet.step`` draws a random ``t`` per batch), and every map is computed on the prefix
ending at ``t`` and scored on that prefix's last step (tint's ``TimeForwardTunnel``), for every
``HMM_STRIDE``-th step of each explained test sequence.

Methods, every one on the same models and the same inputs:
  - seqattn.explain.influence_map: attention (the free map from ``forward``), attention_norm, grad_input,
    integrated_gradients, occlusion and consensus (the default map), each per cell ``[B, T, D]``
    (``reduce=None``, as ``seqattn infer`` and the apps compute them; ``--per-step`` gives the older
    ``[B, T]`` maps broadcast over features);
  - Captum, per cell: IntegratedGradients, DeepLift, Saliency, InputXGradient, Occlusion (window 3 steps ×
    1 feature), FeatureAblation (one cell at a time);
  - ``consensus_cells``: the consensus recipe (IG + occlusion + attention_norm, each normalised per
    sample) with Captum's cell-level IG and occlusion: the proposed feature×time default;
  - tint: ExtremalMask and DynaMask (Lightning-trained masks), on the first ``--mask-n`` explained inputs.
Every map is |attribution|. Every method that reads only the prediction gets it from the model's
prediction-only forward (``seqattn.models.output.prediction_only``; the Transformer then skips its attention
weights), seqattn's maps and the peers alike, so their seconds compare like with like.

Scores (``*_tint``: min-max each sample's map, pool every cell of every sample into one precision-recall
curve, as tint.metrics.white_box; ``*_timex``: the same three per sample, averaged, as TimeX's
``ground_truth_xai_eval``): AUPRC (average precision), AUP and AUR (area under precision / recall over
the threshold). Plus seqattn.explain.deletion_insertion on the classifiers (steps removed in map order,
map summed over features) and seconds per 1,000 explained sequences (HMM: per prefix).

Run: make saliency-peers          (own venv .venv-saliency with the `saliency-peers` extra)
     .venv-saliency/bin/python benchmarks/peers/bench_saliency.py --small   (a quick check)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent.parent))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from seqattn.data.loaders import BucketLoader  # noqa: E402
from seqattn.data.saliency_benchmarks import BENCHMARKS, arma_white_box, generate_benchmark  # noqa: E402
from seqattn.explain import DEFAULT_MAP, applicable, deletion_insertion, influence_map  # noqa: E402
from seqattn.models import SeqOutput, build_model  # noqa: E402
from seqattn.models.output import input_rows, prediction_only  # noqa: E402
from seqattn.pretrain import signal_recipe  # noqa: E402
from seqattn.train import TrainConfig, set_seed, train_model  # noqa: E402

THREADS = 2
HMM_STRIDE = 10  # explain every 10th step of each HMM test sequence (tint: every step)
SEQATTN_MAPS = ("attention", "attention_norm", "grad_input", "integrated_gradients", "occlusion")
CAPTUM_MAPS = ("IntegratedGradients", "DeepLift", "Saliency", "InputXGradient", "Occlusion", "FeatureAblation")
TINT_MAPS = ("ExtremalMask", "DynaMask")


# ------------------------------------------------------------------------------------------ models

class Explained(nn.Module):
    """``model`` seen as a binary classifier of "the target class" vs the rest: logits
    ``[logsumexp(other classes), target logit]``, so softmax(...)[:, 1] is P(target). ``target`` ``[B]``
    repeats when Captum expands the batch (IG steps, occlusion chunks: batch = k·B, row r ↔ r mod B);
    seqattn's maps that batch copies in their own order say which sequence each row copies
    (``seqattn.models.output.input_rows``)."""

    task = "classify"

    def __init__(self, model: nn.Module, target: torch.Tensor):
        super().__init__()
        self.model, self.target = model, target

    def __getattr__(self, name: str):
        """Anything else the maps read (``spread`` of a model that reads patches, its config, ...) is the
        wrapped model's."""
        try:
            return super().__getattr__(name)
        except AttributeError:
            inner = getattr(self._modules["model"], name)
            return self._occlusion_logits if name == "occlusion_logits" else inner

    def forward(self, x, mask=None) -> SeqOutput:
        out = self.model(x, mask)
        rows = input_rows()  # seqattn's occlusion and Shapley batch copies in their own order and say so
        target = self.target[rows] if rows is not None else self.target.repeat(len(x) // len(self.target))
        return SeqOutput(self._binary(out.prediction, target), out.attention, out.mask, out.head_attention)

    @staticmethod
    def _binary(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        z = logits.float()
        own = z.gather(1, target[:, None])
        others = z.masked_fill(nn.functional.one_hot(target, z.shape[1]).bool(), float("-inf")).logsumexp(1)
        return torch.cat([others[:, None], own], 1)

    def _occlusion_logits(self, x, mask, base, window, stride):
        """The wrapped model's own occluded logits (the random-kernel classifier's), seen as this binary
        classifier, so seqattn's occlusion map explains P(target) here too."""
        logits, occluded = self.model.occlusion_logits(x, mask, base, window, stride)
        b, p, k = occluded.shape
        target = self.target.repeat(len(x) // len(self.target))
        return self._binary(logits, target), self._binary(occluded.reshape(b * p, k),
                                                          target.repeat_interleave(p)).view(b, p, 2)


class WhiteBox(nn.Module):
    """The ARMA benchmark's fixed model (tint ``Arma.get_white_box``) as a seqattn model.

    :meth:`output` is the benchmark's output y = Σ salient cells² (what Captum and tint explain, as in
    tint's experiment). ``forward`` presents it as a classifier with P(class 1) = (1 + y) / (2 + y), a
    monotone function of y, because seqattn.explain's path for 3-D next-value inputs does not run (see the
    report): per sample, grad × input and IG of any g(y) are y's scaled by one factor (IG_i ∝ x_i² either
    way) and occlusion keeps its order, so the min-max-normalised maps are y's own. No attention: the
    attention maps and the consensus (which needs attention_norm) are not defined for it."""

    task = "classify"

    def __init__(self, truth: np.ndarray):
        super().__init__()
        self.register_buffer("truth", torch.as_tensor(truth, dtype=torch.float64))  # [T, D], one location

    def output(self, x, mask=None) -> torch.Tensor:
        return arma_white_box(x.double(), self.truth).sum(1)

    def forward(self, x, mask=None) -> SeqOutput:
        mask = torch.ones(x.shape[:2], dtype=torch.bool) if mask is None else mask
        y = self.output(x)
        uniform = mask.double() / mask.sum(1, keepdim=True)
        return SeqOutput(torch.stack([torch.zeros_like(y), torch.log1p(y)], 1), uniform, mask)


def widen(model: nn.Module, classes: int) -> nn.Module:
    """seqattn's classifiers end in a 2-way Linear; TimeX's benchmarks have 4 classes."""
    if classes == 2:
        return model
    if hasattr(model, "layers"):  # Transformer
        model.classifier = nn.Linear(model.classifier.in_features, classes)
    else:
        model.classifier[-1] = nn.Linear(model.classifier[-1].in_features, classes)
    return model


def model_configs(d: int, t: int) -> dict:
    pooling = dict(signal_recipe().model_config)  # the shipped signal classifier's settings
    return {"pooling": {**pooling, "num_features": d, "max_len": t},
            "transformer": {"num_features": d, "d_model": 32, "num_heads": 4, "num_layers": 2,
                            "dim_feedforward": 64, "max_len": t}}


def prefixes(data, per_sequence: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HMM: random prefixes x[:t+1] (right-padded, masked) labelled with the label at t."""
    n, t, _ = data.values.shape
    rows = np.repeat(np.arange(n), per_sequence)
    ends = rng.integers(0, t, len(rows))
    mask = np.arange(t)[None, :] <= ends[:, None]
    return data.values[rows] * mask[..., None], mask, data.step_label[rows, ends]


def training_rows(name: str, data, per_sequence: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, mask, labels) a classifier trains on: HMM's random prefixes (``per_sequence`` per sequence),
    else the sequences themselves."""
    if name == "hmm":
        return prefixes(data, per_sequence, rng)
    return data.values, data.mask, data.label


def train_front_door(name: str, kind: str, train_data, seed: int = 0):
    """``seqattn.fit.fit`` with its defaults, as ``seqattn train --csv`` trains on a user's file: the recipe,
    schedule, scaling and validation split chosen from the data (here ``model=kind``)."""
    from types import SimpleNamespace

    from seqattn.fit import fit

    xs, ms, ys = training_rows(name, train_data, 4, np.random.default_rng(seed))
    start = time.perf_counter()
    result = fit(SimpleNamespace(values=xs, mask=ms, label=ys), "classify", model=kind, seed=seed, progress=False)
    return result.model.eval(), {"val_accuracy": float(result.report["value"]), "trainer": "seqattn.fit",
                                 "train_seconds": round(time.perf_counter() - start, 1), "train_rows": int(len(xs))}


def train(name: str, kind: str, bench, train_data, val_data, epochs: int, seed: int = 0, trainer: str = "fixed"):
    if trainer == "fit":
        return train_front_door(name, kind, train_data, seed)
    t, d = train_data.values.shape[1:]
    rng = np.random.default_rng(seed)
    xs, ms, ys = training_rows(name, train_data, 4, rng)
    xv, mv, yv = training_rows(name, val_data, 2, rng)
    set_seed(seed)
    model = widen(build_model(kind, "classify", model_configs(d, t)[kind]), bench.num_classes)
    start = time.perf_counter()
    model, history = train_model(model, BucketLoader(xs, ms, ys, 64, seed=seed),
                                 BucketLoader(xv, mv, yv, 500, shuffle=False),
                                 TrainConfig(epochs=epochs, lr=3e-3, patience=3, progress=False, seed=seed))
    return model.eval(), {"val_accuracy": float(history.val_accuracy.max()), "epochs": int(len(history)),
                          "train_seconds": round(time.perf_counter() - start, 1), "train_rows": int(len(xs))}


# -------------------------------------------------------------------------------------- explain sets

def explain_set(name: str, test, n: int, seed: int = 0):
    """Inputs to explain ``(x [B,T,D], mask [B,T], truth [n,T',D], reduce)``; ``reduce`` maps a ``[B,T,D]``
    map to the scored ``[n,T',D]`` (identity, or HMM's last step of each prefix)."""
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero(test.truth.any((1, 2)))  # TimeX scores samples with a truth (class 0 dropped)
    if name == "lowvar":
        rows = np.flatnonzero(test.label != 0)  # TimeX's evaluation drops class 0 on LowVar too
    rows = np.sort(rng.permutation(rows)[:n])
    sub = test.subset(rows)
    if name != "hmm":
        return (torch.as_tensor(sub.values), torch.as_tensor(sub.mask), sub.truth, lambda m: m)
    t = sub.values.shape[1]
    steps = np.arange(HMM_STRIDE - 1, t, HMM_STRIDE)
    mask = np.arange(t)[None, None, :] <= steps[None, :, None]  # (n, S, T)
    mask = np.broadcast_to(mask, (len(rows), len(steps), t)).reshape(-1, t)
    x = np.repeat(sub.values, len(steps), 0) * mask[..., None]

    def reduce(m):  # (n·S, T, D) → (n, S, D): each prefix's last step
        m = m.reshape(len(rows), len(steps), t, -1)
        return m[:, np.arange(len(steps)), steps]

    return torch.as_tensor(x), torch.as_tensor(mask.copy()), sub.truth[:, steps], reduce


# ------------------------------------------------------------------------------------------ metrics

def _pr_areas(truth: np.ndarray, scores: np.ndarray) -> tuple[float, float, float]:
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve

    prec, rec, thr = precision_recall_curve(truth, scores)
    if len(thr) < 2:
        return float(average_precision_score(truth, scores)), 0.0, 0.0
    return float(average_precision_score(truth, scores)), float(auc(thr, prec[:-1])), float(auc(thr, rec[:-1]))


def _minmax(maps: np.ndarray, eps: float) -> np.ndarray:
    flat = maps.reshape(len(maps), -1)
    lo, hi = flat.min(1, keepdims=True), flat.max(1, keepdims=True)
    return (flat - lo) / (hi - lo + eps)


def scores(maps: np.ndarray, truth: np.ndarray) -> dict:
    """AUPRC / AUP / AUR in tint's convention (pooled, min-max eps 1e-5) and TimeX's (per sample, eps 1e-9)."""
    truth = truth.reshape(len(truth), -1).astype(int)
    tint = _pr_areas(truth.reshape(-1), _minmax(maps, 1e-5).reshape(-1))
    norm = _minmax(maps, 1e-9)
    per = np.array([_pr_areas(t, m) for t, m in zip(truth, norm, strict=True) if t.any()])
    out = {f"{k}_tint": round(v, 4) for k, v in zip(("auprc", "aup", "aur"), tint, strict=True)}
    out.update({f"{k}_timex": round(float(v), 4) for k, v in zip(("auprc", "aup", "aur"), per.mean(0), strict=True)})
    return out


# ------------------------------------------------------------------------------------------ methods

def chunked(make_model, x, mask, fn, size: int) -> dict:
    """Run ``fn(model, x, mask) -> {name: (map, seconds)}`` on row chunks (bounded memory: seqattn's IG
    runs every step of every row in one batch, and the Transformer keeps [B, L, H, T, T] attention)."""
    maps: dict = {}
    for i in range(0, len(x), size):
        rows = slice(i, i + size)
        for name, (m, seconds) in fn(make_model(rows), x[rows], mask[rows]).items():
            parts, total = maps.get(name, ([], 0.0))
            maps[name] = (parts + [m], total + seconds)
    return {name: (np.concatenate(parts), total) for name, (parts, total) in maps.items()}


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def seqattn_maps(model, x, mask, per_step: bool = False) -> dict:
    """seqattn.explain's maps per cell [B, T, D] with their times, the consensus as the library computes it
    (its parts again, so its time is the default map's own cost); ``per_step``: the [B, T] maps broadcast
    over features, the consensus averaged from the parts."""
    if not per_step:
        out = {}
        for method in SEQATTN_MAPS + ("consensus",):
            if isinstance(model, WhiteBox) and (method.startswith("attention") or method == "consensus"):
                continue
            if not isinstance(model, WhiteBox) and not applicable(model, method):
                continue  # e.g. attention_norm of the random-kernel classifier (no pooling attention)
            m, s = timed(lambda method=method: influence_map(model, x, mask, method, reduce=None))
            out[f"seqattn:{method}"] = (m.numpy(), s)
        return out
    out = {}
    for method in SEQATTN_MAPS:
        if isinstance(model, WhiteBox) and method.startswith("attention"):
            continue
        m, s = timed(lambda method=method: influence_map(model, x, mask, method))
        out[method] = (m, s)
    if not isinstance(model, WhiteBox):
        parts = [out[m][0] for m in ("integrated_gradients", "occlusion", "attention_norm")]
        total = sum(parts) / 3
        out["consensus"] = (total / total.sum(1, keepdim=True), sum(out[m][1] for m in
                                                                 ("integrated_gradients", "occlusion", "attention_norm")))
    d = x.shape[2]
    return {f"seqattn:{k}": (v.numpy()[:, :, None].repeat(d, 2), s) for k, (v, s) in out.items()}


def score_fn(model):
    """Captum forward: the explained scalar per sequence (P(target), or the white box's output)."""
    if isinstance(model, WhiteBox):
        return model.output
    return lambda x, mask: torch.softmax(predict(model, x, mask), -1)[:, 1]


def predict(model, x, mask) -> torch.Tensor:
    """The logits, as every peer method reads them: the model's prediction-only forward, the same one
    seqattn's maps use (the Transformer then skips its attention weights), so no method is timed on a
    slower forward than another."""
    with prediction_only():
        return model(x, mask).prediction.float()


class _Scalar(nn.Module):
    """Captum's DeepLift needs an nn.Module: the explained scalar of ``model``."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, mask):
        return score_fn(self.model)(x, mask)


def captum_maps(model, x, mask, errors: dict) -> dict:
    from captum.attr import (
        DeepLift,
        FeatureAblation,
        InputXGradient,
        IntegratedGradients,
        Occlusion,
        Saliency,
    )

    f = score_fn(model)
    xf = x.double() if isinstance(model, WhiteBox) else x.float()
    base = torch.zeros_like(xf)
    args = (mask,)
    with torch.backends.cudnn.flags(enabled=False):
        runs = {
            "IntegratedGradients": lambda: IntegratedGradients(f).attribute(
                xf, baselines=base, additional_forward_args=args, n_steps=32, internal_batch_size=len(xf) * 8),
            "DeepLift": lambda: DeepLift(_Scalar(model)).attribute(xf, baselines=base, additional_forward_args=args),
            "Saliency": lambda: Saliency(f).attribute(xf, additional_forward_args=args, abs=True),
            "InputXGradient": lambda: InputXGradient(f).attribute(xf, additional_forward_args=args),
            "Occlusion": lambda: Occlusion(f).attribute(xf, sliding_window_shapes=(3, 1), baselines=0.0,
                                                       additional_forward_args=args, perturbations_per_eval=8),
            "FeatureAblation": lambda: FeatureAblation(f).attribute(xf, baselines=0.0, additional_forward_args=args,
                                                                   perturbations_per_eval=8),
        }
        out = {}
        for name, run in runs.items():
            try:
                m, s = timed(lambda run=run: run().detach().abs().double())
                out[f"captum:{name}"] = (m.numpy() * mask[..., None].numpy(), s)
            except Exception as exc:  # a peer method that does not run on a model is reported, not fatal
                errors[f"captum:{name}"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    return out


def consensus_cells(maps: dict, mask) -> tuple[np.ndarray, float] | None:
    """The proposed cell-level default: mean of per-sample-normalised Captum IG, Captum occlusion and
    seqattn's attention_norm (broadcast over features)."""
    names = ("captum:IntegratedGradients", "captum:Occlusion", "seqattn:attention_norm")
    if not all(n in maps for n in names):
        return None
    parts = [shares(maps[n][0] * mask.numpy()[..., None]) for n in names]
    return sum(parts) / 3, sum(maps[n][1] for n in names)


def shares(cells: np.ndarray) -> np.ndarray:
    """Non-negative cells ``[B, T, D]`` as each sequence's shares (0 where a sequence's map is all 0), the
    per-part normalisation before a consensus averages parts."""
    total = cells.reshape(len(cells), -1).sum(1)[:, None, None]
    return np.where(total > 0, cells / np.maximum(total, 1e-300), 0.0)


def tint_maps(model, x, mask, n: int, epochs: dict, errors: dict) -> dict:
    try:
        from pytorch_lightning import Trainer
        from tint.attr import DynaMask, ExtremalMask
        from tint.attr.models import ExtremalMaskNet, MaskNet
    except ImportError as exc:
        errors["tint"] = f"not installed: {exc}"
        return {}
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    white = isinstance(model, WhiteBox)
    if white:
        def f(inputs, m):
            return model.output(inputs, m)
    else:
        def f(inputs, m):
            return torch.softmax(predict(model, inputs, m), -1)
    xs = (x[:n].double() if white else x[:n].float()).contiguous()
    ms = mask[:n].contiguous()

    batch = len(xs)  # one batch: ``Explained`` aligns its targets with the rows of the whole subset

    def trainer(max_epochs):
        return Trainer(max_epochs=max_epochs, logger=False, enable_progress_bar=False, enable_model_summary=False,
                       enable_checkpointing=False, accelerator="cpu", deterministic=True)

    runs = {
        "ExtremalMask": lambda: ExtremalMask(f).attribute(
            xs, additional_forward_args=(ms,), trainer=trainer(epochs["extremal"]), batch_size=batch,
            mask_net=ExtremalMaskNet(forward_func=f, optim="adam", lr=0.01)),
        "DynaMask": lambda: DynaMask(f).attribute(
            xs, additional_forward_args=(ms,), trainer=trainer(epochs["dyna"]), batch_size=batch, return_best_ratio=True,
            mask_net=MaskNet(forward_func=f, perturbation="gaussian_blur", keep_ratio=epochs["keep_ratio"],
                             size_reg_factor_init=0.1, size_reg_factor_dilation=100, time_reg_factor=1.0,
                             optim="adam", lr=0.001 if white else 0.01))[0],
    }
    out = {}
    for name, run in runs.items():
        try:
            torch.manual_seed(0)
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                m, s = timed(lambda run=run: run().detach().abs().double())
            out[f"tint:{name}"] = (m.numpy() * ms[..., None].numpy(), s)
        except Exception as exc:
            errors[f"tint:{name}"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    return out


# ------------------------------------------------------------------------------------------ one benchmark

def run_benchmark(name: str, args) -> dict:
    bench = BENCHMARKS[name]
    frac = 0.1 if args.small else 1.0
    n_train = min(max(200, int(bench.n_train * frac)), args.train_cap)
    n_test = max(100, int(bench.n_test * frac))
    n_val = max(200, bench.n_val, n_train // 5)
    test = generate_benchmark(name, n_test, seed=3)
    n_explain = min(args.n_explain if name != "hmm" else args.n_hmm, n_test)
    x, mask, truth, reduce = explain_set(name, test, n_explain)
    errors: dict = {}
    result = {"benchmark": name, "source": bench.source, "published": bench.published, "n_train": n_train,
              "n_train_published": bench.n_train,
              "n_test": n_test, "explained_sequences": int(len(x)), "scored_samples": int(len(truth)),
              "models": {}, "rows": [], "errors": errors, "seqattn_maps": "per step" if args.per_step else "per cell"}
    white = bench.num_classes == 0
    if white:
        models = {"white_box": WhiteBox(test.truth[0])}
        epochs = {"extremal": args.extremal_epochs_arma, "dyna": args.dyna_epochs,
                  "keep_ratio": list(np.round(np.linspace(0.01, 0.05, 3), 3))}
    else:
        train_data = generate_benchmark(name, n_train, seed=1)
        val_data = generate_benchmark(name, n_val, seed=2)
        models = {}
        for kind in args.models.split(","):
            model, info = train(name, kind, bench, train_data, val_data, args.epochs, trainer=args.trainer)
            models[kind] = model
            result["models"][kind] = info
            print(f"[{name}] {kind}: {info}", flush=True)
        epochs = {"extremal": args.extremal_epochs, "dyna": args.dyna_epochs,
                  "keep_ratio": [0.25, 0.3, 0.35] if name == "hmm" else [0.05, 0.1, 0.2]}
    rows_per_sample = len(x) // len(truth)  # HMM: prefixes per sequence
    n_mask = min(args.mask_n if name != "hmm" else args.mask_n_hmm, len(truth)) * rows_per_sample
    for kind, base_model in models.items():
        if not white:
            with torch.no_grad():
                target = torch.cat([base_model(x[i : i + args.chunk], mask[i : i + args.chunk]).prediction.argmax(-1)
                                    for i in range(0, len(x), args.chunk)])

        def make(rows, base_model=base_model, target=target if not white else None):
            return base_model if white else Explained(base_model, target[rows]).eval()

        maps = chunked(make, x, mask, lambda m, xx, mm: seqattn_maps(m, xx, mm, args.per_step), args.chunk)
        maps.update(chunked(make, x, mask, lambda m, xx, mm: captum_maps(m, xx, mm, errors), args.chunk))
        cons = consensus_cells(maps, mask)
        if cons is not None:
            maps["proposed:consensus_cells"] = cons
        model_mask = make(slice(0, n_mask))
        tint = tint_maps(model_mask, x, mask, n_mask, epochs, errors)
        for method, (m, seconds) in {**maps, **tint}.items():
            rows = len(m)
            scored = reduce(m) if rows == len(x) else reduce_subset(m, rows_per_sample)
            t = truth[: len(scored)]
            row = {"model": kind, "method": method, "n": int(len(scored)), **scores(scored, t),
                   "seconds_per_1k": round(seconds / rows * 1000, 3)}
            if not white:
                step_map = torch.as_tensor(m.sum(2))
                mm, xx, tt = mask[:rows], x[:rows], target[:rows]
                curves = [deletion_insertion(Explained(base_model, tt[i : i + args.chunk]).eval(),
                                             xx[i : i + args.chunk], mm[i : i + args.chunk], step_map[i : i + args.chunk])
                          for i in range(0, rows, args.chunk)]
                weights = [min(args.chunk, rows - i) for i in range(0, rows, args.chunk)]
                dele = np.average([c[0] for c in curves], axis=0, weights=weights)
                ins = np.average([c[1] for c in curves], axis=0, weights=weights)
                row["deletion_auc"], row["insertion_auc"] = round(float(dele.mean()), 4), round(float(ins.mean()), 4)
            result["rows"].append(row)
            print(f"[{name}] {kind:11s} {method:32s} {json.dumps({k: v for k, v in row.items() if k not in ('model', 'method')})}",
                  flush=True)
    return result


def reduce_subset(m: np.ndarray, rows_per_sample: int) -> np.ndarray:
    """HMM maps of the first k whole sequences' prefixes (the mask-learning subset) → [k, S, D]."""
    if rows_per_sample == 1:
        return m
    t = m.shape[1]
    steps = np.arange(HMM_STRIDE - 1, t, HMM_STRIDE)
    m = m.reshape(-1, rows_per_sample, t, m.shape[2])
    return m[:, np.arange(rows_per_sample), steps]


# ------------------------------------------------------------------------------------------ report

DISPLAY = {"hmm": "HMM (state)", "arma_rare_feature": "ARMA rare-feature", "arma_rare_time": "ARMA rare-time",
           "freqshapes": "FreqShapes", "seqcomb_uv": "SeqComb-UV", "seqcomb_mv": "SeqComb-MV", "lowvar": "LowVar"}


def markdown(results: list[dict], meta: dict) -> str:
    import pandas as pd

    lines = ["# Saliency maps on the field's own benchmarks (seqattn vs Captum vs tint)", "",
             f"Command: `{meta['command']}`; {meta['seconds']:.0f} s on {meta['threads']} threads "
             f"(torch {meta['torch']}, captum {meta['captum']}, tint {meta['tint']}).", "",
             "Columns: AUPRC/AUP/AUR in tint's convention (pooled over every cell of every sample, maps min-max "
             "normalised per sample) and TimeX's (per sample, averaged); deletion/insertion AUC (classifiers: "
             "P(predicted class) as steps are removed/revealed in map order; deletion lower is better); "
             "seconds per 1,000 explained sequences (HMM: per prefix). `seqattn:*` maps are "
             f"{_seqattn_maps(results)}; `n`: scored samples (tint's mask-learning methods ran on a subset).", ""]
    for r in results:
        df = pd.DataFrame(r["rows"])
        lines += [f"## {DISPLAY[r['benchmark']]} (`{r['source']}`)", "",
                  f"train {r['n_train']}, test {r['n_test']}; explained sequences {r['explained_sequences']}, "
                  f"scored samples {r['scored_samples']}; {r['seconds']:.0f} s (`{r['command']}`). " +
                  "; ".join(f"{k}: val accuracy {v['val_accuracy']:.3f} ({str(v['epochs']) + ' epochs' if 'epochs' in v else v['trainer']}, {v['train_seconds']} s)"
                            for k, v in r["models"].items()), ""]
        cols = [c for c in ("model", "method", "n", "auprc_tint", "aup_tint", "aur_tint", "auprc_timex", "aup_timex",
                            "aur_timex", "deletion_auc", "insertion_auc", "seconds_per_1k") if c in df]
        lines += [df[cols].to_markdown(index=False), ""]
        if r["errors"]:
            lines += ["Did not run: " + "; ".join(f"{k} ({v})" for k, v in r["errors"].items()), ""]
    lines += ["## The default map against the best published number", "",
              f"Default map: `seqattn:{DEFAULT_MAP}` ({_seqattn_maps(results)}); the best map of this run in the same "
              "convention "
              "beside it.", ""]
    rows = []
    for r in results:
        df = pd.DataFrame(r["rows"])
        for metric, (value, by, conv) in r["published"].items():
            col = f"{metric}_{conv}"
            for model in df.model.unique():
                d = df[df.model == model].set_index("method")[col]
                default = d.get(f"seqattn:{DEFAULT_MAP}", np.nan)
                rows.append({"benchmark": DISPLAY[r["benchmark"]], "metric": f"{metric.upper()} ({conv})",
                             "published": value, "by": by, "model": model, "default map": default,
                             "gap": round(default - value, 4) if default == default else np.nan,
                             "free map (attention)": d.get("seqattn:attention", np.nan),
                             "best seqattn map": d[[m for m in d.index if m.startswith("seqattn:")]].max(),
                             "best here": d.max(), "best method": d.idxmax()})
    lines += [pd.DataFrame(rows).to_markdown(index=False), ""]
    return "\n".join(lines)


def _seqattn_maps(results: list[dict]) -> str:
    """How the seqattn maps of these results were computed (runs before the per-cell maps: per step)."""
    kinds = sorted({r.get("seqattn_maps", "per step") for r in results})
    text = {"per cell": "per cell [T, D], as `influence_map(..., reduce=None)` gives them",
            "per step": "per step, broadcast over features"}
    return " or ".join(f"{text[k]} ({', '.join(DISPLAY[r['benchmark']] for r in results if r.get('seqattn_maps', 'per step') == k)})"
                       if len(kinds) > 1 else text[k] for k in kinds)


def write_results(out: Path, name: str, meta: dict, results: list[dict]) -> None:
    """benchmarks/results/<name>.json and .md, each written atomically."""
    out.mkdir(exist_ok=True)
    for path, text in ((out / f"{name}.json", json.dumps({"meta": meta, "results": results}, indent=2,
                                                          default=float) + "\n"),
                       (out / f"{name}.md", markdown(results, meta) + "\n")):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="10%% of the published sizes, few epochs, few inputs")
    parser.add_argument("--benchmarks", default=",".join(BENCHMARKS), help="comma-separated subset")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default 5; --small 3)")
    parser.add_argument("--trainer", choices=("fixed", "fit"), default="fixed",
                        help="fixed: --epochs of train_model with the shipped signal recipe's settings; fit: "
                             "seqattn.fit.fit's defaults, as `seqattn train --csv` trains (ignores --epochs)")
    parser.add_argument("--n-explain", type=int, default=None, help="explained test samples (default 64)")
    parser.add_argument("--n-hmm", type=int, default=None, help="explained HMM test sequences (default 8)")
    parser.add_argument("--mask-n", type=int, default=None, help="inputs for tint's mask methods (default 16)")
    parser.add_argument("--mask-n-hmm", type=int, default=None, help="HMM sequences for the mask methods (default 2)")
    parser.add_argument("--extremal-epochs", type=int, default=None, help="ExtremalMask epochs (default 300; tint HMM: 500)")
    parser.add_argument("--extremal-epochs-arma", type=int, default=None, help="on ARMA (default and tint: 2000)")
    parser.add_argument("--dyna-epochs", type=int, default=None, help="DynaMask epochs (default and tint: 1000; before 2026-12-05: 100)")
    parser.add_argument("--chunk", type=int, default=16, help="rows explained per call (memory bound)")
    parser.add_argument("--train-cap", type=int, default=None, help="train rows used (default 1500; tint/TimeX: all)")
    parser.add_argument("--append", action="store_true", help="keep the other benchmarks already in --out")
    parser.add_argument("--models", default="pooling,transformer", help="classifiers trained (comma-separated)")
    parser.add_argument("--per-step", action="store_true",
                        help="seqattn's maps per step, broadcast over features (as runs before the per-cell maps)")
    parser.add_argument("--merge", default=None, help="comma-separated result names to merge into --out (no run)")
    parser.add_argument("--out", default="saliency", help="results name under benchmarks/results/")
    args = parser.parse_args()
    small = args.small
    defaults = {"epochs": 3 if small else 5, "n_explain": 40 if small else 64, "n_hmm": 4 if small else 8,
                "mask_n": 10 if small else 16, "mask_n_hmm": 1 if small else 2,
                "extremal_epochs": 50 if small else 300, "extremal_epochs_arma": 100 if small else 2000,
                "dyna_epochs": 20 if small else 1000, "train_cap": 1500}
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(THREADS)
    import captum

    try:
        import tint
        tint_version = getattr(tint, "__version__", "installed")
    except ImportError:
        tint_version = "not installed"
    out = HERE.parent / "results"
    if args.merge:
        parts = [json.loads((out / f"{name}.json").read_text()) for name in args.merge.split(",")]
        order = list(BENCHMARKS)
        everything = sorted([r for p in parts for r in p["results"]], key=lambda r: order.index(r["benchmark"]))
        meta = {**parts[0]["meta"], "command": "; ".join(p["meta"]["command"] for p in parts),
                "seconds": sum(p["meta"]["seconds"] for p in parts), "merged_from": args.merge.split(",")}
        write_results(out, args.out, meta, everything)
        return
    start = time.perf_counter()
    names = args.benchmarks.split(",")
    for name in names:
        if name not in BENCHMARKS:
            raise SystemExit(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
    kept = []
    if args.append and (out / f"{args.out}.json").exists():
        previous = json.loads((out / f"{args.out}.json").read_text())
        kept = [r for r in previous["results"] if r["benchmark"] not in names]
    results = []
    meta = {"command": "python benchmarks/peers/bench_saliency.py " + " ".join(sys.argv[1:]), "threads": THREADS,
            "torch": torch.__version__, "captum": captum.__version__, "tint": tint_version, "settings": vars(args),
            "hmm_stride": HMM_STRIDE}
    for name in names:
        began = time.perf_counter()
        results.append(run_benchmark(name, args))
        results[-1].update(command=meta["command"], seconds=round(time.perf_counter() - began, 1))
        meta["seconds"] = time.perf_counter() - start
        order = list(BENCHMARKS)
        everything = sorted(kept + results, key=lambda r: order.index(r["benchmark"]))
        write_results(out, args.out, meta, everything)
    print(f"wrote {out / args.out}.json and .md in {meta['seconds']:.0f} s")


if __name__ == "__main__":
    main()
