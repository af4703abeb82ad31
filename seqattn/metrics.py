"""Batched inference and evaluation tables.

``predict_arrays`` runs any model over padded arrays in length buckets (no padding work, bounded memory);
``test_model`` is the original project's API; ``evaluate`` returns the metrics table for either task,
with scikit-learn's metrics for classification.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .baselines import linear_extrapolation, naive_last_value
from .tasks import task_of


@torch.no_grad()
def predict_arrays(model: nn.Module, values: np.ndarray, mask: np.ndarray, batch_size: int = 4096,
                   progress: bool = False):
    """Run ``model`` over all rows; returns ``(prediction, attention [N, T])`` as numpy arrays in row order.

    ``prediction`` is the next value ``[N]`` or P(class = 1) ``[N]`` for classifiers; ``progress`` shows a
    tqdm bar on stderr.
    """
    from .data.loaders import BucketLoader

    model.eval()
    n, t = mask.shape
    prediction = np.zeros(n)
    attention = np.zeros((n, t))
    task = task_of(model)
    values = task.model_values(values)
    dummy = np.zeros(n)
    device = next(model.parameters()).device
    loader = BucketLoader(values, mask, dummy, batch_size, shuffle=False)
    if progress:
        from tqdm.auto import tqdm

        loader = tqdm(loader, desc="predicting", unit="batch", leave=False)
    for batch in loader:
        out = model(batch.x.to(device), batch.mask.to(device))
        p = task.score(out.prediction)
        rows = batch.index.numpy()
        prediction[rows] = p.double().cpu().numpy()
        attention[rows, : batch.x.shape[1]] = out.attention.double().cpu().numpy()
    return prediction, attention


def test_model(model: nn.Module, loader):
    """Predictions, targets and attentions over a loader of Batches (the original project's API).

    Returns numpy arrays in the loader's row order ``batch.index``: ``preds [N]`` (next value, or
    P(class = 1)), ``targets [N]`` and ``attentions [N, T]`` (zero-padded to the longest batch).
    """
    model.eval()
    task = task_of(model)
    preds, targets, attentions, index = [], [], [], []
    with torch.no_grad():
        for batch in loader:
            out = model(batch.x, batch.mask)
            p = task.score(out.prediction)
            preds.append(p.double().numpy()), targets.append(batch.y.numpy())
            attentions.append(out.attention.double().numpy()), index.append(batch.index.numpy())
    t = max(a.shape[1] for a in attentions)
    order = np.argsort(np.concatenate(index), kind="stable")
    padded = np.concatenate([np.pad(a, ((0, 0), (0, t - a.shape[1]))) for a in attentions])
    return np.concatenate(preds)[order], np.concatenate(targets)[order], padded[order]


def _errors(pred: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    err = pred - target
    return float(np.abs(err).mean()), float(np.sqrt((err**2).mean()))


def next_value_table(prediction, values, lengths, target, family=None, oracle=None):
    """Per-family MAE/RMSE of the model, naive last value, linear extrapolation and (when known) the
    oracle, plus the model's MAE as a ratio to naive and to the oracle; a final ``all`` row."""
    import pandas as pd

    values = values[..., 0] if values.ndim == 3 else values
    predictors = {"model": prediction, "naive": naive_last_value(values, lengths),
                  "linear": linear_extrapolation(values, lengths)}
    if oracle is not None:
        predictors["oracle"] = oracle
    family = np.full(len(target), "all") if family is None else np.asarray(family)
    groups = [(f, family == f) for f in sorted(set(family))]
    if len(groups) > 1:
        groups.append(("all", np.ones(len(target), dtype=bool)))
    rows = []
    for name, rows_mask in groups:
        row = {"family": name, "n": int(rows_mask.sum())}
        for key, pred in predictors.items():
            row[f"{key}_mae"], row[f"{key}_rmse"] = _errors(pred[rows_mask], target[rows_mask])
        row["mae_vs_naive"] = row["model_mae"] / row["naive_mae"] if row["naive_mae"] > 0 else np.nan
        if oracle is not None:  # only meaningful where the oracle has an error: noise-only groups
            noisy_only = name != "all" or len(groups) == 1
            row["mae_vs_oracle"] = (row["model_mae"] / row["oracle_mae"]
                                    if row["oracle_mae"] > 0 and noisy_only else np.nan)
        rows.append(row)
    return pd.DataFrame(rows).set_index("family")


@torch.no_grad()
def predict_proba_arrays(model: nn.Module, values: np.ndarray, mask: np.ndarray, batch_size: int = 4096,
                         progress: bool = False):
    """A classifier over all rows: ``(probabilities [N, K], attention [N, T])`` as numpy arrays in row order."""
    from .data.loaders import BucketLoader

    model.eval()
    task = task_of(model)
    n, t = mask.shape
    attention, parts = np.zeros((n, t)), {}
    device = next(model.parameters()).device
    loader = BucketLoader(values, mask, np.zeros(n), batch_size, shuffle=False)
    if progress:
        from tqdm.auto import tqdm

        loader = tqdm(loader, desc="predicting", unit="batch", leave=False)
    for batch in loader:
        out = model(batch.x.to(device), batch.mask.to(device))
        rows = batch.index.numpy()
        parts[rows[0]] = (rows, task.probabilities(out).double().cpu().numpy())
        attention[rows, : batch.x.shape[1]] = out.attention.double().cpu().numpy()
    k = next(iter(parts.values()))[1].shape[1] if parts else 2
    probabilities = np.zeros((n, k))
    for rows, p in parts.values():
        probabilities[rows] = p
    return probabilities, attention


def multiclass_metrics(probabilities: np.ndarray, label: np.ndarray, classes=None) -> dict:
    """Accuracy, macro F1, per-class recall and the confusion matrix for K classes (scikit-learn).

    ``label`` holds class codes 0..K-1; a code of -1 marks a class the model never saw in training: such
    sequences count as errors and are listed under ``unseen``. ``classes`` names the codes (default
    ``0..K-1``). ROC AUC is one-vs-rest (binary: of P(class 1)); None, with a note, when undefined.
    """
    from sklearn.metrics import confusion_matrix, f1_score, recall_score, roc_auc_score

    probabilities, label = np.asarray(probabilities, dtype=float), np.asarray(label)
    k = probabilities.shape[1]
    names = [str(c) for c in (classes if classes is not None else range(k))]
    predicted = probabilities.argmax(1)
    seen = label >= 0
    codes = np.arange(k)
    result = {"accuracy": float((predicted == label).mean()) if len(label) else None,
              "macro_f1": float(f1_score(label[seen], predicted[seen], labels=codes, average="macro",
                                         zero_division=0)) if seen.any() else None,
              "per_class_recall": {}, "n": int(len(label))}
    recall = recall_score(label[seen], predicted[seen], labels=codes, average=None, zero_division=0)
    for j, name in enumerate(names):
        result["per_class_recall"][name] = float(recall[j]) if (label == j).any() else None
    result["confusion_matrix"] = {"labels": names, "matrix": confusion_matrix(label[seen], predicted[seen],
                                                                              labels=codes).tolist()}
    present = np.unique(label[seen])
    if len(present) < 2:
        result["roc_auc"], result["roc_auc_note"] = None, f"{len(present)} class in the file"
    elif k == 2:
        result["roc_auc"] = float(roc_auc_score(label[seen], probabilities[seen, 1]))
    elif len(present) == k:
        result["roc_auc"] = float(roc_auc_score(label[seen], probabilities[seen], multi_class="ovr",
                                                labels=codes))
    else:
        result["roc_auc"], result["roc_auc_note"] = None, "not every class is in the file (one-vs-rest AUC)"
    if not seen.all():
        result["unseen"] = int((~seen).sum())
    return result


def classification_metrics(probability: np.ndarray, label: np.ndarray, threshold: float = 0.5) -> dict:
    """Accuracy, ROC AUC and F1 (scikit-learn) and n, of a binary model's P(class = 1)."""
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    predicted = (probability >= threshold).astype(int)
    both = len(np.unique(label)) == 2
    return {
        "accuracy": float(accuracy_score(label, predicted)),
        "roc_auc": float(roc_auc_score(label, probability)) if both else float("nan"),
        "f1": float(f1_score(label, predicted, zero_division=0)),
        "n": int(len(label)),
    }


def evaluate(model: nn.Module, data, batch_size: int = 4096):
    """Metrics table for ``model`` on generated data (NextValueData/SignalData) or a LongData file.

    Next value: per-family DataFrame (see :func:`next_value_table`). Classify: one-row DataFrame with
    accuracy, ROC AUC, F1, n.
    """
    prediction, _ = predict_arrays(model, data.values, data.mask, batch_size)
    return task_of(model).evaluation_table(prediction, data)


# The original project's README examples: (name, sequence, true next value, the original's prediction).
# sin t: sin 5 = −0.959; noisy line: the least-squares continuation; log decay: the curve's continuation.
ORIGINAL_EXAMPLES = (
    ("linear", (2, 4, 6, 8, 10), 12.0, 12.0786),
    ("sinusoidal (sin t)", (0, 0.84, 0.91, 0.14, -0.76), -0.959, -1.331),
    ("noisy linear", (3.0, 6.1, 9.2, 12.0), 15.1, 14.94),
    ("log decay", (4.39, 3.91, 3.58, 3.33, 3.14), 2.97, 3.24),
    ("rise and fall", (1, 2, 2.5, 2, 1), float("nan"), float("nan")),
)


def example_table(model: nn.Module):
    """The original project's example table, its predictions beside ours, with absolute errors."""
    import pandas as pd

    from .api import predict_next

    rows = []
    for name, seq, truth, theirs in ORIGINAL_EXAMPLES:
        ours = predict_next(seq, model).prediction
        rows.append({"example": name, "sequence": " ".join(f"{v:g}" for v in seq), "truth": truth,
                     "theirs": theirs, "ours": ours, "theirs_error": abs(theirs - truth),
                     "ours_error": abs(ours - truth)})
    return pd.DataFrame(rows).set_index("example")


def signal_detection_table(model, n: int = 4000, seed: int = 123):
    """Accuracy of ``model`` vs the matched filter at the default and the hard difficulty, and how often
    the top-1 attention step lies inside the planted event (correct class-1 predictions)."""
    import pandas as pd

    from .baselines import fit_threshold, matched_filter_scores
    from .config import SignalConfig, hard_signal_config
    from .data import generate_signal, signal_pattern

    rows = []
    for name, make in (("default", SignalConfig), ("hard", hard_signal_config)):
        fit, test = generate_signal(make(num_samples=n, seed=seed)), generate_signal(make(num_samples=n, seed=seed + 1))
        cfg = make()
        pattern = signal_pattern(cfg.event_len, cfg.num_features, cfg.amplitude)
        threshold = fit_threshold(matched_filter_scores(fit.values, fit.mask, pattern)[0], fit.label)
        mf = (matched_filter_scores(test.values, test.mask, pattern)[0] > threshold).astype(int)
        prob, attention = predict_arrays(model, test.values, test.mask)
        m = classification_metrics(prob, test.label)
        hits = test.salient[np.arange(len(test)), attention.argmax(1)]
        correct_pos = (test.label == 1) & (prob >= 0.5)
        rows.append({"difficulty": name, "n": len(test), "accuracy": m["accuracy"], "roc_auc": m["roc_auc"],
                     "f1": m["f1"], "matched_filter_accuracy": float((mf == test.label).mean()),
                     "top1_in_event": float(hits[correct_pos].mean())})
    return pd.DataFrame(rows).set_index("difficulty")


test_model.__test__ = False  # a public API named test_*: tell pytest it is not a test
