import numpy as np
import pandas as pd
import pytest

from seqattn.config import DataConfig, SignalConfig
from seqattn.data import generate_next_value, generate_signal
from seqattn.data.io import read_long, to_long, write_long


def frame(**cols):
    base = {"sequence_id": ["a", "a", "a", "b", "b"], "t": [0, 1, 2, 0, 1], "x": [1.0, 2.0, 3.0, 5.0, 6.0]}
    base.update(cols)
    return pd.DataFrame(base)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip_next_value(tmp_path, suffix):
    d = generate_next_value(DataConfig(num_samples=200, max_len=10, seed=0))
    df = to_long(d.values, d.mask, target=d.target, extra={"family": d.family, "oracle": d.oracle})
    path = write_long(df, tmp_path / f"nv{suffix}")
    back = read_long(path, require="target")
    assert back.features == ("value",)
    assert back.family.tolist() == d.family.tolist()
    np.testing.assert_allclose(back.oracle, d.oracle, rtol=1e-12)
    # ids are labels: a CSV's come back as the text written, Parquet keeps the integers
    assert back.ids == ([str(i) for i in range(200)] if suffix == ".csv" else list(range(200)))
    np.testing.assert_array_equal(back.lengths, d.lengths)
    np.testing.assert_allclose(back.values[..., 0], d.values[:, : back.values.shape[1]], rtol=1e-12)
    np.testing.assert_allclose(back.target, d.target, rtol=1e-12)
    assert not list(tmp_path.glob(".*tmp"))  # atomic write leaves no temp file


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip_signal_multifeature(tmp_path, suffix):
    d = generate_signal(SignalConfig(num_samples=40, max_len=24, min_len=12, num_features=3, seed=1))
    df = to_long(d.values, d.mask, label=d.label, salient=d.salient)
    back = read_long(write_long(df, tmp_path / f"s{suffix}"), require="label")
    np.testing.assert_array_equal(back.salient, d.salient[:, : back.values.shape[1]])
    assert back.features == ("x0", "x1", "x2")
    np.testing.assert_array_equal(back.label, d.label)
    np.testing.assert_allclose(back.values, d.values[:, : back.values.shape[1]], rtol=1e-6)


def test_any_row_order_and_string_ids_keep_first_appearance():
    df = pd.DataFrame({"sequence_id": ["z", 7, "z", 7, "m"], "t": [5, 2, 1, 0, 3], "v": [2, 9, 1, 8, 4.0]})
    d = read_long(df)
    assert d.ids == ["z", 7, "m"]
    assert d.values[..., 0].tolist() == [[1, 2], [8, 9], [4, 0]]
    assert d.mask.tolist() == [[True, True], [True, True], [True, False]]


@pytest.mark.parametrize(
    "df, message",
    [
        (frame().drop(columns="t"), "missing column 't'"),
        (frame().drop(columns="sequence_id"), "missing column 'sequence_id'"),
        (frame(x=["1", "2", "oops", "5", "6"]), "column 'x' must be numeric; row 2 has 'oops'"),
        (frame(x=[1.0, np.nan, 3.0, 5.0, 6.0]), "column 'x' has a missing or non-finite value"),
        (frame(x=[1.0, 2.0, np.inf, 5.0, 6.0]), "non-finite value \\(inf\\) in sequence_id='a'"),
        (frame(label=[0, 0, 1, 2, 2]), "'label' must be constant within a sequence; sequence_id='a' has both 0 and 1"),
        (frame(target=[1.0, 1.0, 2.0, 3.0, 3.0]), "'target' must be constant within a sequence; sequence_id='a'"),
        (frame().iloc[:0], "no rows"),
        (frame()[["sequence_id", "t"]], "no feature columns"),
    ],
)
def test_bad_frames_name_the_problem(df, message):
    with pytest.raises(ValueError, match=message):
        read_long(df)


def test_too_long_and_required_column():
    with pytest.raises(ValueError, match="sequence_id='a' has 3 steps; the model supports at most 2"):
        read_long(frame(), max_len=2)
    with pytest.raises(ValueError, match="missing column 'label'"):
        read_long(frame(), require="label")
    with pytest.raises(ValueError, match="missing feature column 'y'"):
        read_long(frame(), features=("y",))


def test_bad_paths(tmp_path):
    with pytest.raises(ValueError, match="file not found"):
        read_long(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="unsupported file type '.txt'"):
        read_long(tmp_path / "x.txt")
    corrupt = tmp_path / "bad.parquet"
    corrupt.write_bytes(b"not a parquet file")
    with pytest.raises(ValueError, match="cannot read as parquet"):
        read_long(corrupt)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="cannot read as csv"):
        read_long(empty)
    with pytest.raises(ValueError, match=str(empty)):
        read_long(empty)


def test_to_long_validates_shapes():
    with pytest.raises(ValueError, match="values must be"):
        to_long(np.zeros(3))
    with pytest.raises(ValueError, match="feature names"):
        to_long(np.zeros((2, 3, 2)), features=("a",))
