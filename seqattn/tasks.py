"""What a model learns, as an object: one :class:`Task` per task, registered by name.

A task owns everything that used to be an ``if task == ...`` branch elsewhere: the target column and how
to read it, the loss, the validation metric and its direction, the score an explanation explains (the one
place logits become probabilities), the baseline a removed step is replaced by, the evaluation summary and
the default model and recipe. Models keep the task's *name* in ``model.task`` (model files store the
name); everything else asks :func:`get_task`.

>>> get_task("classify").metric, get_task("classify").higher_is_better
('val_accuracy', True)

Adding a task: subclass :class:`Task` here and decorate it with ``@register_task``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .errors import BadInput

TASKS: dict[str, Task] = {}


def register_task(cls):
    """Class decorator: register one instance of ``cls`` under ``cls.name``."""
    TASKS[cls.name] = cls()
    return cls


def get_task(task) -> Task:
    """The :class:`Task` named ``task`` (a Task is returned as is); unknown names name the choices."""
    if isinstance(task, Task):
        return task
    if task not in TASKS:
        raise BadInput(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    return TASKS[task]


def task_of(model) -> Task:
    """The task of a seqattn model (``model.task`` holds its name)."""
    return get_task(model.task)


def _prediction(output) -> torch.Tensor:
    """``output.prediction`` of a SeqOutput, or the tensor itself."""
    return output if isinstance(output, torch.Tensor) else output.prediction


class Task:
    """Base class; subclasses set the class attributes and implement the methods."""

    name: str = ""
    target: str = ""  # the column (and data attribute) holding what is learned
    metric: str = ""  # the validation metric train_model reports and selects on
    higher_is_better: bool = False
    default_model: str = ""
    default_recipe: str = ""
    pretrained: str = ""  # the shipped model (seqattn.api.load_pretrained) of this task
    per_step_features: bool = True  # False: the model reads one value per step ([B, T])
    dtype = torch.float32  # the input dtype explanations run in (and models compute in: float32 inputs are range-checked)
    recent_window: bool = False  # True: models read only the most recent max_len steps of a longer input

    def outputs(self, output) -> torch.Tensor:
        """What callers are given per sequence: the prediction itself (subclasses: e.g. probabilities)."""
        return _prediction(output)

    def targets(self, data) -> np.ndarray | None:
        """The y array of a data object (generated data or a LongData file); None when absent."""
        return getattr(data, self.target, None)

    def require_targets(self, data) -> np.ndarray:
        y = self.targets(data)
        if y is None:
            raise BadInput(f"evaluation needs a {self.target!r} column ({self.target_help})")
        return y

    target_help = ""

    def model_values(self, values):
        """Input values in the shape the task's models take (next value: ``[N, T]``)."""
        return values if self.per_step_features or values.ndim != 3 else values[..., 0]

    def improved(self, value: float, best: float | None) -> bool:
        """Is ``value`` better than ``best`` (None: nothing yet) by this task's metric direction?"""
        if best is None:
            return True
        return value > best if self.higher_is_better else value < best

    def best_row(self, history):
        """The history row whose weights train_model keeps (the first best by the task's metric)."""
        column = history[self.metric]
        return history.loc[column.idxmax() if self.higher_is_better else column.idxmin()]

    # subclasses implement:
    def loss(self, output, batch, cfg, train: bool = True) -> torch.Tensor:
        raise NotImplementedError

    def batch_metric(self, output, batch) -> tuple[float, int]:
        raise NotImplementedError

    def score(self, output) -> torch.Tensor:
        """The scalar per sequence that explanations explain, from a SeqOutput or its prediction."""
        raise NotImplementedError

    def baseline(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def summary(self, table, full: bool = True) -> dict:
        raise NotImplementedError

    def perturbation_score(self, model, x: torch.Tensor, mask: torch.Tensor):
        """``fn(inputs, mask) -> [B]`` that deletion/insertion curves track for perturbed ``inputs``."""
        raise NotImplementedError

    def score_accuracy(self, scores: dict, y) -> dict:
        """Accuracy of each named score tensor against labels ``y`` (empty for tasks without classes)."""
        return {}

    # training on a user's file (seqattn.fit):
    stratify: bool = False  # validation split stratified by the target

    def check_training_targets(self, y: np.ndarray) -> int:
        """Refuse targets no model can learn from; returns the number of classes (0: not a classifier)."""
        return 0

    def fit_scaling(self, values: np.ndarray, mask: np.ndarray) -> dict:
        """Model-config entries that scale inputs, fitted on training values (none by default)."""
        return {}

    def validation_report(self, model, values, mask, y, train_rows, val_rows) -> dict:
        raise NotImplementedError

    def fit_summary(self, report: dict) -> tuple[str, str | None]:
        raise NotImplementedError


@register_task
class NextValue(Task):
    """Predict the next value of a univariate sequence; smooth-L1 in units of the sequence's mean step."""

    name, target, target_help = "next-value", "target", "the true next value"
    metric, higher_is_better = "val_mae_scaled", False
    default_model, default_recipe, pretrained = "lstm", "next-value", "next-value"
    per_step_features, dtype, recent_window = False, torch.float64, True

    def loss(self, output, batch, cfg, train: bool = True) -> torch.Tensor:
        from .models.structural import normalise

        _, _, scale = normalise(batch.x, batch.mask)
        err = (output.prediction - batch.y.to(torch.float64)) / scale
        return F.smooth_l1_loss(err.clamp(-1e3, 1e3), torch.zeros_like(err), beta=cfg.huber_beta).float()

    def batch_metric(self, output, batch) -> tuple[float, int]:
        """Sum over the batch of |error| / the sequence's mean step."""
        from .models.structural import normalise

        _, _, scale = normalise(batch.x, batch.mask)
        return float(((output.prediction - batch.y.to(torch.float64)).abs() / scale).sum()), len(batch)

    def score(self, output) -> torch.Tensor:
        """The prediction itself."""
        return _prediction(output)

    def baseline(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The sequence's own mean (zero would be a value far outside most sequences)."""
        mean = (x * mask).sum(1, keepdim=True) / mask.sum(1, keepdim=True).clamp(min=1)
        return torch.where(mask, mean.expand_as(x), torch.zeros_like(x))

    def perturbation_score(self, model, x, mask):
        """|prediction − the full-input prediction| in units of the sequence's mean step."""
        from .models.structural import normalise

        full, scale = self.score(model(x, mask).prediction), normalise(x, mask)[2]
        return lambda inputs, m: (self.score(model(inputs, m).prediction) - full).abs() / scale

    def summary(self, table, full: bool = True) -> dict:
        """What ``seqattn evaluate`` (``full``) and ``seqattn train`` print from :func:`metrics.evaluate`."""
        row = table.loc["all"]
        if not full:
            return {"mae": row.model_mae, "rmse": row.model_rmse, "n": int(row.n),
                    "naive_mae": row.naive_mae, "linear_mae": row.linear_mae}
        result = {"mae": row.model_mae, "rmse": row.model_rmse, "n": int(row.n),
                  "naive_mae": row.naive_mae, "naive_rmse": row.naive_rmse,
                  "linear_mae": row.linear_mae, "linear_rmse": row.linear_rmse}
        if len(table) > 1:
            result["per_family"] = {f: {"mae": r.model_mae, "rmse": r.model_rmse, "n": int(r.n)}
                                    for f, r in table.drop(index="all").iterrows()}
        return result

    def validation_report(self, model, values, mask, y, train_rows, val_rows) -> dict:
        """MAE on the validation rows beside the naive last value's."""
        from .baselines import naive_last_value
        from .metrics import predict_arrays

        v, m, t = values[val_rows], mask[val_rows], y[val_rows]
        prediction, _ = predict_arrays(model, v, m)
        mae, naive = float(np.abs(prediction - t).mean()), float(np.abs(naive_last_value(v, m.sum(1)) - t).mean())
        return {"metric": "mae", "value": mae, "baselines": {"naive last value": naive},
                "ratio_to_naive": mae / naive if naive > 0 else None}

    def fit_summary(self, report: dict) -> tuple[str, str | None]:
        ratio, naive = report["ratio_to_naive"], report["baselines"]["naive last value"]
        line = (f"validation ({report['validation']} sequences): MAE {report['value']:.4g}"
                f" (naive last value {naive:.4g}" + (f"; ratio {ratio:.3f})" if ratio is not None else ")"))
        if ratio is not None and ratio >= 1:
            return line, ("warning: the model does not beat the naive last value on the validation split; "
                          "more training sequences, or longer ones, may help")
        return line, None

    def evaluation_table(self, prediction, data):
        from .metrics import next_value_table

        return next_value_table(prediction, data.values, data.lengths, self.require_targets(data),
                                getattr(data, "family", None), getattr(data, "oracle", None))

    def example_data(self, num_samples: int, seed: int, max_len: int = 32):
        """Generated data of this task, as ``seqattn generate`` writes it."""
        from .config import DataConfig
        from .data import generate_next_value

        return generate_next_value(DataConfig(num_samples=num_samples, max_len=max_len, seed=seed))

    def test_data(self, num_samples: int, seed: int, model_config):
        """A fresh generated test set sized for a model (``seqattn evaluate`` without a file)."""
        from .config import DataConfig
        from .data import generate_next_value

        return generate_next_value(DataConfig(num_samples=num_samples, min_len=4, max_len=model_config.max_len,
                                              seed=seed))

    def to_long(self, d):
        from .data.io import to_long

        return to_long(d.values, d.mask, target=d.target, extra={"family": d.family, "oracle": d.oracle})


@register_task
class Classify(Task):
    """Sequence classification into K classes (K = the model's number of logits; binary by default)."""

    name, target, target_help = "classify", "label", "0/1"
    metric, higher_is_better = "val_accuracy", True
    default_model, default_recipe, pretrained = "pooling", "signal", "signal"
    positive_class = 1  # the class whose probability binary models report and explanations explain

    def loss(self, output, batch, cfg, train: bool = True) -> torch.Tensor:
        smoothing = cfg.label_smoothing if train else 0.0
        return F.cross_entropy(output.prediction.float(), batch.y.long(), label_smoothing=smoothing)

    def batch_metric(self, output, batch) -> tuple[float, int]:
        """Number of correct predictions in the batch."""
        return float((output.prediction.argmax(-1) == batch.y).sum()), len(batch)

    def probabilities(self, output) -> torch.Tensor:
        """Class probabilities ``[B, K]`` from logits ``[B, K]`` (or a SeqOutput): the one softmax in seqattn."""
        return torch.softmax(_prediction(output).float(), -1)

    outputs = probabilities

    def score(self, output) -> torch.Tensor:
        """P(class = 1) for binary models; for K > 2 classes, the probability of the predicted class."""
        p = self.probabilities(output)
        if p.shape[-1] == 2:
            return p[:, self.positive_class]
        return p.max(-1).values

    def baseline(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """0: the noise mean of signal data."""
        return torch.zeros_like(x)

    def perturbation_score(self, model, x, mask):
        """The probability of the class the model predicts on the full input."""
        predicted = model(x, mask).prediction.argmax(-1)

        def score(inputs, m):
            p = self.probabilities(model(inputs, m).prediction)
            if p.shape[-1] == 2:  # binary: the same arithmetic as P(1) / 1 - P(1)
                p1 = p[:, self.positive_class]
                return torch.where(predicted == self.positive_class, p1, 1 - p1)
            return p.gather(1, predicted[:, None]).squeeze(1)

        return score

    def score_accuracy(self, scores: dict, y) -> dict:
        """Accuracy of thresholding each P(class = 1) at 0.5."""
        y = torch.as_tensor(y)
        return {name: float(((s >= 0.5).long() == y).double().mean()) for name, s in scores.items()}

    def summary(self, table, full: bool = True) -> dict:
        return {k: (int(v) if k == "n" else float(v)) for k, v in table.iloc[0].items()}

    stratify = True

    def check_training_targets(self, y: np.ndarray) -> int:
        """Class codes 0..K-1 with at least two classes present; returns K."""
        y = np.asarray(y)
        if y.dtype.kind not in "iu" or (y < 0).any():
            raise BadInput("training labels must be class codes 0..K-1 (read_long encodes the label column)")
        present = np.unique(y)
        if len(present) < 2:
            raise BadInput(f"the training data holds a single class ({present[0] if len(present) else 'none'}): "
                           "a classifier needs at least two")
        return int(y.max()) + 1

    def fit_scaling(self, values: np.ndarray, mask: np.ndarray) -> dict:
        """Per-feature mean and standard deviation over the valid steps (std 1 for a constant feature)."""
        x = values if values.ndim == 3 else values[..., None]
        valid = x[np.asarray(mask, dtype=bool)]  # (steps, D)
        mean, std = valid.mean(0), valid.std(0)
        std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
        return {"input_mean": tuple(float(v) for v in mean), "input_std": tuple(float(v) for v in std)}

    def validation_report(self, model, values, mask, y, train_rows, val_rows, reference: int = 5_000) -> dict:
        """Accuracy on the validation rows beside the majority class and 1-NN (Euclidean, on the model's
        scaled inputs; at most ``reference`` training rows as references, sampled with a fixed seed)."""
        from .baselines import majority_class, one_nearest_neighbour
        from .metrics import predict_proba_arrays

        v, m, t = values[val_rows], mask[val_rows], y[val_rows]
        probabilities, _ = predict_proba_arrays(model, v, m)
        ref = np.asarray(train_rows)
        if len(ref) > reference:
            ref = np.sort(np.random.default_rng(0).choice(ref, reference, replace=False))
        scaled = _scaled(model, values, mask)
        nn1 = one_nearest_neighbour(scaled[ref], y[ref], scaled[val_rows])
        return {"metric": "accuracy", "value": float((probabilities.argmax(1) == t).mean()),
                "baselines": {"majority": float((majority_class(y[train_rows], len(t)) == t).mean()),
                              "1-NN": float((nn1 == t).mean())}}

    def fit_summary(self, report: dict) -> tuple[str, str | None]:
        b = report["baselines"]
        line = (f"validation ({report['validation']} sequences"
                + (", before retraining on all" if report.get("retrained_on_all") else "")
                + f"): accuracy {report['value']:.3f} (majority {b['majority']:.3f}, 1-NN {b['1-NN']:.3f})")
        best_name = max(b, key=b.get)
        value, best = report["value"], b[best_name]
        if value < best or (value == best < 1.0):  # a tie at a perfect score is not a failure
            verb = "does not beat" if value < best else "only ties"
            return line, (f"warning: the model {verb} {best_name} on the validation split "
                          f"({value:.3f} vs {best:.3f}); more data, or another --model, may help")
        return line, None

    def evaluation_table(self, prediction, data):
        import pandas as pd

        from .metrics import classification_metrics

        return pd.DataFrame([classification_metrics(prediction, self.require_targets(data))])

    def example_data(self, num_samples: int, seed: int, max_len: int = 32):
        """Generated signal data (its own length: ``max_len`` sizes next-value data only)."""
        from .config import SignalConfig
        from .data import generate_signal

        return generate_signal(SignalConfig(num_samples=num_samples, seed=seed))

    def test_data(self, num_samples: int, seed: int, model_config):
        from .config import SignalConfig
        from .data import generate_signal

        return generate_signal(SignalConfig(num_samples=num_samples, num_features=model_config.num_features,
                                            max_len=model_config.max_len, seed=seed))

    def to_long(self, d):
        from .data.io import to_long

        return to_long(d.values, d.mask, label=d.label, salient=d.salient)


def _scaled(model, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Inputs scaled as the model scales them (per-feature config statistics), 0 on padding."""
    x = values if values.ndim == 3 else values[..., None]
    mean = np.asarray(getattr(model.config, "input_mean", ()) or np.zeros(x.shape[2]))
    std = np.asarray(getattr(model.config, "input_std", ()) or np.ones(x.shape[2]))
    return ((x - mean) / std) * np.asarray(mask, dtype=bool)[..., None]
