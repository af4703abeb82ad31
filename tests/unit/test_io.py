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


def test_ids_are_read_from_csv_as_written(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("sequence_id,t,x\n007,0,1\n1,0,2\n01,0,3\n1e3,0,4\n007,1,5\nNA,0,6\n")
    d = read_long(path)
    assert d.ids == ["007", "1", "01", "1e3", "NA"]  # "1" and "01" stay apart; nothing becomes a number
    assert d.lengths.tolist() == [2, 1, 1, 1, 1]
    empty = tmp_path / "empty_id.csv"
    empty.write_text("sequence_id,t,x\na,0,1\n,1,2\n")
    with pytest.raises(ValueError, match="'sequence_id' has a missing value at row 1"):
        read_long(empty)


def test_integer_ids_from_parquet_stay_integers(tmp_path):
    path = write_long(frame(sequence_id=[10, 10, 10, 2, 2]), tmp_path / "i.parquet")
    assert read_long(path).ids == [10, 2] and all(type(i) is int for i in read_long(path).ids)


def test_mapped_column_names(tmp_path):
    df = frame().rename(columns={"sequence_id": "user", "t": "step"}).assign(y=[0, 0, 0, 1, 1])
    d = read_long(write_long(df, tmp_path / "m.csv"), id_col="user", time_col="step", label_col="y", require="label")
    assert d.ids == ["a", "b"] and d.features == ("x",) and d.label.tolist() == [0, 1]
    with pytest.raises(ValueError, match="missing column 'sequence_id' \\(columns: user, step, x, y\\)"):
        read_long(df)


def test_equal_times_keep_file_order():
    df = pd.DataFrame({"sequence_id": ["a"] * 4, "t": [1, 0, 1, 1], "x": [10.0, 0.0, 11.0, 12.0]})
    assert read_long(df).values[0, :, 0].tolist() == [0.0, 10.0, 11.0, 12.0]


@pytest.mark.parametrize("times", [
    ["2024-03-01T10:00:00+02:00", "2024-03-01T07:30:00Z", "2024-03-01T09:00:00+01:00"],  # mixed offsets
    ["2024-03-01 08:00:00", "2024-03-01 07:30", "2024-03-01T08:00:00.000"],  # naive: taken as UTC
])
def test_iso_times_with_and_without_timezone(times):
    df = pd.DataFrame({"sequence_id": ["a"] * 3, "t": times, "x": [1.0, 2.0, 3.0]})
    d = read_long(df)
    assert d.values[0, :, 0].tolist() == [2.0, 1.0, 3.0]  # 07:30 UTC first; the 08:00 tie keeps file order
    assert d.times[0].tolist() == [times[1], times[0], times[2]]  # original strings, as written
    assert d.features == ("x", "gap") and d.schema.time_kind == "datetime"
    scale = d.schema.gap_scale
    np.testing.assert_allclose(d.values[0, :, 1] * scale, np.log1p([0.0, 1800.0, 0.0]))


@pytest.mark.parametrize("tz", [None, "Europe/Paris"])
def test_pandas_datetimes_naive_or_aware(tz):
    t = pd.to_datetime(["2024-01-01 00:00:10", "2024-01-01 00:00:00", "2024-01-01 00:01:00"]).tz_localize(tz)
    d = read_long(pd.DataFrame({"sequence_id": [5, 5, 5], "t": t, "x": [2.0, 1.0, 3.0]}))
    assert d.values[0, :, 0].tolist() == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(d.values[0, :, 1] * d.schema.gap_scale, np.log1p([0.0, 10.0, 50.0]))
    assert d.times[0, 0].startswith("2024-01-01 00:00:00")


def test_unparseable_timestamp_names_row_and_value(tmp_path):
    path = tmp_path / "bad_time.csv"
    path.write_text("sequence_id,t,x\na,2024-01-01T00:00:00Z,1\na,2024-13-45T00:00:00Z,2\nb,yesterday,3\n")
    with pytest.raises(ValueError, match="column 't': row 1 has '2024-13-45T00:00:00Z', which is not a timestamp"):
        read_long(path)
    with pytest.raises(ValueError, match="'t' has a missing value at row 0"):
        read_long(frame(t=[None, 1, 2, 0, 1]))


def test_numeric_times_are_kept_as_strings_and_schema_time_kind_is_checked():
    d = read_long(frame(t=[0.5, 1, 2, 0, 1]))
    assert d.times.tolist() == [["0.5", "1.0", "2.0"], ["0.0", "1.0", None]]
    dated = read_long(frame(t=["2024-01-01"] * 5))
    with pytest.raises(ValueError, match="holds numbers, but the model was trained on timestamps"):
        read_long(frame(), schema=dated.schema)


def test_missing_values_error_names_column_sequence_and_time():
    with pytest.raises(ValueError, match="column 'x' has a missing or non-finite value \\(nan\\) in "
                                         "sequence_id='b' at t=1; pass missing='ffill' or 'zero'"):
        read_long(frame(x=[1.0, 2.0, 3.0, 5.0, None]))


def test_missing_policies_fill_and_add_an_indicator():
    df = frame(x=[None, 2.0, None, 5.0, 6.0], c=["u", None, "v", "v", "u"])
    ffill = read_long(df, missing="ffill")
    assert ffill.features == ("x", "x__missing", "c=u", "c=v", "c=<unknown>", "c__missing")  # file order
    a = ffill.values[0]
    assert a[:, 0].tolist() == [2.0, 2.0, 2.0]  # leading gap from the first observed value
    assert a[:, 1].tolist() == [1.0, 0.0, 1.0] and a[:, 5].tolist() == [0.0, 1.0, 0.0]
    assert a[1, 2:5].tolist() == [1.0, 0.0, 0.0]  # the category carried forward
    zero = read_long(df, missing="zero").values[0]
    assert zero[:, 0].tolist() == [0.0, 2.0, 0.0] and zero[1, 2:5].tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("missing", ["error", "ffill", "zero"])
def test_all_missing_feature_is_an_error_under_every_policy(missing):
    with pytest.raises(ValueError, match="column 'y' has no value at all"):
        read_long(frame(y=[np.nan] * 5), missing=missing)
    schema = read_long(frame(y=[1.0] * 5), missing="ffill").schema
    with pytest.raises(ValueError, match="column 'y' has no value at all"):
        read_long(frame(y=[np.nan] * 5), schema=schema)


def test_datetime_times_add_a_gap_feature_except_for_next_value():
    df = pd.DataFrame({"sensor": ["a"] * 3 + ["b"] * 3, "temp": [1.0, 2, 3, 4, 5, 6],
                       "ts": ["2024-01-01T00:00", "2024-01-01T01:00", "2024-01-01T03:00"] * 2,
                       "target": [4.0] * 3 + [7.0] * 3})
    columns = {"id_col": "sensor", "time_col": "ts"}
    assert read_long(df, task="next-value", **columns).features == ("temp",)
    assert read_long(df, task="next-value", **columns).schema.time_kind == "datetime"
    assert read_long(df.drop(columns="target"), **columns).features == ("temp", "gap")
    assert read_long(df.drop(columns="target"), gap=False, **columns).features == ("temp",)


def test_series_windows_cut_every_step_and_thin_evenly_keeping_each_series_last_window():
    from seqattn.data.io import series_windows

    lengths = [40, 3, 2, 100]
    df = pd.concat([pd.DataFrame({"sequence_id": f"s{k}", "t": range(n), "x": np.arange(n) * 10.0 + k})
                    for k, n in enumerate(lengths)])
    d = read_long(df)
    w = series_windows(d, window=32)
    assert len(w) == (40 - 8) + (3 - 2) + 0 + (100 - 8)  # from step 8 (step 2 for a short series); 2 values: none
    for i in range(len(w)):
        sid, end = w.ids[i].split("@")
        k, end = int(sid[1:]), int(end)
        x = w.values[i, : w.lengths[i], 0]
        np.testing.assert_array_equal(x, np.arange(max(0, end - 32), end) * 10.0 + k)
        assert w.target[i] == end * 10.0 + k and w.lengths[i] >= 2
        assert not w.mask[i, w.lengths[i]:].any() and (w.values[i, w.lengths[i]:] == 0).all()
    thin = series_windows(d, window=32, max_windows=20)
    assert 3 <= len(thin) <= 20
    assert {"s0@39", "s1@2", "s3@99"} <= set(thin.ids)
    with pytest.raises(ValueError, match="3 values"):
        series_windows(read_long(df[df.sequence_id == "s2"]))


def test_clock_sampled_times_add_no_constant_gap_feature():
    def frame(minutes):
        return pd.DataFrame({"sequence_id": "a", "x": np.arange(len(minutes), dtype=float),
                             "t": (pd.Timestamp("2024-01-01") + pd.to_timedelta(minutes, unit="min")).astype(str)})

    regular = pd.concat([frame([0, 1, 2, 3]), frame([0, 1, 2]).assign(sequence_id="b")])
    assert read_long(regular).features == ("x",)  # every gap one minute: nothing to learn from it
    irregular = pd.concat([frame([0, 1, 2, 4]), frame([0, 1, 2]).assign(sequence_id="b")])
    assert read_long(irregular).features == ("x", "gap")  # one late event: the gap says something
