"""Peak memory of training input from a long-format Parquet file: ``read_long`` (whole file into arrays)
against ``ParquetStream`` (one row group at a time), each in its own process, on the same file.

Run: python benchmarks/bench_stream.py [--sequences 200000]
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


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, path: str) -> dict:
    t0 = time.perf_counter()
    if mode == "write":
        import pyarrow as pa
        import pyarrow.parquet as pq

        from seqattn.config import SignalConfig
        from seqattn.data import generate_signal
        from seqattn.data.io import to_long

        n = int(os.environ["BENCH_SEQUENCES"])
        with pq.ParquetWriter(path, pa.schema([("sequence_id", pa.int64()), ("t", pa.int64())] +
                                              [(f"x{j}", pa.float32()) for j in range(4)] + [("label", pa.int64())])) as w:
            for start in range(0, n, 20_000):  # written in parts: the writer never holds the file either
                d = generate_signal(SignalConfig(num_samples=min(20_000, n - start), seed=start))
                df = to_long(d.values, d.mask, label=d.label, ids=range(start, start + len(d.label)))
                w.write_table(pa.Table.from_pandas(df, preserve_index=False), row_group_size=65_536)
        return {"seconds": time.perf_counter() - t0}
    import torch  # noqa: F401  (both modes pay for torch: compare what reading adds)

    base = _peak_mib()
    if mode == "read_long":
        from seqattn.data.io import read_long

        d = read_long(path)
        n = len(d)
    else:
        from seqattn.data.stream import ParquetStream

        n = sum(len(b) for b in ParquetStream(path, "classify", batch_size=256, buffer_size=8192))
    return {"sequences": n, "seconds": time.perf_counter() - t0, "peak_rss_mib": _peak_mib(),
            "after_import_mib": base}


def run(mode: str, path: str) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", mode, path], capture_output=True, text=True,
                       env=os.environ, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sequences", type=int, default=200_000)
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    os.environ["BENCH_SEQUENCES"] = str(args.sequences)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "big.parquet")
        run("write", path)
        size = Path(path).stat().st_size / 2**20
        full, stream = run("read_long", path), run("stream", path)
    assert full["sequences"] == stream["sequences"] == args.sequences
    write("stream", {"sequences": args.sequences, "file_mib": size, "read_long": full, "stream": stream,
                     "peak_ratio_stream_vs_read_long": (stream["peak_rss_mib"] - stream["after_import_mib"])
                     / (full["peak_rss_mib"] - full["after_import_mib"])})


if __name__ == "__main__":
    main()
