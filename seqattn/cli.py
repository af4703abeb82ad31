"""The ``seqattn`` command line: one subcommand per stage, each a thin wrapper over a library function.

Imports are deferred to the subcommand that needs them, so ``seqattn predict`` loads nothing but torch
and the model.

Errors, the rule :func:`main` applies:

- bad input exits with status 2 and one line on stderr, no traceback. Bad input is
  :class:`seqattn.errors.BadInput` (every validation ``raise`` in seqattn, ``UsageError`` included),
  ``FileNotFoundError``/``IsADirectoryError``/``PermissionError``, and any ``ValueError``/``TypeError``
  raised while reading user data or model files (a traceback frame in :data:`INPUT_MODULES`, e.g. a
  parse error from pandas inside ``seqattn.data.io``);
- anything else is a bug: one line ``seqattn: internal error (please report): <type>: <message>``,
  exit status 1; ``SEQATTN_DEBUG=1`` prints the traceback too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from .errors import BadInput, UsageError

EXIT_BAD_INPUT, EXIT_INTERNAL = 2, 1
# ValueError/TypeError raised inside these modules (or the libraries they call) is about the user's data
# or model file: seqattn.data.io and .stream parse files, seqattn.checkpoint unpickles them
INPUT_MODULES = ("seqattn/data/io.py", "seqattn/data/stream.py", "seqattn/checkpoint.py")
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


def _json_id(value):
    return value.item() if hasattr(value, "item") else value


def _read_csv_for(model, path, require=None):
    from .data.io import read_long

    d = read_long(path, max_len=model.config.max_len, require=require)
    want = model.config.num_features
    if len(d.features) != want:
        raise UsageError(
            f"{path}: the model takes {want} feature column(s) but the file has {len(d.features)} "
            f"({', '.join(d.features)})"
        )
    return d


def _cmd_predict(args) -> int:
    if args.values and args.values_option:
        raise UsageError("give the values either positionally or with --values, not both")
    args.values = args.values or args.values_option
    model = _model_file(args.model_file, "next-value")
    if args.csv:
        if args.values:
            raise UsageError("give either values or --csv, not both")
        import numpy as np

        from .metrics import predict_arrays

        d = _read_csv_for(model, args.csv)
        if d.lengths.min() < 2:
            k = int(np.argmin(d.lengths))
            raise UsageError(f"{args.csv}: sequence_id={d.ids[k]!r} has {d.lengths[k]} value; need at least 2")
        prediction, attention = predict_arrays(model, d.values, d.mask, progress=_show_progress(len(d)))
        if args.json:
            _write_lines(
                json.dumps({"sequence_id": _json_id(i), "prediction": float(p),
                            "attention": _rounded(a[:n])})
                for i, p, a, n in zip(d.ids, prediction, attention, d.lengths, strict=True)
            )
        else:
            _write_lines(f"{i}\t{p:.6g}" for i, p in zip(d.ids, prediction, strict=True))
        return 0
    if not args.values:
        raise UsageError("give the sequence's values (e.g. seqattn predict 2 4 6 8 10) or --csv FILE")
    from .api import predict_next

    p = predict_next(args.values, model)
    if args.json:
        print(json.dumps({"prediction": p.prediction, "attention": _rounded(p.attention)}))
    else:
        print(f"Predicted next value: {p.prediction:.4f}")
        for t, (v, w) in enumerate(zip(args.values, p.attention, strict=True)):
            print(f"t={t} value={float(v):g} weight={w:.4f}")
    return 0


def _cmd_infer(args) -> int:
    import numpy as np

    model = _model_file(args.model_file, "classify")
    if args.topk < 1:
        raise UsageError(f"--topk must be >= 1, got {args.topk}")
    if args.csv:
        from .metrics import predict_arrays

        d = _read_csv_for(model, args.csv)
        probability, attention = predict_arrays(model, d.values, d.mask, progress=_show_progress(len(d)))

        def record(i, p, a, n):
            top = np.argsort(-a[:n], kind="stable")[: args.topk]
            return {"sequence_id": _json_id(i), "probability": float(p),
                    "top": [{"t": int(t), "weight": round(float(a[t]), 6)} for t in top],
                    "attention": _rounded(a[:n])}

        records = (record(*row) for row in zip(d.ids, probability, attention, d.lengths, strict=True))
        if args.json:
            _write_lines(json.dumps(r) for r in records)
        else:
            _write_lines(f"{r['sequence_id']}\tP(class=1) = {r['probability']:.4f}\ttop: "
                         + " ".join(f"t={s['t']:02d}:{s['weight']:.3f}" for s in r["top"]) for r in records)
        return 0
    if not args.values:
        raise UsageError("give --values V ... (a univariate sequence) or --csv FILE")
    if model.config.num_features != 1:
        raise UsageError(
            f"this classifier takes {model.config.num_features} features per step; --values gives one: "
            f"pass multi-feature input with --csv"
        )
    from .api import check_values, detect

    r = detect(check_values(args.values, model.config.max_len), model)
    top = r.top(args.topk)
    if args.json:
        print(json.dumps({"probability": r.prediction, "top": [{"t": t, "weight": round(w, 6)} for t, w in top],
                          "attention": _rounded(r.attention)}))
    else:
        print(f"P(class=1) = {r.prediction:.2f}")
        for t, w in top:
            print(f"t={t:02d} weight={w:.2f}")
    return 0


def _cmd_evaluate(args) -> int:
    from .checkpoint import model_from_checkpoint, read_checkpoint
    from .metrics import evaluate
    from .tasks import get_task

    ckpt = read_checkpoint(args.model_file)  # read once: the task and the model come from the same file
    task, model = get_task(ckpt["task"]), model_from_checkpoint(ckpt, source=args.model_file)
    if args.csv:
        data = _read_csv_for(model, args.csv, require=task.target)
    else:
        data = task.test_data(args.num_samples, args.seed, model.config)
    result = task.summary(evaluate(model, data))
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            if k != "per_family":
                print(f"{k}: {v:.6g}" if isinstance(v, float) else f"{k}: {v}")
        for f, r in result.get("per_family", {}).items():
            print(f"  {f}: mae={r['mae']:.6g} rmse={r['rmse']:.6g} n={r['n']}")
    return 0


def _cmd_train(args) -> int:
    from .training_cli import run_train

    return run_train(args)


def _cmd_generate(args) -> int:
    from .data.io import write_long
    from .tasks import get_task

    if args.num_samples < 1:
        raise UsageError(f"--num-samples must be >= 1, got {args.num_samples}")
    if args.task == "events":  # an account event log with its own column names (seqattn.data.events)
        from .data.events import EventConfig, generate_events

        df, n = generate_events(EventConfig(num_accounts=args.num_samples, seed=args.seed)), args.num_samples
    else:
        d = get_task(args.task).example_data(args.num_samples, args.seed, max_len=args.max_len)
        df, n = get_task(args.task).to_long(d), len(d)
    path = write_long(df, args.out)
    print(f"wrote {n} sequences ({len(df)} rows) to {path}")
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo()
    return 0


_MODEL_FILE = ("--model-file", "--weights", "--ckpt")  # canonical name first; the others are aliases


def _add_predict(sub) -> None:
    s = sub.add_parser("predict", help="next value of a sequence, with the attention of every step")
    s.add_argument("values", nargs="*", help="the sequence, e.g. 2 4 6 8 10")
    s.add_argument("--values", dest="values_option", nargs="+", metavar="VALUES",
                   help="the sequence, as an option (same as the positional values)")
    s.add_argument("--csv", help="long-format .csv/.parquet: predict every sequence (JSON Lines with --json)")
    s.add_argument(*_MODEL_FILE, dest="model_file",
                   help="a model file from `seqattn train --out` (default: the shipped weights)")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=_cmd_predict)


def _add_infer(sub) -> None:
    s = sub.add_parser("infer", help="P(class=1) of a sequence and its top-k influential steps")
    s.add_argument(*_MODEL_FILE, dest="model_file",
                   help="a classify model file (default: the shipped signal classifier)")
    s.add_argument("--values", nargs="+", help="a univariate sequence (multi-feature input: --csv)")
    s.add_argument("--csv", help="long-format .csv/.parquet: score every sequence")
    s.add_argument("--topk", type=int, default=3, help="how many top-attention steps to list (default 3)")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=_cmd_infer)


def _add_evaluate(sub) -> None:
    s = sub.add_parser("evaluate", help="metrics of a model file on a labelled CSV or fresh generated data")
    s.add_argument(*_MODEL_FILE, dest="model_file", required=True, help="a model file (either task)")
    s.add_argument("--csv", help="long-format file with `target` (next value) or `label` (classify)")
    s.add_argument("--num-samples", type=int, default=10_000, help="size of the generated test set")
    s.add_argument("--seed", type=int, default=2024, help="seed of the generated test set")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=_cmd_evaluate)


def _add_train(sub) -> None:
    s = sub.add_parser("train", help="train a model on generated data or a long-format CSV")
    s.add_argument("--task", required=True, choices=["next-value", "classify"], help="what to learn")
    s.add_argument("--model", choices=["lstm", "pooling", "transformer"],
                   help="architecture (default: lstm for next-value, pooling for classify)")
    s.add_argument("--csv", help="training data: long format with `target` (next-value) or `label` (classify)")
    s.add_argument("--epochs", type=int, help="TrainConfig.epochs (default: the task's recipe)")
    s.add_argument("--lr", type=float, help="TrainConfig.lr (default: the task's recipe)")
    s.add_argument("--batch-size", type=int, default=256, help="sequences per batch (per process under torchrun)")
    s.add_argument("--num-samples", type=int, help="generated sequences per epoch (no --csv)")
    s.add_argument("--val-fraction", type=float, default=0.1, help="share of sequences held out for validation")
    s.add_argument("--seed", type=int, default=0, help="TrainConfig.seed: same seed, same numbers")
    s.add_argument("--out", default="model.pt", help="model file to write (atomically; also the resume state)")
    s.add_argument("--resume", action="store_true", help="continue from the training state in --out")
    s.add_argument("--fast", action="store_true", help="tiny settings (same as SEQATTN_FAST=1)")
    s.add_argument("--dry-run", action="store_true", help="check data and settings, build the model, write nothing")
    s.add_argument("--no-progress", action="store_true", help="no progress bars")
    s.add_argument("--stream", action="store_true",
                   help="read the --csv .parquet file one row group at a time (files larger than memory)")
    s.set_defaults(func=_cmd_train)


def _add_generate(sub) -> None:
    s = sub.add_parser("generate", help="write generated data in the long format (.csv/.parquet)")
    s.add_argument("--task", choices=["next-value", "classify", "events"], default="next-value",
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``seqattn`` console script; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except KeyboardInterrupt:
        print("seqattn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `seqattn predict --csv big.csv --json | head`
        return 0
    except Exception as e:
        if _is_bad_input(e):
            print(f"seqattn: error: {_first_line(e)}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if os.environ.get("SEQATTN_DEBUG") == "1":
            import traceback

            traceback.print_exc()
        print(f"seqattn: internal error (please report): {type(e).__name__}: {_first_line(e)}", file=sys.stderr)
        return EXIT_INTERNAL
