"""The ``seqattn`` command line: one subcommand per stage, each a thin wrapper over a library function.

Bad input exits with status 2 and one line on stderr (no traceback). Imports are deferred to the
subcommand that needs them so ``seqattn predict`` loads nothing but torch and the model.
"""

from __future__ import annotations

import argparse
import sys

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(f"{self.prog}: {message}")


def _cmd_generate(args) -> int:
    from .config import DataConfig, SignalConfig
    from .data import generate_next_value, generate_signal
    from .data.io import to_long, write_long

    if args.num_samples < 1:
        raise UsageError(f"--num-samples must be >= 1, got {args.num_samples}")
    if args.task == "next-value":
        d = generate_next_value(DataConfig(num_samples=args.num_samples, max_len=args.max_len, seed=args.seed))
        df = to_long(d.values, d.mask, target=d.target, extra={"family": d.family, "oracle": d.oracle})
    else:
        d = generate_signal(SignalConfig(num_samples=args.num_samples, seed=args.seed))
        df = to_long(d.values, d.mask, label=d.label, salient=d.salient)
    path = write_long(df, args.out)
    print(f"wrote {len(d)} sequences ({len(df)} rows) to {path}")
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="seqattn", description="Sequence models that return, and check, which steps mattered.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    g = sub.add_parser("generate", help="write generated data in the long format (.csv/.parquet)")
    g.add_argument("--task", choices=["next-value", "classify"], default="next-value", help="which data set")
    g.add_argument("--num-samples", type=int, default=10_000, help="number of sequences (DataConfig.num_samples)")
    g.add_argument("--max-len", type=int, default=32, help="longest next-value sequence (DataConfig.max_len)")
    g.add_argument("--seed", type=int, default=0, help="random seed")
    g.add_argument("--out", required=True, help="output path, .csv or .parquet")
    g.set_defaults(func=_cmd_generate)
    d = sub.add_parser("demo", help="show the product end to end")
    d.set_defaults(func=_cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``seqattn`` console script; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except (UsageError, ValueError, TypeError, FileNotFoundError) as e:
        print(f"seqattn: error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("seqattn: interrupted", file=sys.stderr)
        return 130
