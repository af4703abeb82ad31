"""Reading a large event log: time and peak memory of ``read_long`` on a CSV with ISO timestamps and two
string columns, and of ``Schema.fit_stream`` + one ``ParquetStream`` epoch (shuffle buffer of 1,024 sequences) over the
same log as Parquet.
Each measurement runs in its own process.

Run: python benchmarks/bench_io.py [--rows 1000000]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write  # noqa: E402

EVENTS = ["login", "view", "add", "remove", "pay", "refund", "search", "logout"]
CHANNELS = ["web", "app", "shop", "phone"]


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_log(path: str, rows: int, per_account: int = 100) -> None:
    """An event log sorted by account: ISO times with mixed offsets, event type, channel, amount, label."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    accounts = rows // per_account
    start = rng.integers(0, 86400 * 30, accounts) * 10**9  # ns after 2024-01-01 UTC
    gaps = (rng.exponential(600.0, (accounts, per_account)).cumsum(1) * 1e9).astype(np.int64)
    when = np.datetime64("2024-01-01T00:00:00", "ns") + (start[:, None] + gaps).ravel().astype("timedelta64[ns]")
    iso = pd.DatetimeIndex(when).tz_localize("UTC").tz_convert("Europe/Paris").strftime("%Y-%m-%dT%H:%M:%S%z")
    df = pd.DataFrame({
        "account": np.repeat([f"acct{i:06d}" for i in range(accounts)], per_account),
        "timestamp": iso, "event": rng.choice(EVENTS, rows), "channel": rng.choice(CHANNELS, rows),
        "amount": rng.gamma(2.0, 30.0, rows).round(2),
        "status": np.repeat(rng.choice(["ok", "fraud"], accounts, p=[0.9, 0.1]), per_account),
    })
    if path.endswith(".csv"):
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False, row_group_size=65_536)


KW = {"id_col": "account", "time_col": "timestamp", "label_col": "status"}


def child(mode: str, path: str) -> dict:
    if mode == "write":  # in a child too: ru_maxrss survives fork+exec, so the parent must stay small
        write_log(path, int(os.environ["BENCH_ROWS"]))
        return {}
    import torch  # noqa: F401  (every mode pays for torch: compare what reading adds)

    from seqattn.data.io import read_long
    from seqattn.data.schema import Schema

    base = _peak_mib()
    t0 = time.perf_counter()
    if mode == "read_long":
        d = read_long(path, **KW)
        out = {"sequences": len(d), "inputs": list(d.features)}
    elif mode == "fit_then_apply":
        schema = Schema.fit(path, task="classify", **KW)
        t1 = time.perf_counter()
        d = read_long(path, schema=schema)
        out = {"sequences": len(d), "fit_seconds": t1 - t0}
    else:
        from seqattn.data.stream import ParquetStream

        schema = Schema.fit_stream(path, task="classify", **KW)
        t1 = time.perf_counter()
        n = sum(len(b) for b in ParquetStream(path, "classify", schema=schema, batch_size=256, buffer_size=1024))
        out = {"sequences": n, "fit_stream_seconds": t1 - t0}
    return {**out, "seconds": time.perf_counter() - t0, "after_import_mib": base, "peak_rss_mib": _peak_mib()}


def run(mode: str, path: str) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", mode, path], capture_output=True, text=True,
                       env=os.environ, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        csv, parquet = str(Path(tmp) / "log.csv"), str(Path(tmp) / "log.parquet")
        os.environ["BENCH_ROWS"] = str(args.rows)
        t0 = time.perf_counter()
        run("write", csv)
        run("write", parquet)
        sizes = {"csv_mib": Path(csv).stat().st_size / 2**20, "parquet_mib": Path(parquet).stat().st_size / 2**20}
        results = {"rows": args.rows, "write_seconds": time.perf_counter() - t0, **sizes,
                   "read_long_csv": run("read_long", csv), "fit_then_apply_csv": run("fit_then_apply", csv),
                   "stream_parquet": run("stream", parquet)}
    print(json.dumps(results, indent=2))
    write("io", results)


if __name__ == "__main__":
    main()
