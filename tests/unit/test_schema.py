import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from seqattn.data.io import read_long
from seqattn.data.schema import Schema
from seqattn.data.stream import ParquetStream


def events(**cols):
    """A small event log with custom column names: 2 accounts, string channel, amounts, string labels."""
    base = {
        "acct": ["a", "a", "a", "b", "b", "c", "c"],
        "when": ["2024-01-01T10:00:00+01:00", "2024-01-01T09:30:00Z", "2024-01-01T09:40:00Z",
                 "2024-01-02T00:00:00Z", "2024-01-02T00:01:00Z", "2024-01-03T00:00:00Z", "2024-01-03T05:00:00Z"],
        "channel": ["web", "app", "web", "web", "shop", "app", "app"],
        "amount": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        "fraud": ["yes", "yes", "yes", "no", "no", "maybe", "maybe"],
    }
    base.update(cols)
    return pd.DataFrame(base)


MAPPING = {"id_col": "acct", "time_col": "when", "label_col": "fraud"}


def fitted(df=None, **kw):
    return Schema.fit(events() if df is None else df, task="classify", **MAPPING, **kw)


def test_fit_learns_names_kinds_classes_and_gap_scale():
    s = fitted()
    assert s.columns == ("channel", "amount")
    assert s.input_names == ("channel=app", "channel=shop", "channel=web", "channel=<unknown>", "amount", "gap")
    assert s.classes == ("maybe", "no", "yes")  # strings sorted lexicographically
    assert s.time_kind == "datetime" and s.task == "classify"
    # non-first gaps: 600 s, 1800 s (a: 09:00, 09:30, 09:40 UTC), 60 s (b), 18000 s (c)
    expected = np.mean(np.log1p([1800.0, 600.0, 60.0, 18000.0]))
    assert s.gap_scale == pytest.approx(expected)
    assert s.mean[4] == pytest.approx(4.0) and s.std[4] == pytest.approx(2.0)
    assert s.mean[:4] == (0.0,) * 4 and s.std[:4] == (1.0,) * 4  # one-hot columns are not scaled


def test_schema_round_trips_through_a_weights_only_checkpoint():
    s = fitted(missing="ffill")
    buffer = io.BytesIO()
    torch.save({"schema": s.to_dict()}, buffer)
    buffer.seek(0)
    assert Schema.from_dict(torch.load(buffer, weights_only=True)["schema"]) == s


@pytest.mark.parametrize("change, message", [
    ({"missing": "sometimes"}, "'missing' must be one of"),
    ({"features": [{"name": "x", "kind": "text"}]}, "unknown kind 'text'"),
    ({"mean": [0.0]}, "scaling has 1 means"),
    ({"colour": 1}, "unknown field"),
    ({"version": "1"}, "schema version '1'"),
    ({"gap_scale": -1.0}, "'gap_scale' must be a positive number"),
    ({"classes": [0, "a"]}, "only integers or only strings"),
    ({"id_col": 3}, "'id_col' must be a string"),
])
def test_malformed_schema_dict_names_the_field(change, message):
    with pytest.raises(ValueError, match=message):
        Schema.from_dict({**fitted().to_dict(), **change})


def test_columns_in_another_order_are_matched_by_name():
    s = fitted()
    d = read_long(events(), schema=s)
    shuffled = events()[["amount", "fraud", "channel", "when", "acct"]]
    np.testing.assert_array_equal(read_long(shuffled, schema=s).values, d.values)
    np.testing.assert_array_equal(s.apply(shuffled).values, d.values)


def test_missing_and_extra_columns_are_errors_naming_them():
    s = fitted()
    with pytest.raises(ValueError, match=r"missing feature column\(s\) 'channel'.*columns: acct, when, amount"):
        read_long(events().drop(columns="channel"), schema=s)
    with pytest.raises(ValueError, match=r"unexpected column\(s\) 'note'.*ignore_cols=\('note',\)"):
        read_long(events(note=list("abcdefg")), schema=s)
    d = read_long(events(note=list("abcdefg")), schema=s, ignore_cols=("note",))
    assert d.features == s.input_names
    with pytest.raises(ValueError, match="missing column 'acct' \\(columns: id, when"):
        read_long(events().rename(columns={"acct": "id"}), schema=s)


def test_missing_mapped_column_lists_the_columns_that_exist():
    with pytest.raises(ValueError, match="missing column 'account' \\(columns: acct, when, channel, amount, fraud\\)"):
        read_long(events(), id_col="account", time_col="when", label_col="fraud")
    with pytest.raises(ValueError, match="missing column 'label'"):
        Schema.fit(events(), task="classify", id_col="acct", time_col="when")


def test_features_given_are_exactly_those_in_the_given_order():
    d = read_long(events(), features=("amount",), **MAPPING)
    assert d.features == ("amount", "gap")
    d = read_long(events(), features=("amount", "channel"), **MAPPING)
    assert d.features[0] == "amount" and d.features[1].startswith("channel=")
    with pytest.raises(ValueError, match="missing feature column 'colour'"):
        read_long(events(), features=("colour",), **MAPPING)


def test_columns_left_out_of_given_features_are_not_extra_in_later_files(tmp_path):
    s = fitted(features=("amount",))
    assert s.columns == ("amount",) and s.ignore_cols == ("channel",)
    assert read_long(events(), schema=s).features == ("amount", "gap")
    with pytest.raises(ValueError, match="unexpected column\\(s\\) 'note'"):
        read_long(events(note=list("abcdefg")), schema=s)
    with pytest.raises(ValueError, match="disagree with the schema"):
        read_long(events(), schema=s, features=("channel",))
    path = write_groups(events(), tmp_path / "ev.parquet")
    assert Schema.fit_stream(path, task="classify", features=("amount",), **MAPPING) == s


def test_unseen_category_goes_to_the_unknown_slot():
    s = fitted()
    d = read_long(events(channel=["tv", "app", "web", "web", "shop", "radio", "app"]), schema=s)
    # account a sorted by time: 09:00 (tv), 09:30 (app), 09:40 (web)
    assert d.values[0, :, :4].tolist() == [[0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 1, 0]]
    assert d.values[2, 0, 3] == 1.0
    assert (d.values[d.mask][:, :4].sum(1) == 1).all()


def test_bool_and_pandas_category_columns_are_one_hot():
    df = events(flag=[True, False, True, True, False, False, True],
                tier=pd.Categorical(["gold", "gold", "basic", "basic", "gold", "basic", "gold"]))
    s = fitted(df)
    assert "flag=False" in s.input_names and "flag=True" in s.input_names and "tier=gold" in s.input_names
    d = read_long(df, schema=s)
    j = s.input_names.index("flag=True")
    assert d.values[0, :3, j].tolist() == [1.0, 0.0, 1.0]  # rows a: 09:00 True, 09:30 False, 09:40 True


def test_integer_codes_can_be_declared_categorical():
    s = fitted(events(store=[3, 1, 3, 2, 2, 1, 1]), categorical=("store",))
    assert [n for n in s.input_names if n.startswith("store")] == ["store=1", "store=2", "store=3", "store=<unknown>"]


def test_too_many_levels_is_an_error_suggesting_ignore_cols():
    n = 40
    df = pd.DataFrame({"sequence_id": np.repeat(np.arange(n // 2), 2), "t": np.tile([0, 1], n // 2),
                       "note": [f"free text {i}" for i in range(n)], "x": np.arange(n, dtype=float)})
    with pytest.raises(ValueError, match="column 'note' has 40 distinct values in 40 rows.*ignore_cols=\\('note',\\)"):
        read_long(df)
    assert read_long(df, ignore_cols=("note",)).features == ("x",)
    rows = 200  # 70 levels, each on ~3 rows: a category, but more levels than the default limit
    many = pd.DataFrame({"sequence_id": np.repeat(np.arange(rows // 2), 2), "t": np.tile([0, 1], rows // 2),
                         "note": [f"level {i % 70}" for i in range(rows)], "x": 1.0})
    with pytest.raises(ValueError, match="more than 64 distinct values"):
        read_long(many)
    assert read_long(many, max_levels=100).features[-2:] == ("note=<unknown>", "x")
    assert read_long(many, max_levels=100).values.shape[2] == 70 + 1 + 1


def test_a_text_column_of_numbers_with_a_typo_is_a_numeric_error(tmp_path):
    path = tmp_path / "typo.csv"
    path.write_text("sequence_id,t,x\na,0,1\na,1,1_000\na,2,3\nb,0,4\n")
    with pytest.raises(ValueError, match="column 'x' must be numeric; row 1 has '1_000'"):
        read_long(path)


def test_labels_many_classes_sorted_and_binary_kept():
    d = read_long(events(), **MAPPING)
    assert d.classes == ("maybe", "no", "yes") and d.label.tolist() == [2, 1, 0]
    assert d.label_names.tolist() == ["yes", "no", "maybe"]
    ints = read_long(events(fraud=[10, 10, 10, 2, 2, 7, 7]), **MAPPING)
    assert ints.classes == (2, 7, 10) and ints.label.tolist() == [2, 0, 1]  # numeric, not "10" < "2"
    ones = read_long(events(fraud=[1, 1, 1, 1, 1, 1, 1]), **MAPPING)
    assert ones.classes == (0, 1) and ones.label.tolist() == [1, 1, 1]  # a 0/1 file keeps 0/1
    floats = read_long(events(fraud=[1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]), **MAPPING)
    assert floats.classes == (0, 1) and floats.label.tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match="holds 0.5; a label must be an integer or a string"):
        read_long(events(fraud=[0.5] * 7), **MAPPING)


def test_single_class_training_file_is_an_error():
    with pytest.raises(ValueError, match="'fraud' holds a single class \\('yes'\\)"):
        fitted(events(fraud=["yes"] * 7))
    with pytest.raises(ValueError, match="single class \\(1\\)"):
        fitted(events(fraud=[1] * 7))
    read_long(events(fraud=["yes"] * 7), **MAPPING)  # a test file with one class is fine


def test_reading_a_training_file_with_a_task_fits_the_schema_in_the_same_read():
    d = read_long(events(), task="classify", **MAPPING)
    assert d.schema == fitted() and d.features == fitted().input_names
    with pytest.raises(ValueError, match="single class"):
        read_long(events(fraud=["no"] * 7), task="classify", **MAPPING)
    with pytest.raises(ValueError, match="missing column 'target'"):
        read_long(events(), task="next-value", **MAPPING)


def test_label_that_changes_within_a_sequence_names_it():
    with pytest.raises(ValueError, match="'fraud' must be constant within a sequence; acct='b' has both 'no' and 'yes'"):
        read_long(events(fraud=["yes", "yes", "yes", "no", "yes", "maybe", "maybe"]), **MAPPING)


def test_unseen_class_in_a_test_file_is_marked_not_a_crash():
    s = fitted()
    d = read_long(events(fraud=["yes", "yes", "yes", "chargeback", "chargeback", "no", "no"]), schema=s)
    assert d.label.tolist() == [2, -1, 1]
    assert d.label_names.tolist() == ["yes", "chargeback", "no"] and d.classes == s.classes


def test_standardize_uses_training_statistics_and_keeps_padding_zero():
    s = fitted()
    d = read_long(events(), schema=s)
    z = s.standardize(d.values, d.mask)
    j = s.input_names.index("amount")
    np.testing.assert_allclose(z[..., j][d.mask].mean(), 0.0, atol=1e-12)
    np.testing.assert_allclose(z[..., j][d.mask].std(), 1.0)
    assert (z[~d.mask] == 0).all()
    with pytest.raises(ValueError, match="values have 2 input columns"):
        s.standardize(np.zeros((1, 2, 2)))


def write_groups(df, path, rows=3):
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=rows)
    return path


def test_fit_stream_equals_fit_and_the_stream_encodes_like_read_long(tmp_path):
    df = events(amount=[1.0, np.nan, 3.0, 4.0, 5.0, 6.0, 7.0])
    path = write_groups(df, tmp_path / "ev.parquet")
    kw = dict(task="classify", missing="ffill", **MAPPING)
    s = Schema.fit_stream(path, read_rows=2, **kw)
    assert s == Schema.fit(df, **kw)
    stream = ParquetStream(path, "classify", schema=s, batch_size=8, shuffle=False, read_rows=2)
    full = read_long(df, schema=s)
    (batch,) = list(stream)
    assert sorted(batch.y.tolist()) == [0, 1, 2]
    for x, m, y in zip(batch.x.numpy(), batch.mask.numpy(), batch.y.numpy(), strict=True):
        k = full.label.tolist().index(int(y))
        np.testing.assert_allclose(x[m], full.values[k][full.mask[k]])


def test_stream_without_schema_fits_one_with_the_same_keywords(tmp_path):
    path = write_groups(events(), tmp_path / "ev.parquet")
    stream = ParquetStream(path, "classify", batch_size=8, **MAPPING)
    assert stream.schema == fitted() and stream.features == fitted().input_names
    assert sorted(y for b in stream for y in b.y.tolist()) == [0, 1, 2]


def test_stream_checks_columns_by_name_and_unseen_classes(tmp_path):
    s = fitted()
    path = write_groups(events(note=list("abcdefg")), tmp_path / "extra.parquet")
    with pytest.raises(ValueError, match="unexpected column\\(s\\) 'note'"):
        ParquetStream(path, "classify", schema=s)
    assert len(list(ParquetStream(path, "classify", schema=s, ignore_cols=("note",))))
    path = write_groups(events(fraud=["yes"] * 3 + ["new"] * 2 + ["no"] * 2), tmp_path / "new.parquet")
    with pytest.raises(ValueError, match="acct='b' has class 'new', which is not among the schema's classes"):
        list(ParquetStream(path, "classify", schema=s))


def test_fit_stream_stops_at_too_many_levels(tmp_path):
    n = 400
    df = pd.DataFrame({"sequence_id": np.arange(n), "t": 0, "x": 1.0, "label": np.arange(n) % 2,
                       "user": [f"u{i}" for i in range(n)]})
    path = write_groups(df, tmp_path / "ids.parquet", rows=50)
    with pytest.raises(ValueError, match="column 'user' has more than 64 distinct values"):
        Schema.fit_stream(path, task="classify")
