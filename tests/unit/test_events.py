"""seqattn.data.events: the generated account event log, its planted pattern, and the bag-of-events baseline."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqattn.baselines import bag_of_events_baseline, bag_of_events_features
from seqattn.data.events import PATTERN, EventConfig, generate_events
from seqattn.data.io import read_long

COLUMNS = ["account_id", "timestamp", "event_type", "channel", "amount", "is_fraud", "salient"]


@pytest.fixture(scope="module")
def log():
    return generate_events(EventConfig(num_accounts=120, seed=3))


def _utc(df):
    return pd.to_datetime(df["timestamp"], utc=True, format="ISO8601")


def test_columns_lengths_and_labels(log):
    assert list(log.columns) == COLUMNS
    sizes = log.groupby("account_id").size()
    assert len(sizes) == 120 and sizes.between(20, 200).all() and sizes.nunique() > 10
    assert (log.groupby("account_id")["is_fraud"].nunique() == 1).all()
    assert log.groupby("account_id")["is_fraud"].first().mean() == pytest.approx(0.5)
    assert log["timestamp"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$").all()
    assert log["timestamp"].str[-6:].nunique() > 1  # accounts in several time zones
    assert set(log["channel"]) <= {"web", "app", "atm", "phone"}
    assert (log["amount"] >= 0).all() and (log.loc[log.event_type == "view", "amount"] == 0).all()


def test_rows_are_grouped_by_account_and_sorted_by_time(log):
    ids = log["account_id"].to_numpy()
    assert (ids[1:] >= ids[:-1]).all()
    utc = _utc(log)
    assert all(g.is_monotonic_increasing for _, g in utc.groupby(log["account_id"]))


def test_same_seed_same_log_other_seed_other_log():
    a, b = generate_events(EventConfig(num_accounts=10, seed=5)), generate_events(EventConfig(num_accounts=10, seed=5))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(generate_events(EventConfig(num_accounts=10, seed=6)))


def _block(g):
    return g[g["salient"] == 1]


def test_planted_rows_are_the_takeover_in_order_within_minutes(log):
    for account, g in log.groupby("account_id"):
        block = _block(g)
        if g["is_fraud"].iloc[0] == 0:
            assert block.empty, account
            continue
        events = block["event_type"].tolist()
        assert tuple(events[:3]) == PATTERN and set(events[2:]) == {"transfer"} and 2 <= len(events) - 2 <= 4
        assert _utc(block).diff().max() < pd.Timedelta(minutes=30), account


def test_every_account_carries_the_block_events(log):
    """Legitimate accounts hold the same kinds of events (only their order/timing differ)."""
    counts = log.groupby(["is_fraud", "account_id"])["event_type"].value_counts().unstack(fill_value=0)
    assert (counts["password_reset"] >= 1).all() and (counts["login_new_device"] >= 1).all()
    means = counts.groupby("is_fraud").mean()
    assert abs(means.loc[0, "transfer"] - means.loc[1, "transfer"]) < 0.25 * means.loc[1, "transfer"]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 8))
def test_fraud_accounts_have_the_pattern_contiguous(seed, n):
    df = generate_events(EventConfig(num_accounts=n, min_events=12, max_events=40, fraud_rate=1.0, seed=seed))
    for _, g in df.groupby("account_id"):
        flags = g["salient"].to_numpy()
        rows = np.flatnonzero(flags)
        assert len(rows) >= 4 and tuple(g["event_type"].iloc[rows[:3]]) == PATTERN
        assert g["is_fraud"].iloc[0] == 1


def test_read_long_maps_the_columns_and_keeps_salient_out_of_the_features(log):
    d = read_long(log, id_col="account_id", time_col="timestamp", label_col="is_fraud", task="classify")
    assert "salient" not in d.features and "gap" in d.features
    assert "event_type=password_reset" in d.features and "amount" in d.features
    assert d.salient.sum() == log["salient"].sum() and d.lengths.max() <= 200
    fraud = d.label == 1
    assert d.salient[fraud].any(1).all() and not d.salient[~fraud].any()


@pytest.mark.parametrize("field, value", [("num_accounts", 0), ("min_events", 3), ("max_events", 10),
                                          ("fraud_rate", 1.5), ("min_transfers", 0), ("burst_gap_s", 0.0),
                                          ("utc_offsets", ("0100",)), ("utc_offsets", ())])
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match="utc_offsets" if field == "utc_offsets" else field):
        generate_events(EventConfig(**{field: value}))


def test_bag_of_events_features_ignore_order_and_timing(log):
    x, levels = bag_of_events_features(log, id_col="account_id")
    shuffled = log.sample(frac=1.0, random_state=0).assign(timestamp="2024-01-01T00:00:00+00:00")
    y, _ = bag_of_events_features(shuffled, id_col="account_id", levels=levels)
    pd.testing.assert_frame_equal(x.sort_index(), y.sort_index())
    assert x.loc[log["account_id"].iloc[0], "events"] == (log["account_id"] == log["account_id"].iloc[0]).sum()


def test_bag_of_events_is_near_chance_on_the_generated_log():
    train = generate_events(EventConfig(num_accounts=800, seed=11))
    test = generate_events(EventConfig(num_accounts=600, seed=12))
    result = bag_of_events_baseline(train, test)
    assert result["test_sequences"] == 600 and result["majority"] == pytest.approx(0.5)
    assert result["bag_of_events"] < 0.6


def test_bag_of_events_names_a_missing_column(log):
    with pytest.raises(ValueError, match="'kind'"):
        bag_of_events_features(log, id_col="account_id", categorical=("kind",))


def test_cli_generate_events_writes_the_log(tmp_path):
    out = tmp_path / "events.csv"
    r = subprocess.run([sys.executable, "-m", "seqattn", "generate", "--task", "events", "--num-samples", "7",
                        "--seed", "2", "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("wrote 7 sequences (")
    df = pd.read_csv(out, dtype={"account_id": str})
    pd.testing.assert_frame_equal(df, generate_events(EventConfig(num_accounts=7, seed=2)), check_dtype=False)
