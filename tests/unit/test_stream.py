import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seqattn.config import DataConfig, SignalConfig
from seqattn.data import generate_next_value, generate_signal
from seqattn.data.io import read_long, to_long
from seqattn.data.stream import ParquetStream, with_split
from seqattn.models import build_model
from seqattn.train import TrainConfig, train_model


def write_small_groups(df, path, rows_per_group=37):
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=rows_per_group)
    return path


@pytest.fixture()
def next_value_file(tmp_path):
    d = generate_next_value(DataConfig(num_samples=240, min_len=3, max_len=20, seed=3))
    df = to_long(d.values, d.mask, target=d.target)
    return write_small_groups(df, tmp_path / "nv.parquet")


def sequences(batches):
    """Every yielded sequence as (valid values, target), order-free."""
    out = []
    for b in batches:
        for x, m, y in zip(b.x.numpy(), b.mask.numpy(), b.y.numpy(), strict=True):
            out.append((tuple(np.round(x[m], 9)), round(float(y), 9)))
    return sorted(out)


def test_stream_yields_exactly_the_file_in_many_row_groups(next_value_file):
    assert pq.ParquetFile(next_value_file).metadata.num_row_groups > 50  # sequences span group boundaries
    full = read_long(next_value_file)
    expected = sorted((tuple(np.round(v[:n, 0], 9)), round(float(t), 9))
                      for v, n, t in zip(full.values, full.lengths, full.target, strict=True))
    stream = ParquetStream(next_value_file, "next-value", batch_size=16, buffer_size=50, shuffle=True)
    batches = list(stream)
    assert sequences(batches) == expected
    assert len(stream) == len(batches) and stream.scan() == {"sequences": 240, "max_len": 20}
    assert all(b.x.dtype.is_floating_point and b.x.dim() == 2 for b in batches)


def test_stream_never_holds_more_than_a_buffer(next_value_file):
    stream = ParquetStream(next_value_file, "next-value", batch_size=8, buffer_size=24, read_rows=37)
    chunks = list(stream._sequences())
    assert len(chunks) > 20 and max(len(c) for c in chunks) < 24


def test_splits_and_ranks_partition_the_sequences(next_value_file):
    base = ParquetStream(next_value_file, "next-value", batch_size=32, shuffle=False)
    every = sequences(base)
    train, val = sequences(with_split(base, "train")), sequences(with_split(base, "val"))
    assert len(val) == 24 and sorted(train + val) == every
    shards = [sequences(ParquetStream(next_value_file, "next-value", batch_size=32, split="train", rank=r, world=2))
              for r in (0, 1)]
    assert not set(shards[0]) & set(shards[1]) and sorted(shards[0] + shards[1]) == train
    assert abs(len(shards[0]) - len(shards[1])) <= 1


def test_shuffle_is_seeded_per_epoch(next_value_file):
    stream = ParquetStream(next_value_file, "next-value", batch_size=16, buffer_size=60, seed=1)
    first = [b.y.tolist() for b in stream]
    stream.set_epoch(1)
    second = [b.y.tolist() for b in stream]
    stream.set_epoch(0)
    assert first == [b.y.tolist() for b in stream] and first != second


def test_non_contiguous_sequence_is_a_clear_error(tmp_path):
    import pandas as pd

    df = pd.DataFrame({"sequence_id": [1, 1, 2, 2, 1], "t": [0, 1, 0, 1, 2], "x": [1.0] * 5,
                       "label": [0, 0, 1, 1, 0]})
    path = write_small_groups(df, tmp_path / "bad.parquet", 2)
    with pytest.raises(ValueError, match="sequence_id=1.*not contiguous"):
        list(ParquetStream(path, "classify", batch_size=4))


def test_bad_values_and_columns_name_the_problem(tmp_path):
    import pandas as pd

    df = pd.DataFrame({"sequence_id": [1, 1, 2], "t": [0, 1, 0], "x": [1.0, 2.0, 3.0], "label": [0, 3, 3]})
    path = write_small_groups(df, tmp_path / "bad.parquet", 2)
    with pytest.raises(ValueError, match="label.*constant within a sequence; sequence_id=1"):
        list(ParquetStream(path, "classify"))
    with pytest.raises(ValueError, match="missing column 'target'"):
        ParquetStream(path, "next-value")
    with pytest.raises(ValueError, match="parquet"):
        ParquetStream(tmp_path / "x.csv", "classify")


def test_train_model_on_a_stream_learns(tmp_path):
    d = generate_signal(SignalConfig(num_samples=600, max_len=32, min_len=32, seed=0))
    path = write_small_groups(to_long(d.values, d.mask, label=d.label), tmp_path / "sig.parquet", 500)
    train = ParquetStream(path, "classify", batch_size=32, buffer_size=256, val_every=5)
    val = with_split(train, "val", shuffle=False)
    model = build_model("pooling", "classify", {"num_features": 4, "hidden_size": 16, "max_len": 32})
    model, history = train_model(model, train, val, TrainConfig(epochs=6, lr=5e-3, progress=False, patience=6))
    assert history.val_accuracy.max() > 0.8
