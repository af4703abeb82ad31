"""Hypothesis over random event logs: reading does not depend on row order, and a fitted schema
encodes its own training data exactly as the fit saw it."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from seqattn.data.io import read_long
from seqattn.data.schema import Schema

CHANNELS = ["web", "app", "shop", "tv"]


@st.composite
def event_logs(draw):
    """A log with string ids, distinct ISO times per sequence (mixed offsets), a category, amounts, labels."""
    lengths = draw(st.lists(st.integers(1, 6), min_size=2, max_size=6))
    rows = []
    for k, n in enumerate(lengths):
        seconds = draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n, unique=True))
        label = draw(st.sampled_from(["ok", "fraud", "review"]))
        for s in seconds:
            offset = draw(st.sampled_from([0, 1, -5]))
            when = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(seconds=s)
            rows.append({"acct": f"u{k:02d}", "when": when.tz_convert(f"Etc/GMT{-offset:+d}").isoformat(),
                         "channel": draw(st.sampled_from(CHANNELS)), "amount": draw(st.floats(-1e3, 1e3)),
                         "y": label})
    df = pd.DataFrame(rows)
    if df["y"].nunique() < 2:
        df.loc[df["acct"] == df["acct"].iloc[0], "y"] = "other"
    return df


KW = {"id_col": "acct", "time_col": "when", "label_col": "y"}


def by_id(d):
    return {i: (d.values[k, : d.lengths[k]], d.label_names[k], d.times[k, : d.lengths[k]].tolist())
            for k, i in enumerate(d.ids)}


@settings(max_examples=40, deadline=None)
@given(df=event_logs(), seed=st.integers(0, 2**32 - 1))
def test_row_order_in_the_file_never_changes_the_result(df, seed):
    schema = Schema.fit(df, task="classify", **KW)
    shuffled = df.sample(frac=1.0, random_state=np.random.RandomState(seed)).reset_index(drop=True)
    refit = Schema.fit(shuffled, task="classify", **KW)
    assert refit.features == schema.features and refit.classes == schema.classes
    np.testing.assert_allclose(refit.mean, schema.mean, rtol=1e-9, atol=1e-9)
    a, b = by_id(read_long(df, schema=schema)), by_id(read_long(shuffled, schema=schema))
    assert a.keys() == b.keys()
    for i in a:
        np.testing.assert_array_equal(a[i][0], b[i][0])
        assert a[i][1:] == b[i][1:]


@settings(max_examples=40, deadline=None)
@given(df=event_logs(), missing=st.sampled_from(["error", "ffill", "zero"]))
def test_applying_a_schema_to_its_training_data_gives_what_the_fit_saw(df, missing):
    seen = read_long(df, missing=missing, **KW)  # fits on the file itself
    schema = Schema.fit(df, task="classify", missing=missing, **KW)
    assert seen.schema == Schema.fit(df, missing=missing, **KW)
    again = schema.apply(df)
    np.testing.assert_array_equal(again.values, seen.values)
    assert again.ids == seen.ids and again.label.tolist() == seen.label.tolist()
    assert (again.label >= 0).all() and again.classes == tuple(sorted(df["y"].unique()))
    width = sum(n.startswith("channel=") for n in schema.input_names)
    assert schema.input_names[width - 1] == "channel=<unknown>"
    onehot = again.values[..., :width][again.mask]
    assert (onehot.sum(-1) == 1).all()  # every real step has exactly one channel, never <unknown>
    assert (onehot[:, -1] == 0).all()
