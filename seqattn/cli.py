"""The ``seqattn`` command line: one subcommand per stage, each a thin wrapper over a library function.

Imports are deferred to the subcommand that needs them, so ``seqattn predict`` loads nothing but torch
and the model.

Errors, the rule :func:`main` applies:

- bad input exits with status 2 and one line on stderr, no traceback. Bad input is
  :class:`seqattn.errors.BadInput` (every validation ``raise`` in seqattn, ``UsageError`` included),
  ``FileNotFoundError``/``IsADirectoryError``/``PermissionError``, and any ``ValueError``/``TypeError``
  raised while reading user data or model files (a traceback frame in :data:`INPUT_MODULES`, e.g. a
  parse error from pandas inside ``seqattn.data.io``);
- a full disk or a read-only target (``OSError`` ENOSPC/EDQUOT/EROFS, e.g. ``> /dev/full``) is bad
  input too;
- anything else is a bug: one line ``seqattn: internal error (please report): <type>: <message>``,
  exit status 1; ``SEQATTN_DEBUG=1`` prints the traceback too.

Output is always valid JSON (``allow_nan=False``): a value that is not finite never reaches stdout; an
undefined metric is ``null`` beside a ``<metric>_note`` that says why.

Columns: a model file trained on a file stores its schema (column mapping, feature names); later files are
matched by name (any order). A model file without one (earlier versions, generated data) matches feature
columns by position, with a one-line notice on stderr when the command succeeds.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import re
import sys
from pathlib import Path

from .errors import BadInput, UsageError

EXIT_BAD_INPUT, EXIT_INTERNAL = 2, 1
# ValueError/TypeError raised inside these modules (or the libraries they call) is about the user's data
# or model file: seqattn.data.io and .stream parse files, seqattn.checkpoint unpickles them
INPUT_MODULES = ("seqattn/data/io.py", "seqattn/data/stream.py", "seqattn/checkpoint.py")
# OSErrors that are the user's environment, not our bug: a full disk, a quota, a read-only target
_ENVIRONMENT_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)
_notices: list[str] = []  # printed to stderr when the command succeeds
# argparse takes "-1e3" or "-inf" for an option; numbers like these are values here
_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(f"{self.prog}: {message}")


def _model_file(path, task: str):
    from .api import load_pretrained
    from .checkpoint import load_model
    from .tasks import get_task

    if path is None:
        return load_pretrained(get_task(task).pretrained)
    return load_model(path, task=task)


def _write_lines(lines) -> None:
    out = sys.stdout
    chunk = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= 2048:
            out.write("\n".join(chunk) + "\n")
            chunk = []
    if chunk:
        out.write("\n".join(chunk) + "\n")


def _show_progress(n: int) -> bool:
    """A progress bar for long batch work, on an interactive stderr only (scripts get clean output)."""
    return n >= 20_000 and sys.stderr.isatty()


def _rounded(values, digits: int = 6) -> list[float]:
    return [round(float(v), digits) for v in values]


def _significant(values, digits: int = 7) -> list[float]:
    """Values to ``digits`` significant digits: recipe weights and contributions keep their identities at
    any scale (a contribution of 3e-9 is not 0)."""
    return [float(f"{float(v):.{digits}g}") for v in values]


def _json_id(value):
    return value.item() if hasattr(value, "item") else value


def _human_value(v: float) -> str:
    """4 decimals at everyday scales (``12.0000``); significant digits where 4 decimals would hide the value
    (``4e-05``, ``1.23457e+09``)."""
    return f"{v:.4f}" if v == 0 or 1e-2 <= abs(v) < 1e9 else f"{v:.6g}"


def _can_show(text: str) -> bool:
    """Can stdout's encoding hold ``text`` (not under an ASCII locale with Python's UTF-8 mode off)?"""
    try:
        text.encode(getattr(sys.stdout, "encoding", None) or "utf-8")
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def _dumps(obj) -> str:
    """Strict JSON: NaN/Infinity are refused (a clear error, never invalid JSON on stdout)."""
    try:
        return json.dumps(obj, allow_nan=False)
    except ValueError:
        raise BadInput("a result is not a finite number; the input overflows the model (rescale it)") from None


def _split_names(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise UsageError(f"give column names separated by commas, got {text!r}")
    return names


def column_options(args) -> dict:
    """read_long's column keywords from the --id-col/--time-col/... flags (only those given)."""
    given = {"id_col": getattr(args, "id_col", None), "time_col": getattr(args, "time_col", None),
             "label_col": getattr(args, "label_col", None), "target_col": getattr(args, "target_col", None),
             "features": _split_names(getattr(args, "features", None)),
             "ignore_cols": _split_names(getattr(args, "ignore_cols", None)),
             "missing": getattr(args, "missing", None)}
    return {k: v for k, v in given.items() if v is not None}


def _read_csv_for(model, path, args, require=None):
    """The file's sequences, encoded for ``model``: by the model's schema (columns by name), or, for a
    model file without one, by position (a notice says so)."""
    from .data.io import read_long
    from .files import check_readable_file
    from .tasks import task_of

    check_readable_file(path, "data file")
    options = column_options(args)
    schema = getattr(model, "schema", None)
    if schema is not None:
        options.pop("missing", None)  # the schema's policy applies
        d = read_long(path, schema=schema, require=require, **options)
    else:
        # a next-value model takes the value column alone: datetime times add no gap feature for it
        d = read_long(path, require=require, gap=task_of(model).per_step_features, **options)
        want = model.config.num_features
        if len(d.features) != want:
            raise UsageError(
                f"{path}: the model takes {want} feature column(s) but the file has {len(d.features)} "
                f"({', '.join(d.features)})"
            )
        _notices.append(f"seqattn: note: the model file stores no column names (an earlier version, or trained on "
                        f"generated data): {path}'s feature columns were matched by position "
                        f"({', '.join(d.features)})")
    import torch

    if task_of(model).dtype == torch.float32:  # a float32 model cannot hold a larger value
        from .api import check_float32

        t, k = d.values.shape[1], len(d.features)
        check_float32(d.values, where=lambda i: f"{_id_col(d)}={_json_id(d.ids[i // (t * k)])!r}, "
                                                f"column {d.features[i % k]!r}")
    return d


def _id_col(d) -> str:
    return d.schema.id_col if d.schema is not None else "sequence_id"


def _check_rows(d, prediction, attention) -> None:
    """Refuse output rows that are not finite, naming the sequence whose values overflow."""
    from .api import first_non_finite

    k = first_non_finite(prediction, attention)
    if k is not None:
        import numpy as np

        big = float(np.abs(d.values[k]).max())
        raise BadInput(f"{_id_col(d)}={_json_id(d.ids[k])!r}: its values (largest |value| {big:g}) overflow "
                       f"inside the model; rescale them")


def _classes(model) -> tuple:
    """The model's class labels (from its schema), or 0..K-1 for a file without one."""
    schema = getattr(model, "schema", None)
    if schema is not None and schema.classes is not None:
        return tuple(schema.classes)
    return tuple(range(int(getattr(model.config, "num_classes", 2))))


def _cmd_predict(args) -> int:
    if args.values and args.values_option:
        raise UsageError("give the values either positionally or with --values, not both")
    args.values = args.values or args.values_option
    model = _model_file(args.model_file, "next-value")
    if args.map:
        _check_map(model, args.map)
    if args.csv:
        if args.values:
            raise UsageError("give either values or --csv, not both")
        import numpy as np

        from .api import explain_arrays, recipe_arrays, run_arrays

        d = _read_csv_for(model, args.csv, args)
        if d.lengths.min() < 2:
            k = int(np.argmin(d.lengths))
            raise UsageError(f"{args.csv}: {_id_col(d)}={d.ids[k]!r} has {d.lengths[k]} value; need at least 2")
        if args.map and not args.json:
            raise UsageError("--map with --csv adds each row's map to the --json output; give --json too")
        if args.json:  # every row's recipe too, as for a single sequence
            prediction, attention, influence, contribution = recipe_arrays(
                model, d.values, d.lengths, args.recipe, progress=_show_progress(len(d)))
            _check_rows(d, prediction, np.concatenate([attention, influence, contribution], 1))
            shares = (explain_arrays(model, d.values, d.lengths, args.map, progress=_show_progress(len(d)))
                      if args.map else [None] * len(d))
            _write_lines(
                _dumps({"sequence_id": _json_id(i), "prediction": float(p), "attention": _rounded(a[:n]),
                        "influence": _significant(w[:n]), "contributions": _significant(c[:n]),
                        **({} if m is None else {"map": args.map, "map_shares": _rounded(m[:n])})})
                for i, p, a, w, c, n, m in zip(d.ids, prediction, attention, influence, contribution, d.lengths,
                                               shares, strict=True)
            )
            return 0
        prediction, attention = run_arrays(model, d.values, d.lengths, progress=_show_progress(len(d)))
        _check_rows(d, prediction, attention)
        _write_lines(f"{i}\t{p:.6g}" for i, p in zip(d.ids, prediction, strict=True))
        return 0
    if not args.values:
        raise UsageError("give the sequence's values (e.g. seqattn predict 2 4 6 8 10) or --csv FILE")
    from .api import predict_next

    p = predict_next(args.values, model, recipe_method=args.recipe)
    shares = None
    if args.map:
        import numpy as np

        from .api import explain_arrays

        values = np.asarray([[float(v) for v in args.values]])
        shares = explain_arrays(model, values, np.asarray([values.shape[1]]), args.map)[0]
    if args.json:
        print(_dumps({"prediction": p.prediction, "attention": _rounded(p.attention),
                      "influence": _significant(p.influence), "contributions": _significant(p.contributions),
                      **({} if shares is None else {"map": args.map, "map_shares": _rounded(shares)})}))
    else:
        from .influence import format_recipe

        times = "×" if _can_show("×") else "*"
        print(f"Predicted next value: {_human_value(p.prediction)}")
        print(f"recipe: {format_recipe(p.prediction, p.influence, [float(v) for v in args.values], times=times)}")
        for t, (v, w, i, c) in enumerate(zip(args.values, p.attention, p.influence, p.contributions, strict=True)):
            extra = "" if shares is None else f" {args.map}={shares[t]:.4f}"
            print(f"t={t} value={float(v):g} weight={w:.4f} influence={i:+.3f} contribution={c:+.4g}{extra}")
    return 0


def _class_record(classes: tuple, probabilities) -> dict:
    """``class`` (the label as written), ``probabilities`` {label: p} and, for binary models, ``probability``
    = P(positive class) as before."""
    from .tasks import get_task

    k = max(range(len(classes)), key=lambda j: float(probabilities[j]))
    record = {"class": _json_id(classes[k]),
              "probabilities": {str(c): round(float(q), 6) for c, q in zip(classes, probabilities, strict=True)}}
    if len(classes) == 2:
        record["probability"] = float(probabilities[get_task("classify").positive_class])
    return record


def _explained_index(args, classes: tuple) -> int | None:
    """The class index --class LABEL names (checked against the model's classes), or None: the predicted one."""
    if args.explain_class is None:
        return None
    for j, c in enumerate(classes):
        if str(c) == args.explain_class:
            return j
    raise UsageError(f"--class {args.explain_class!r} is not one of the model's classes: "
                     f"{', '.join(map(str, classes))}")


def _check_map(model, name: str) -> None:
    from .explain import MAPS, applicable

    usable = [m for m in MAPS if applicable(model, m) and m != "random"]
    if name not in usable:
        raise UsageError(f"--map {name!r} is not a map for this model; choose from {', '.join(usable)}")


def _top(steps, shares, attention, features, top_features=None, times=None) -> list[dict]:
    """The top steps as JSON: position, the map's share, the step's top feature (the one whose removal
    alone moves the explained score most; omitted for one-feature inputs), attention weight, time."""
    top = []
    for j, t in enumerate(steps):
        entry = {"t": int(t), "influence": round(float(shares[t]), 6)}
        if top_features is not None:
            entry["feature"] = features[int(top_features[j])]
        entry["weight"] = round(float(attention[t]), 6)
        if times is not None:
            entry["time"] = str(times[t])
        top.append(entry)
    return top


def _cmd_infer(args) -> int:
    model = _model_file(args.model_file, "classify")
    if args.topk < 1:
        raise UsageError(f"--topk must be >= 1, got {args.topk}")
    import numpy as np

    _check_map(model, args.map)
    classes = _classes(model)
    if args.csv:
        d = _read_csv_for(model, args.csv, args)
        lengths, features = d.lengths, list(d.features)
        times = d.times if d.schema is not None and d.schema.time_kind == "datetime" and d.times is not None else None
        ids = [_json_id(i) for i in d.ids]
        values = d.values
    else:
        if not args.values:
            raise UsageError("give --values V ... (a univariate sequence) or --csv FILE")
        if model.config.num_features != 1:
            raise UsageError(
                f"this classifier takes {model.config.num_features} features per step; --values gives one: "
                f"pass multi-feature input with --csv"
            )
        from .api import check_float32, check_values

        one = check_values(args.values)
        check_float32(one)
        values, lengths, features, times, ids = one[None, :, None], np.array([len(one)]), ["value"], None, None
    records = _infer_records(model, args, classes, values, lengths, features, times, ids, d if args.csv else None)
    if args.json:
        _write_lines(_dumps(r) for r in records)
    elif args.csv:
        _write_lines(f"{r['sequence_id']}\t{_human_class(r)}\t{args.map} top: "
                     + " ".join(f"t={s['t']:02d}:{s['influence']:.3f}({s['feature']})" for s in r["top"])
                     for r in records)
    else:
        r = next(iter(records))
        print(f"P(class=1) = {r['probability']:.2f}" if "probability" in r
              else f"class = {r['class']} (p = {r['probabilities'][str(r['class'])]:.2f})")
        print(f"top steps by {args.map} (weight = attention):")
        for s_ in r["top"]:
            print(f"t={s_['t']:02d} influence={s_['influence']:.2f} weight={s_['weight']:.2f}")
    return 0


def _infer_records(model, args, classes, values, lengths, features, times, ids, data=None) -> list[dict]:
    """One JSON-ready row per sequence: class, probabilities, the class the map explains, the map's top
    steps, attention and the map per step (its shares, summing to 1)."""
    import numpy as np

    from .api import first_non_finite, influential_steps, run_arrays

    progress = _show_progress(len(lengths))
    probabilities, attention = run_arrays(model, values, lengths, progress=progress)
    if data is not None:
        _check_rows(data, probabilities, attention)
    elif first_non_finite(probabilities, attention) is not None:
        raise UsageError("the values overflow inside the model: its output is not finite; rescale them")
    fixed = _explained_index(args, classes)
    target = probabilities.argmax(1) if fixed is None else np.full(len(lengths), fixed)
    shares, steps, top_features = influential_steps(model, values, lengths, args.topk, args.map, target, progress)
    rows = []
    for row in range(len(lengths)):
        n = int(lengths[row])
        rec = {} if ids is None else {"sequence_id": ids[row]}
        rec.update(_class_record(classes, probabilities[row]))
        rec.update({"explains": _json_id(classes[int(target[row])]), "map": args.map,
                    "top": _top(steps[row], shares[row], attention[row], features,
                                None if top_features is None else top_features[row],
                                None if times is None else times[row]),
                    "attention": _rounded(attention[row, :n]), "influence": _rounded(shares[row, :n])})
        rows.append(rec)
    return rows


def _human_class(r: dict) -> str:
    if "probability" in r:  # binary: as before
        return f"P(class=1) = {r['probability']:.4f}"
    return f"class={r['class']} p={r['probabilities'][str(r['class'])]:.4f}"


_NOTES = {"roc_auc": "one class in the file", "f1": "no positive class in the file"}
_BINARY_KEYS = ("accuracy", "roc_auc", "f1", "n")


def finite_metrics(result: dict, notes: bool = True) -> dict:
    """``result`` with every NaN/inf replaced by None (nested too); a top-level one gets ``<key>_note``
    saying why it is undefined."""
    out = {}
    for k, v in result.items():
        if isinstance(v, dict):
            out[k] = finite_metrics(v, notes=False)
        elif isinstance(v, float) and not math.isfinite(v):
            out[k] = None
            if notes:
                out[f"{k}_note"] = _NOTES.get(k, "undefined on this file")
        else:
            out[k] = v
    return out


def classify_report(classes: tuple, probabilities, truth: list) -> dict:
    """:func:`seqattn.metrics.multiclass_metrics` of class ``probabilities [N, K]`` against ``truth`` (labels
    as written, any type, matched to the model's ``classes`` by their text), plus ``f1`` of the positive
    class for binary models (the keys they always had) and ``unseen_classes`` {label: count} for labels
    the model never saw (counted as errors, left out of the confusion matrix)."""
    import numpy as np

    from .metrics import classification_metrics, multiclass_metrics

    index = {str(c): j for j, c in enumerate(classes)}
    codes = np.array([index.get(str(t), -1) for t in truth], dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=float)
    result = multiclass_metrics(probabilities, codes, classes)
    result["confusion_matrix"]["labels"] = [_json_id(c) for c in classes]
    seen = codes >= 0
    if len(classes) == 2:
        result["f1"] = classification_metrics(probabilities[seen, 1], codes[seen])["f1"] if seen.any() else None
        result = {**{k: result.pop(k) for k in _BINARY_KEYS if k in result}, **result}  # the keys as before first
    unseen: dict = {}
    for t in (str(t) for t, ok in zip(truth, seen.tolist(), strict=True) if not ok):
        unseen[t] = unseen.get(t, 0) + 1
    if unseen:
        result["unseen_classes"] = unseen
        result["unseen_note"] = (f"{sum(unseen.values())} sequence(s) carry a class the model never saw in "
                                 f"training: counted as errors, left out of the confusion matrix")
    return result


def _evaluate_classify(model, args, task):
    import numpy as np

    from .api import run_arrays

    classes = _classes(model)
    if args.csv:
        d = _read_csv_for(model, args.csv, args, require=task.target)
        truth = [d.classes[c] if c >= 0 else d.label_names[i] for i, c in enumerate(d.label.tolist())]
        values, lengths = d.values, d.lengths
    else:
        data = task.test_data(args.num_samples, args.seed, model.config)
        values, lengths, truth = data.values, data.mask.sum(1), [classes[int(c)] for c in data.label]
    probabilities, attention = run_arrays(model, values, np.asarray(lengths))
    if not np.isfinite(probabilities).all():
        raise BadInput("the model's output is not finite on this file: its values overflow inside the model; "
                       "rescale them")
    return classify_report(classes, probabilities, truth)


def _windowed(model, d):
    """LongData cut to the most recent steps the model reads (the any-length policy of seqattn.api)."""
    from dataclasses import replace

    import numpy as np

    from .api import length_limit, recent_window

    limit = length_limit(model)
    if limit is None or int(d.lengths.max()) <= limit:
        return d
    values, kept, starts = recent_window(d.values, d.lengths, limit)
    mask = np.arange(values.shape[1])[None, :] < kept[:, None]
    salient = None if d.salient is None else recent_window(d.salient[..., None], d.lengths, limit)[0][..., 0]
    times = None if d.times is None else recent_window(d.times[..., None], d.lengths, limit)[0][..., 0]
    return replace(d, values=values, mask=mask, lengths=kept, salient=salient, times=times)


def _cmd_evaluate(args) -> int:
    from .checkpoint import model_from_checkpoint, read_checkpoint
    from .metrics import evaluate
    from .tasks import get_task

    ckpt = read_checkpoint(args.model_file)  # read once: the task and the model come from the same file
    task, model = get_task(ckpt["task"]), model_from_checkpoint(ckpt, source=args.model_file)
    if task.name == "classify":
        result = finite_metrics(_evaluate_classify(model, args, task))
    else:
        if args.csv:
            data = _windowed(model, _read_csv_for(model, args.csv, args, require=task.target))
        else:
            data = task.test_data(args.num_samples, args.seed, model.config)
        result = finite_metrics(task.summary(evaluate(model, data)))
    if args.json:
        print(_dumps(result))
        return 0
    binary = task.name == "classify" and len(result.get("confusion_matrix", {}).get("labels", ())) == 2
    # binary models print what they always printed, in that order (the JSON has everything)
    keys = _BINARY_KEYS if binary else [k for k in result if not isinstance(result[k], dict) and k != "unseen"]
    for k in keys:
        v = result.get(k)
        if k.endswith("_note"):
            continue
        if v is None:
            print(f"{k}: undefined ({result.get(f'{k}_note', 'undefined on this file')})")
        else:
            print(f"{k}: {v:.6g}" if isinstance(v, float) else f"{k}: {v}")
    for f, r in result.get("per_family", {}).items():
        print(f"  {f}: mae={r['mae']:.6g} rmse={r['rmse']:.6g} n={r['n']}")
    if task.name == "classify" and not binary:
        for label, r in result["per_class_recall"].items():
            print(f"  recall[{label}]: " + ("n/a" if r is None else f"{r:.6g}"))
        cm = result["confusion_matrix"]
        print("confusion matrix (rows: true, columns: predicted): " + " ".join(map(str, cm["labels"])))
        for label, row in zip(cm["labels"], cm["matrix"], strict=True):
            print(f"  {label}: " + " ".join(map(str, row)))
    if "unseen_note" in result:
        print(f"note: {result['unseen_note']}: " + ", ".join(f"{k} ({v})" for k, v in result["unseen_classes"].items()))
    return 0


def _cmd_train(args) -> int:
    from .training_cli import run_train

    return run_train(args)


EVENT_LOG = "events"  # `generate --task events`: a data set, not a Task (it is classified)


def _cmd_generate(args) -> int:
    from .data.io import write_long
    from .tasks import get_task

    if args.num_samples < 1:
        raise UsageError(f"--num-samples must be >= 1, got {args.num_samples}")
    if args.data_set == EVENT_LOG:  # an account event log with its own column names (seqattn.data.events)
        from .data.events import EventConfig, generate_events

        df, n = generate_events(EventConfig(num_accounts=args.num_samples, seed=args.seed)), args.num_samples
    else:  # a task's own example data
        task = get_task(args.data_set)
        d = task.example_data(args.num_samples, args.seed, max_len=args.max_len)
        df, n = task.to_long(d), len(d)
    path = write_long(df, args.out)
    print(f"wrote {n} sequences ({len(df)} rows) to {path}")
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo()
    return 0


_MODEL_FILE = ("--model-file", "--weights", "--ckpt")  # canonical name first; the others are aliases


def add_column_options(s, training: bool = False) -> None:
    """--id-col/--time-col/--label-col/--target-col/--features/--ignore-cols/--missing (default: today's names;
    a model file that stores its columns needs none of them)."""
    g = s.add_argument_group("columns (default: sequence_id, t, label, target; every other column a feature)")
    g.add_argument("--id-col", help="the sequence id column (read as text: 007 stays 007)")
    g.add_argument("--time-col", help="the column that orders a sequence's rows (numbers or ISO-8601 timestamps)")
    g.add_argument("--label-col", help="the class label column (classify; any integers or strings)")
    g.add_argument("--target-col", help="the next-value target column")
    g.add_argument("--features", metavar="A,B,C", help="exactly these feature columns, by name"
                   + ("" if training else " (a model file that stores its features matches them by name)"))
    g.add_argument("--ignore-cols", metavar="A,B", help="columns to leave out (not features, not an error)")
    g.add_argument("--missing", choices=["error", "ffill", "zero"],
                   help="missing values: refuse them (default), fill forward, or fill 0; ffill/zero add a "
                        "<column>__missing indicator" + ("" if training else " (training files; a model file "
                                                         "keeps its own policy)"))


def _add_predict(sub) -> None:
    s = sub.add_parser("predict", help="next value of a sequence, with the attention of every step",
                       description="Any length: a sequence longer than the model's max_len is answered from its "
                                   "most recent max_len steps; earlier steps get weight 0 and the output still has "
                                   "one weight per input step. Computed in float64; values that overflow the "
                                   "model are refused (exit 2).")
    s.add_argument("values", nargs="*", help="the sequence, e.g. 2 4 6 8 10")
    s.add_argument("--values", dest="values_option", nargs="+", metavar="VALUES",
                   help="the sequence, as an option (same as the positional values)")
    s.add_argument("--csv", help="long-format .csv/.parquet: predict every sequence (JSON Lines with --json)")
    s.add_argument(*_MODEL_FILE, dest="model_file",
                   help="a model file from `seqattn train --out` (default: the shipped weights)")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument("--recipe", choices=("rules", "gradient"), default="rules",
                   help="the recipe behind influence and contributions (single sequences; with --csv, in --json "
                        "output): rules (default: the forecast's chosen rules with their coefficients held) or "
                        "gradient (the full gradient, = IG from the mean). A sequence longer than the model's "
                        "max_len gets weight 0 before its window, and its contributions are taken from the "
                        "window's mean")
    s.add_argument("--map", default=None,
                   help="also give this influence map's share of every step (absolute, summing to 1 over the "
                        "steps): shapley (the steps whose removal moves the forecast most), occlusion, "
                        "integrated_gradients, consensus, ... (with --csv: in the --json output)")
    add_column_options(s)
    s.set_defaults(func=_cmd_predict)


def _add_infer(sub) -> None:
    s = sub.add_parser("infer", help="class, class probabilities and the top-k influential steps of a sequence",
                       description="JSON rows: class (the label as written), probabilities {label: p}, "
                                   "probability (binary models: P(positive class)), top (with time when the file's "
                                   "time column holds timestamps), attention. Any length: attention pooling reads "
                                   "every step; Transformers read the most recent max_len steps (earlier: weight 0).")
    s.add_argument(*_MODEL_FILE, dest="model_file",
                   help="a classify model file (default: the shipped signal classifier)")
    s.add_argument("--values", nargs="+", help="a univariate sequence (multi-feature input: --csv)")
    s.add_argument("--csv", help="long-format .csv/.parquet: score every sequence")
    s.add_argument("--topk", type=int, default=3, help="how many top influential steps to list (default 3)")
    s.add_argument("--map", default="occlusion",
                   help="the influence map that ranks the top steps (default occlusion: the change in log "
                        "P(class) when a 3-step window is removed, which named the planted events best; "
                        "'attention' is free but measured far less faithful; also integrated_gradients, "
                        "grad_input, attention_norm, consensus)")
    s.add_argument("--class", dest="explain_class", metavar="LABEL",
                   help="the class the map explains (default: the predicted class; reported as 'explains')")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    add_column_options(s)
    s.set_defaults(func=_cmd_infer)


def _add_evaluate(sub) -> None:
    s = sub.add_parser("evaluate", help="metrics of a model file on a labelled CSV or fresh generated data")
    s.add_argument(*_MODEL_FILE, dest="model_file", required=True, help="a model file (either task)")
    s.add_argument("--csv", help="long-format file with `target` (next value) or `label` (classify)")
    s.add_argument("--num-samples", type=int, default=10_000, help="size of the generated test set")
    s.add_argument("--seed", type=int, default=2024, help="seed of the generated test set")
    s.add_argument("--json", action="store_true",
                   help="machine-readable output (classify: adds macro_f1, recall per class, confusion_matrix, "
                        "unseen_classes; an undefined metric is null with a <metric>_note)")
    add_column_options(s)
    s.set_defaults(func=_cmd_evaluate)


def _add_train(sub) -> None:
    s = sub.add_parser("train", help="train a model on generated data or a long-format CSV",
                       description="--csv: seqattn.fit chooses the model, schedule (optimizer steps) and input "
                                   "scaling from the file, and prints the validation metric beside trivial "
                                   "baselines: a univariate classify file of fewer than 5,000 sequences gets "
                                   "the random-kernel classifier (closed form), other classify files the "
                                   "attention-pooling classifier, next value the LSTM. The model file stores "
                                   "the file's columns (schema).")
    s.add_argument("--task", required=True, choices=["next-value", "classify"], help="what to learn")
    s.add_argument("--model", choices=["lstm", "pooling", "transformer", "kernels"],
                   help="architecture (default for --csv: chosen from the file, see above; otherwise lstm for "
                        "next-value, pooling for classify); kernels: classify --csv only")
    s.add_argument("--csv", help="training data: long format with `label` (classify) or `target` (next-value; "
                                 "without a target column each sequence is a whole series, cut into one-step "
                                 "windows of up to 32 values)")
    s.add_argument("--epochs", type=int, help="TrainConfig.epochs (default: the task's recipe)")
    s.add_argument("--lr", type=float, help="TrainConfig.lr (default: the task's recipe)")
    s.add_argument("--batch-size", type=int,
                   help="sequences per batch (per process under torchrun; default: --csv follows the file's size, "
                        "otherwise 256)")
    s.add_argument("--steps", type=int, help="optimizer steps on a --csv file (default: chosen from the data; "
                                             "--epochs E counts E passes over the training sequences)")
    s.add_argument("--num-samples", type=int, help="generated sequences per epoch (no --csv)")
    s.add_argument("--val-fraction", type=float, default=0.1, help="share of sequences held out for validation")
    s.add_argument("--seed", type=int, default=0, help="TrainConfig.seed: same seed, same numbers")
    s.add_argument("--out", default="model.pt",
                   help="model file to write (atomically; also the resume state); an existing one is kept unless "
                        "--force or --resume; a second training to the same path fails at once (<out>.lock)")
    s.add_argument("--force", action="store_true", help="replace an existing --out model file")
    s.add_argument("--resume", action="store_true", help="continue from the training state in --out")
    s.add_argument("--fast", action="store_true", help="tiny settings (same as SEQATTN_FAST=1)")
    s.add_argument("--dry-run", action="store_true", help="check data and settings, build the model, write nothing")
    s.add_argument("--no-progress", action="store_true", help="no progress bars")
    s.add_argument("--stream", action="store_true",
                   help="read the --csv .parquet file one row group at a time (files larger than memory)")
    add_column_options(s, training=True)
    s.set_defaults(func=_cmd_train)


def _add_generate(sub) -> None:
    s = sub.add_parser("generate", help="write generated data in the long format (.csv/.parquet)")
    s.add_argument("--task", dest="data_set", choices=["next-value", "classify", EVENT_LOG], default="next-value",
                   help="which data set (events: an account event log, account_id/timestamp/.../is_fraud)")
    s.add_argument("--num-samples", type=int, default=10_000, help="number of sequences (DataConfig.num_samples)")
    s.add_argument("--max-len", type=int, default=32, help="longest next-value sequence (DataConfig.max_len)")
    s.add_argument("--seed", type=int, default=0, help="random seed")
    s.add_argument("--out", required=True, help="output path, .csv or .parquet")
    s.set_defaults(func=_cmd_generate)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="seqattn", description="Sequence models that return, and check, which steps mattered.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in (_add_predict, _add_infer, _add_evaluate, _add_train, _add_generate):
        add(sub)
    sub.add_parser("demo", help="show the product end to end").set_defaults(func=_cmd_demo)
    return p


def _is_bad_input(e: BaseException) -> bool:
    """Is ``e`` the user's bad input (exit 2) rather than a bug? See the module docstring."""
    if isinstance(e, (BadInput, FileNotFoundError, IsADirectoryError, PermissionError)):
        return True
    if isinstance(e, OSError) and e.errno in _ENVIRONMENT_ERRNOS:
        return True
    if not isinstance(e, (ValueError, TypeError)):
        return False
    tb = e.__traceback__
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename).as_posix().endswith(INPUT_MODULES):
            return True
        tb = tb.tb_next
    return False


def _first_line(e: BaseException) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _drop_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``seqattn`` console script; returns the exit status."""
    _notices.clear()
    for stream in (sys.stdout, sys.stderr):  # an ASCII terminal shows a label like 'é' escaped, never crashes
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        args = build_parser().parse_args(argv)
        status = args.func(args)
        sys.stdout.flush()  # a full disk (`> /dev/full`) fails here, inside the handler, not at exit
        for line in _notices:
            print(line, file=sys.stderr)
        return status
    except KeyboardInterrupt:
        print("seqattn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `seqattn predict --csv big.csv --json | head`
        return 0
    except Exception as e:
        if _is_bad_input(e):
            if isinstance(e, OSError) and e.errno in _ENVIRONMENT_ERRNOS:
                _drop_stdout()
                print(f"seqattn: error: cannot write: {os.strerror(e.errno)}"
                      + (f" ({e.filename})" if e.filename else " (stdout)"), file=sys.stderr)
                return EXIT_BAD_INPUT
            print(f"seqattn: error: {_first_line(e)}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if os.environ.get("SEQATTN_DEBUG") == "1":
            import traceback

            traceback.print_exc()
        print(f"seqattn: internal error (please report): {type(e).__name__}: {_first_line(e)}", file=sys.stderr)
        return EXIT_INTERNAL
