"""Figures for the notebooks and reports. matplotlib/seaborn are imported inside each function, so
importing seqattn never pays for them. Every function returns the Figure.
"""

from __future__ import annotations

import numpy as np


def _plt():
    import matplotlib.pyplot as plt

    return plt


def plot_family_gallery(lengths=(5, 12, 32), seed: int = 0, families=None):
    """One small panel per next-value family, a few sequences of different lengths each, with the
    next value (the target) marked."""
    from .config import DataConfig
    from .data import FAMILIES, generate_next_value

    plt = _plt()
    families = list(families or FAMILIES)
    cols = 4
    rows = -(-len(families) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, family in zip(axes.flat, families, strict=False):
        for k, length in enumerate(lengths):
            d = generate_next_value(DataConfig(num_samples=1, min_len=length, max_len=length,
                                               families=(family,), seed=seed + 97 * k))
            v = d.values[0, :length]
            scale = np.abs(v).max() or 1.0  # several magnitudes on one panel: show each curve scaled
            line = ax.plot(np.arange(length), v / scale, marker=".", lw=1, ms=3, label=f"L={length}")[0]
            ax.plot([length], [d.target[0] / scale], marker="*", ms=9, color=line.get_color())
        ax.set_title(family, fontsize=10)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(families):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="best")
    fig.suptitle("Next-value families (each curve scaled by its max |value|; ★ = the next value)", fontsize=11)
    fig.tight_layout()
    return fig


def plot_signal_examples(data, n: int = 4):
    """Feature traces of ``n`` signal sequences with the planted event shaded."""
    plt = _plt()
    fig, axes = plt.subplots(n, 1, figsize=(10, 1.6 * n), sharex=True, squeeze=False)
    for i, ax in enumerate(axes[:, 0]):
        length = int(data.lengths[i])
        for d in range(data.values.shape[2]):
            ax.plot(data.values[i, :length, d], lw=0.9, label=f"x{d}")
        if data.label[i] == 1:
            s = int(data.event_start[i])
            ax.axvspan(s - 0.5, s + data.salient[i].sum() - 0.5, color="gold", alpha=0.35, label="event")
        kind = "class 1 (event)" if data.label[i] else "class 0"
        ax.set_ylabel(kind + (" + distractor" if data.distractor[i] else ""), fontsize=8)
    axes[0, 0].legend(ncol=6, fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("t")
    fig.tight_layout()
    return fig


def plot_history(history, metrics=("train_loss", "val_loss"), title: str = ""):
    """Training curves from the history DataFrame ``train_model`` returns."""
    plt = _plt()
    extra = [c for c in ("val_mae_scaled", "val_accuracy") if c in history.columns]
    fig, axes = plt.subplots(1, 1 + len(extra), figsize=(5 * (1 + len(extra)), 3.2), squeeze=False)
    for m in metrics:
        axes[0, 0].plot(history.epoch, history[m], marker="o", ms=3, label=m)
    axes[0, 0].set_xlabel("epoch")
    axes[0, 0].set_yscale("log")
    axes[0, 0].legend()
    for ax, m in zip(axes[0, 1:], extra, strict=True):
        ax.plot(history.epoch, history[m], marker="o", ms=3, color="tab:green")
        ax.set_xlabel("epoch")
        ax.set_title(m)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_prediction(values, prediction: float, attention, truth: float | None = None, title: str = "",
                    map_label: str = "attention"):
    """The sequence, its predicted next point, and the attention (or another influence map, named by
    ``map_label``) of every step in bars beneath."""
    plt = _plt()
    values = np.asarray(values, dtype=float)
    t = np.arange(len(values))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 4.2), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    top.plot(t, values, marker="o", color="tab:blue", label="sequence")
    top.plot([t[-1], len(values)], [values[-1], prediction], ls="--", color="tab:red")
    top.plot([len(values)], [prediction], marker="*", ms=14, color="tab:red", label=f"prediction {prediction:.4g}")
    if truth is not None:
        top.plot([len(values)], [truth], marker="x", ms=10, color="black", label=f"truth {truth:.4g}")
    top.legend(fontsize=8, loc="best")
    top.set_title(title)
    bottom.bar(t, attention, color="tab:purple")
    bottom.set_ylabel(map_label)
    bottom.set_xlabel("t")
    bottom.set_ylim(0, max(1e-9, float(np.max(attention))) * 1.15)
    fig.tight_layout()
    return fig


def plot_signal_attention(values, attention, salient=None, probability: float | None = None, title: str = ""):
    """Feature traces of one sequence ``[T, D]`` over a heat strip of attention; the truth shaded."""
    plt = _plt()
    values = np.asarray(values)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 3.6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for d in range(values.shape[1]):
        top.plot(values[:, d], lw=0.9)
    if salient is not None and np.any(salient):
        steps = np.flatnonzero(salient)
        top.axvspan(steps[0] - 0.5, steps[-1] + 0.5, color="gold", alpha=0.35, label="planted event")
        top.legend(fontsize=8, loc="upper right")
    if probability is not None:
        title = f"{title}  P(class=1) = {probability:.3f}".strip()
    top.set_title(title)
    bottom.imshow(np.asarray(attention)[None, :], aspect="auto", cmap="magma", interpolation="nearest",
                  extent=(-0.5, len(attention) - 0.5, 0, 1))
    bottom.set_yticks([])
    bottom.set_ylabel("attention")
    bottom.set_xlabel("t")
    fig.tight_layout()
    return fig


def plot_attention_heatmap(attention, lengths, family, per_family: int = 6, scale: str = "raw",
                           label: str = "attention"):
    """A map over a batch of next-value sequences (rows), grouped by family (seaborn heatmap).

    ``scale``: ``"raw"`` (the values as given, sequential colours), ``"length"`` (attention × the
    sequence's length on a diverging scale centred on 1 = uniform: 1/length no longer hides the pattern)
    or ``"signed"`` (a diverging scale centred on 0, e.g. recipe weights)."""
    import seaborn as sns

    plt = _plt()
    family = np.asarray(family)
    rows, labels = [], []
    for f in sorted(set(family)):
        for i in np.flatnonzero(family == f)[:per_family]:
            rows.append(i)
            labels.append(f"{f} (L={lengths[i]})")
    t = int(np.max(np.asarray(lengths)[rows]))
    grid = np.full((len(rows), t), np.nan)
    for r, i in enumerate(rows):
        grid[r, : lengths[i]] = attention[i, : lengths[i]] * (lengths[i] if scale == "length" else 1)
    if scale not in ("raw", "length", "signed"):
        raise ValueError(f"scale must be 'raw', 'length' or 'signed', got {scale!r}")
    style = {"cmap": "viridis"}
    if scale == "length":
        top = max(float(np.nanmax(np.abs(grid - 1))), 1e-9)
        style, label = {"cmap": "PuOr_r", "center": 1.0, "vmin": 1 - top, "vmax": 1 + top}, f"{label} × length (1 = uniform)"
    elif scale == "signed":
        top = max(float(np.nanmax(np.abs(grid))), 1e-9)
        style = {"cmap": "RdBu_r", "center": 0.0, "vmin": -top, "vmax": top}
    fig, ax = plt.subplots(figsize=(10, 0.22 * len(rows) + 1.5))
    sns.heatmap(grid, ax=ax, yticklabels=labels, cbar_kws={"label": label}, **style)
    ax.tick_params(axis="y", labelsize=6)
    ax.set_xlabel("t (padding blank)")
    fig.tight_layout()
    return fig


def plot_pred_vs_true(prediction, target, family, last=None):
    """Predicted vs true next value, one colour per family (symmetric-log axes: magnitudes vary)."""
    plt = _plt()
    family = np.asarray(family)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for f in sorted(set(family)):
        m = family == f
        ax.scatter(target[m], prediction[m], s=4, alpha=0.5, label=f)
    lim = np.abs(np.concatenate([prediction, target])).max()
    ax.plot([-lim, lim], [-lim, lim], color="black", lw=0.7)
    ax.set_xscale("symlog")
    ax.set_yscale("symlog")
    ax.set_xlabel("true next value")
    ax.set_ylabel("predicted")
    ax.legend(fontsize=7, markerscale=3)
    fig.tight_layout()
    return fig


def plot_confusion_roc(probability, label, threshold: float = 0.5):
    """Confusion matrix and ROC curve of a binary classifier (scikit-learn for the numbers)."""
    import seaborn as sns
    from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

    plt = _plt()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
    cm = confusion_matrix(label, (np.asarray(probability) >= threshold).astype(int))
    sns.heatmap(cm, annot=True, fmt="d", cmap="Blues", cbar=False, ax=left,
                xticklabels=["pred 0", "pred 1"], yticklabels=["true 0", "true 1"])
    left.set_title("confusion matrix")
    fpr, tpr, _ = roc_curve(label, probability)
    right.plot(fpr, tpr, label=f"AUC = {roc_auc_score(label, probability):.3f}")
    right.plot([0, 1], [0, 1], ls=":", color="grey")
    right.set_xlabel("false positive rate")
    right.set_ylabel("true positive rate")
    right.legend(loc="lower right")
    fig.tight_layout()
    return fig


def plot_deletion(report, title: str = ""):
    """Deletion and insertion curves of every map in an ``explain_report`` table (``report.attrs["curves"]``);
    the titles say which direction is better for the report's task (mean of each curve in the legend)."""
    plt = _plt()
    curves = report.attrs["curves"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
    for name, c in curves.items():
        style = {"ls": ":", "color": "grey"} if name == "random" else {}
        x = np.linspace(0, 1, len(c["deletion"]))
        left.plot(x, c["deletion"], marker=".", label=f"{name} ({np.mean(c['deletion']):.3f})", **style)
        right.plot(x, c["insertion"], marker=".", label=f"{name} ({np.mean(c['insertion']):.3f})", **style)
    higher = report.attrs.get("deletion_higher_is_better")
    if higher is None:
        left.set_title("deletion: remove steps in map order")
        right.set_title("insertion: reveal steps in map order")
        left.set_ylabel("explained score")
    else:  # say which way is better for this task
        better = ("higher", "lower") if higher else ("lower", "higher")
        left.set_title(f"deletion: remove steps in map order ({better[0]} is better)", fontsize=10)
        right.set_title(f"insertion: reveal steps in map order ({better[1]} is better)", fontsize=10)
        left.set_ylabel("|prediction change| / mean step" if higher else "P(predicted class)")
    for ax in (left, right):
        ax.set_xlabel("share of steps")
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_forecasts(history, positions, target, predictions: dict, title: str = ""):
    """One real series: its history, the held-out targets, and each method's one-step forecasts."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 3.4))
    ax.plot(np.arange(len(history)), history, color="0.55", lw=1, label="series")
    ax.plot(positions, target, color="black", lw=1.6, label="held out (truth)")
    for name, p in predictions.items():
        ax.plot(positions, p, lw=1.1, ls="--" if name != "seqattn" else "-", label=name)
    ax.axvline(positions[0] - 0.5, color="0.3", ls=":", lw=1)
    ax.set_xlabel("t")
    ax.legend(fontsize=7, ncol=3)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_class_influence(values, maps, labels, classes=("0", "1"), title: str = ""):
    """Per class: the mean series (±1 sd) over the mean influence map, to see which phase decides."""
    plt = _plt()
    values, maps, labels = np.asarray(values), np.asarray(maps), np.asarray(labels)
    fig, axes = plt.subplots(2, 2, figsize=(10, 4.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for k in (0, 1):
        sel = labels == k
        mean, sd = values[sel].mean(0), values[sel].std(0)
        t = np.arange(values.shape[1])
        axes[0, k].plot(t, mean, color=f"C{k}")
        axes[0, k].fill_between(t, mean - sd, mean + sd, color=f"C{k}", alpha=0.2)
        axes[0, k].set_title(f"class {classes[k]} (n={int(sel.sum())})")
        axes[1, k].imshow(maps[sel].mean(0)[None, :], aspect="auto", cmap="magma", interpolation="nearest",
                          extent=(-0.5, values.shape[1] - 0.5, 0, 1))
        axes[1, k].set_yticks([])
        axes[1, k].set_xlabel("t")
    axes[1, 0].set_ylabel("influence")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_feature_time(cells, feature_names=None, signed: bool = False, vmax: float | None = None, ax=None,
                      title: str = "", label: str = "influence"):
    """Heatmap of one sequence's feature×time map ``[T, D]`` (rows = features, columns = steps) with a
    colour bar. ``signed``: a diverging map centred on 0; ``vmax``: a fixed colour scale (maps drawn with
    the same ``vmax`` compare at a glance), else the map's own max |value|."""
    from matplotlib.colors import Normalize, TwoSlopeNorm

    cells = np.asarray(cells, dtype=float)
    if cells.ndim == 1:
        cells = cells[:, None]
    if not np.isfinite(cells).all():
        raise ValueError("plot_feature_time: the map contains NaN or inf")
    t, d = cells.shape
    names = list(feature_names or [f"x{k}" for k in range(d)])
    top = float(vmax if vmax is not None else (np.abs(cells).max() or 1.0))
    norm = TwoSlopeNorm(0.0, -top, top) if signed else Normalize(0.0, top)
    if ax is None:
        fig, ax = _plt().subplots(figsize=(9, 0.45 * d + 1.3))
    else:
        fig = ax.figure
    image = ax.imshow(cells.T, aspect="auto", cmap="RdBu_r" if signed else "magma", norm=norm,
                      interpolation="nearest", extent=(-0.5, t - 0.5, d - 0.5, -0.5))
    ax.set_yticks(range(d), names)
    ax.set_xlabel("t")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label=label, extend="max" if vmax is not None and not signed else "neither",
                 pad=0.01)
    return fig


def plot_maps_side_by_side(values, maps: dict, title: str = "", mask=None, salient=None):
    """Every map of a few sequences side by side: one row per sequence (its values on the left), one
    column per map, each cell a [T] strip (time reduction) on one fixed 0..1-of-max scale per map.

    ``values`` ``[N, T]`` or ``[N, T, D]``; ``maps``: ``{name: [N, T]}`` (non-negative or signed; signed
    bars are red above 0, blue below); ``salient`` ``[N, T]``: ground-truth steps, shaded in every panel."""
    plt = _plt()
    values = np.asarray(values, dtype=float)
    n, t = values.shape[:2]
    mask = np.ones((n, t), bool) if mask is None else np.asarray(mask, bool)
    names = list(maps)
    fig, axes = plt.subplots(n, len(names) + 1, figsize=(2.2 * (len(names) + 1), 1.25 * n + 0.8),
                             squeeze=False, sharex=True)
    for i in range(n):
        steps = np.flatnonzero(mask[i])
        v = values[i, steps]
        axes[i, 0].plot(steps, v if v.ndim == 1 else v, lw=0.9)
        axes[i, 0].set_yticks([])
        if salient is not None and np.asarray(salient)[i].any():
            truth = np.flatnonzero(np.asarray(salient)[i])
            for ax in axes[i]:
                ax.axvspan(truth[0] - 0.5, truth[-1] + 0.5, color="gold", alpha=0.35, lw=0)
        for j, name in enumerate(names, start=1):
            m = np.asarray(maps[name], dtype=float)[i]
            top = np.abs(m[steps]).max() or 1.0
            signed = (m < 0).any()
            axes[i, j].bar(steps, m[steps] / top, color=np.where(m[steps] < 0, "tab:blue", "tab:red"), width=0.9)
            axes[i, j].set_ylim(-1.05 if signed else 0, 1.05)
            axes[i, j].set_yticks([])
            if i == 0:
                axes[i, j].set_title(name, fontsize=9)
    axes[0, 0].set_title("sequence", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("t", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
