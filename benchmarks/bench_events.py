"""Issue 13's goals on the generated account event log (seqattn.data.events), through the library.

1. accuracy: ``seqattn.fit`` with its defaults (what ``seqattn train --csv`` runs) on a default log
   (``account_id``/``timestamp``/``event_type``/``channel``/``amount``, label ``is_fraud``), once per
   training seed; tested on a log with another seed, against the majority class and a bag-of-events logistic
   regression (counts and amounts, no order or timing).
2. localisation: on the test sequences the model flags, how often the top-1 step of each influence map
   (attention = what ``seqattn infer --topk`` reports; occlusion) lies on a planted row (``salient``).
3. scale: logs of 250,000 and 1,000,000 rows as Parquet: schema fit, training and inference with
   ``ParquetStream`` (one row group at a time), each in its own process: wall time and peak RSS (VmHWM).
   Stream training uses the CLI's ``--stream`` recipe (``recipe_for("classify", "pooling")``, 3 epochs)
   on inputs standardised with the schema's scaling.

By default everything goes through the library. ``--cli`` also runs goals 1-2 through ``seqattn generate/train/
infer --topk 1`` with default flags; it needs the CLI's column options (``--id-col`` ...), on branch front.

Run: python benchmarks/bench_events.py [--accounts 4000] [--test-accounts 2000] [--train-seeds 0 1 2]
     [--rows 250000 1000000] [--skip-scale] [--skip-accuracy] [--cli]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write  # noqa: E402

MAPPING = {"id_col": "account_id", "time_col": "timestamp", "label_col": "is_fraud"}
MEAN_EVENTS = 110  # (20 + 200) / 2: rows per account on average
LOCALISATION_MAPS = ("attention", "occlusion")  # add "integrated_gradients" to measure it too (slower)


class Scaled:
    """A batch iterable whose inputs are standardised with a schema's training scaling (padding kept 0)."""

    def __init__(self, loader, schema):
        import torch

        self.loader = loader
        self.mean = torch.tensor(schema.mean, dtype=torch.float64)
        self.std = torch.tensor(schema.std, dtype=torch.float64)

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.loader, "set_epoch"):
            self.loader.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for b in self.loader:
            x = ((b.x - self.mean) / self.std) * b.mask.unsqueeze(-1)
            yield replace(b, x=x.float())


def _recipe(fast: bool):
    from seqattn.recipes import recipe_for

    recipe = recipe_for("classify", "pooling", fast)
    return replace(recipe, train=replace(recipe.train, progress=False))


def _model(recipe, num_features: int, max_len: int):
    from seqattn.models import build_model

    return build_model(recipe.model, "classify", {**recipe.model_config, "num_features": num_features,
                                                  "max_len": max_len})


def localisation(model, data, methods=("attention", "occlusion", "integrated_gradients")) -> dict:
    """Share of flagged sequences (predicted class 1) whose top-1 step of each map is a planted row."""
    import numpy as np
    import torch

    from seqattn.explain import influence_maps
    from seqattn.metrics import predict_arrays

    probability, _ = predict_arrays(model, data.values, data.mask)
    flagged = np.flatnonzero(np.asarray(probability) > 0.5)
    out = {"flagged": int(len(flagged)), "flagged_fraud": int((data.label[flagged] == 1).sum())}
    x = torch.tensor(data.values[flagged], dtype=torch.float32)
    mask = torch.tensor(data.mask[flagged])
    for method in methods:
        t0 = time.perf_counter()
        maps = [influence_maps(model, x[i:i + 256], mask[i:i + 256], methods=[method])[method].detach()
                for i in range(0, len(flagged), 256)]
        top = torch.cat(maps).masked_fill(~mask, -float("inf")).argmax(1).numpy()
        on = data.salient[flagged, top]
        out[method] = {"top1_on_planted": float(on.mean()), "seconds": time.perf_counter() - t0}
    return out


def accuracy_goal(accounts: int, test_accounts: int, seed: int, fast: bool, train_seeds=(0,)) -> dict:
    """``seqattn.fit`` with its defaults (what ``seqattn train --csv`` runs), once per seed, on the same logs."""
    from seqattn.baselines import bag_of_events_baseline
    from seqattn.data.events import EventConfig, generate_events
    from seqattn.data.io import read_long
    from seqattn.fit import fit
    from seqattn.metrics import evaluate

    train_df = generate_events(EventConfig(num_accounts=accounts, seed=seed))
    test_df = generate_events(EventConfig(num_accounts=test_accounts, seed=seed + 1000))
    baselines = bag_of_events_baseline(train_df, test_df)
    train = read_long(train_df, task="classify", **MAPPING)
    test = read_long(test_df, schema=train.schema, require="label")
    runs = []
    for train_seed in train_seeds:
        t0 = time.perf_counter()
        result = fit(train, "classify", seed=train_seed, fast=fast, progress=False)
        seconds = time.perf_counter() - t0
        metrics = evaluate(result.model, test).iloc[0].to_dict()
        runs.append({"train_seed": train_seed, "recipe": result.recipe.name, "model_name": result.recipe.model,
                     "steps": result.recipe.steps, "summary": result.summary, "train_seconds": seconds,
                     "model": {k: float(v) for k, v in metrics.items()},
                     "localisation": localisation(result.model, test, methods=LOCALISATION_MAPS)})
    return {"train_accounts": accounts, "test_accounts": test_accounts, "train_rows": len(train_df),
            "inputs": list(train.schema.input_names), **baselines, "runs": runs}


def _peak_mib() -> float:
    """This process's peak resident memory: VmHWM (ru_maxrss would carry the forking parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, path: str, model_path: str) -> dict:
    """One measured step in a fresh process (so ru_maxrss is that step's peak)."""
    t0 = time.perf_counter()
    if mode == "write":
        from seqattn.data.events import EventConfig, generate_events

        df = generate_events(EventConfig(num_accounts=int(os.environ["BENCH_ACCOUNTS"]), seed=7))
        df.to_parquet(path, index=False, row_group_size=65_536)
        return {"rows": len(df), "accounts": int(df["account_id"].nunique()), "seconds": time.perf_counter() - t0,
                "peak_rss_mib": _peak_mib()}
    import torch

    base = _peak_mib()
    from seqattn.data.schema import Schema
    from seqattn.data.stream import ParquetStream, with_split

    if mode == "train":
        from seqattn.train import set_seed, train_model

        schema = Schema.fit_stream(path, task="classify", **MAPPING)
        fit_seconds = time.perf_counter() - t0
        recipe = _recipe(fast=False)
        epochs = int(os.environ.get("BENCH_EPOCHS", "3"))
        stream = ParquetStream(path, "classify", schema=schema, batch_size=recipe.batch_size, split="train",
                               buffer_size=1024)
        val = with_split(stream, "val", shuffle=False)
        set_seed(0)
        model = _model(recipe, len(schema.input_names), stream.scan()["max_len"])
        model, history = train_model(model, Scaled(stream, schema), Scaled(val, schema),
                                     replace(recipe.train, epochs=epochs))
        torch.save({"state": model.state_dict(), "schema": schema.to_dict(), "config": model.config.__dict__},
                   model_path)
        return {"schema_fit_seconds": fit_seconds, "epochs": len(history), "seconds": time.perf_counter() - t0,
                "val_accuracy": float(history["val_accuracy"].max()), "peak_rss_mib": _peak_mib(),
                "after_import_mib": base}
    from seqattn.models import build_model

    saved = torch.load(model_path, weights_only=True)
    schema = Schema.from_dict(saved["schema"])
    model = build_model("pooling", "classify", saved["config"])
    model.load_state_dict(saved["state"])
    model.eval()
    stream = ParquetStream(path, "classify", schema=schema, batch_size=1024, shuffle=False, buffer_size=1024)
    n = correct = 0
    with torch.no_grad():
        for b in Scaled(stream, schema):
            out = model(b.x, b.mask)
            correct += int((out.prediction.argmax(-1) == b.y).sum())
            n += len(b.y)
    return {"sequences": n, "accuracy": correct / n, "seconds": time.perf_counter() - t0,
            "peak_rss_mib": _peak_mib(), "after_import_mib": base}


def run_child(mode: str, path: str, model_path: str, env: dict) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", mode, path, model_path], capture_output=True,
                       text=True, env={**os.environ, **env})
    if r.returncode:
        raise RuntimeError(f"{mode} failed: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def scale_goal(rows: int, epochs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path, model_path = str(Path(tmp) / "events.parquet"), str(Path(tmp) / "model.pt")
        env = {"BENCH_ACCOUNTS": str(math.ceil(rows * 1.02 / MEAN_EVENTS)), "BENCH_EPOCHS": str(epochs)}
        out = {"write": run_child("write", path, model_path, env)}
        out["file_mib"] = Path(path).stat().st_size / 2**20
        out["train_stream"] = run_child("train", path, model_path, env)
        out["infer_stream"] = run_child("infer", path, model_path, env)
    return out


def _timed(command: list[str], cwd: str) -> dict:
    """Run a ``seqattn`` command under /usr/bin/time -v: wall seconds and peak RSS, stdout kept."""
    r = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "seqattn", *command], cwd=cwd,
                       capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"seqattn {command[0]} failed ({r.returncode}): {r.stderr[-1500:]}")
    stats = dict(line.strip().rsplit(": ", 1) for line in r.stderr.splitlines() if ": " in line)
    wall = stats["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":")
    seconds = sum(float(v) * 60 ** i for i, v in enumerate(reversed(wall)))
    return {"seconds": seconds, "peak_rss_mib": int(stats["Maximum resident set size (kbytes)"]) / 1024,
            "stdout": r.stdout}


def cli_goal(accounts: int, test_accounts: int, seed: int, fast: bool = False) -> dict:
    """The accuracy and ``infer --topk 1`` goals through the CLI with default flags (needs the column options)."""
    import numpy as np

    from seqattn.data.io import read_long

    columns = ["--id-col", "account_id", "--time-col", "timestamp", "--label-col", "is_fraud"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, n, s in (("train.csv", accounts, seed), ("test.csv", test_accounts, seed + 1000)):
            _timed(["generate", "--task", "events", "--num-samples", str(n), "--seed", str(s), "--out", name], tmp)
        train = _timed(["train", "--task", "classify", "--csv", "train.csv", *columns, "--out", "model.pt",
                        "--no-progress", *(["--fast"] if fast else [])], tmp)
        infer = _timed(["infer", "--model-file", "model.pt", "--csv", "test.csv", "--topk", "1", "--json"], tmp)
        test = read_long(Path(tmp) / "test.csv", id_col="account_id", time_col="timestamp", label_col="is_fraud")
    row = {str(i): k for k, i in enumerate(test.ids)}
    records = [json.loads(line) for line in infer.pop("stdout").splitlines()]
    rows = np.array([row[str(r["sequence_id"])] for r in records])
    predicted = np.array([int(r["class"]) for r in records])  # classes (0, 1) are the codes
    flagged = predicted == 1
    top = np.array([r["top"][0]["t"] for r in records])
    return {"train": {**train, "stdout": train["stdout"].strip().splitlines()[-2:]}, "infer": infer,
            "map": records[0].get("map", "attention"),
            "accuracy": float((predicted == test.label[rows]).mean()), "flagged": int(flagged.sum()),
            "top1_on_planted": float(test.salient[rows[flagged], top[flagged]].mean())}


def markdown(result: dict) -> str:
    lines = ["# Event logs (issue 13 goals, through the library)", ""]
    a = result.get("accuracy")
    if a:
        lines += [f"`seqattn.fit` (defaults) on {a['train_accounts']} accounts ({a['train_rows']} rows), "
                  f"tested on {a['test_accounts']} others (another seed). Bag-of-events logistic regression "
                  f"{a['bag_of_events']:.4f}, majority class {a['majority']:.4f}.", "",
                  "Top-1 step on a planted row, over the flagged test sequences:", "",
                  "| training seed | recipe (steps) | train s | model accuracy | flagged (fraud) | "
                  + " | ".join(LOCALISATION_MAPS) + " |", "|---" * (5 + len(LOCALISATION_MAPS)) + "|"]
        for r in a["runs"]:
            loc = r["localisation"]
            lines.append(f"| {r['train_seed']} | {r['recipe']} ({r['steps']}) | {r['train_seconds']:.0f} | "
                         f"{r['model']['accuracy']:.4f} | {loc['flagged']} ({loc['flagged_fraud']}) | "
                         + " | ".join(f"{loc[m]['top1_on_planted']:.4f}" for m in LOCALISATION_MAPS) + " |")
    c = result.get("cli")
    if c:
        lines += ["", "Through the CLI (`seqattn train --csv ... --id-col account_id --time-col timestamp --label-col "
                  f"is_fraud`, then `seqattn infer --topk 1 --json` on the unseen accounts, top steps ranked by "
                  f"its default map, {c.get('map', 'attention')}): accuracy "
                  f"{c['accuracy']:.4f}; top-1 step on a planted row for {c['top1_on_planted']:.4f} of the "
                  f"{c['flagged']} flagged; train {c['train']['seconds']:.0f} s / {c['train']['peak_rss_mib']:.0f} MiB, "
                  f"infer {c['infer']['seconds']:.0f} s / {c['infer']['peak_rss_mib']:.0f} MiB."]
    for s in result.get("scale", []):
        w, t, i = s["write"], s["train_stream"], s["infer_stream"]
        lines += ["", f"Scale: {w['rows']} rows, {w['accounts']} accounts, Parquet {s['file_mib']:.1f} MiB.", "",
                  "| step | seconds | peak RSS MiB |", "|---|---|---|",
                  f"| generate + write (whole log in memory) | {w['seconds']:.1f} | {w['peak_rss_mib']:.0f} |",
                  f"| schema fit + stream train ({t['epochs']} epochs) | {t['seconds']:.1f} | {t['peak_rss_mib']:.0f} |",
                  f"| stream inference | {i['seconds']:.1f} | {i['peak_rss_mib']:.0f} |", "",
                  f"Stream training validation accuracy {t['val_accuracy']:.4f}; inference accuracy over the "
                  f"whole file {i['accuracy']:.4f}; after importing torch: {t['after_import_mib']:.0f} MiB."]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--accounts", type=int, default=4000)
    p.add_argument("--test-accounts", type=int, default=2000)
    p.add_argument("--rows", type=int, nargs="+", default=[250_000, 1_000_000],
                   help="log sizes for the scale goal (two sizes show whether peak memory grows with the file)")
    p.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--stream-epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--fast", action="store_true", help="the fast recipe (checks the script, not the goals)")
    p.add_argument("--skip-scale", action="store_true")
    p.add_argument("--skip-accuracy", action="store_true")
    p.add_argument("--cli", action="store_true",
                   help="also measure the accuracy and infer --topk goals through the CLI (needs --id-col etc.)")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    import torch

    torch.set_num_threads(2)
    name = "events" if not args.fast else "events_fast"
    previous = RESULTS / f"{name}.json"
    # a run that skips a section keeps that section's last measurement (each records its own command)
    result = json.loads(previous.read_text()) if previous.exists() else {}
    result.update({"command": "python benchmarks/bench_events.py " + " ".join(sys.argv[1:]),
                   "path": "library and CLI" if args.cli else "library"})
    if not args.skip_accuracy:
        result["accuracy"] = accuracy_goal(args.accounts, args.test_accounts, args.seed, args.fast, args.train_seeds)
    if args.cli:
        result["cli"] = {**cli_goal(args.accounts, args.test_accounts, args.seed, args.fast),
                         "command": result["command"]}
    if not args.skip_scale:
        result["scale"] = [scale_goal(rows, args.stream_epochs) for rows in args.rows]
    write(name, result)
    (RESULTS / f"{name}.md").write_text(markdown(result))


if __name__ == "__main__":
    main()
