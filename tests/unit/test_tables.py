"""seqattn.tables: one sequence's events with influence bars (pandas Styler)."""

import re

import numpy as np
import pandas as pd
import pytest

from seqattn.data.events import EventConfig, generate_events
from seqattn.tables import HIGHLIGHT, event_table, sequence_rows, top_columns


@pytest.fixture
def events():
    return pd.DataFrame({"timestamp": ["2024-01-01T10:00:00+00:00", "2024-01-01T10:01:00+00:00",
                                       "2024-01-01T10:02:00+00:00", "2024-01-01T10:09:00+00:00"],
                         "event_type": ["password_reset", "login_new_device", "transfer", "logout"],
                         "channel": ["web", "web", "app", "web"], "amount": [0.0, 0.0, 987.65, 0.0]})


def test_html_holds_the_values_the_bars_and_the_highlight(events):
    html = event_table(events, [0.2, 0.3, 0.45, 0.05], top=2).to_html()
    for value in ("password_reset", "login_new_device", "987.650", "0.450", "2024-01-01T10:09:00+00:00"):
        assert value in html
    assert "linear-gradient" in html  # Styler.bar draws the influence as a gradient bar
    assert html.count("font-weight: bold") >= 1 and HIGHLIGHT.split(";")[0] in html


def test_only_the_top_rows_are_highlighted(events):
    html = event_table(events, [0.1, 0.6, 0.2, 0.1], top=1).to_html()
    assert _styled_rows(html, "font-weight: bold") == {1}
    assert _styled_rows(event_table(events, [0.1, 0.6, 0.2, 0.1], top=2).to_html(), "font-weight: bold") == {1, 2}


def _styled_cells(html: str, css: str) -> set[tuple[int, int]]:
    """(row, column) of the cells whose CSS rule contains ``css`` (Styler writes one rule per cell id)."""
    cells = set()
    for ids, body in re.findall(r"((?:#T_\w+_row\d+_col\d+(?:, )?)+) \{([^}]*)\}", html):
        if css in body:
            cells |= {(int(r), int(c)) for r, c in re.findall(r"row(\d+)_col(\d+)", ids)}
    return cells


def _styled_rows(html: str, css: str) -> set[int]:
    return {row for row, _ in _styled_cells(html, css)}


def test_columns_pick_and_order_what_is_shown(events):
    styler = event_table(events, np.ones(4) / 4, columns=["event_type", "amount"])
    assert list(styler.data.columns) == ["event_type", "amount", "influence"]
    with pytest.raises(ValueError, match="'kind'"):
        event_table(events, np.ones(4), columns=["kind"])


def test_top_feature_is_shown_and_its_cell_marked(events):
    styler = event_table(events, [0.0, 0.1, 0.9, 0.0], top=1,
                         top_feature=["event_type=password_reset", "channel=web", "amount", "gap"])
    html = styler.to_html()
    assert "top column" in html and "channel=web" in html
    amount = list(styler.data.columns).index("amount")
    assert _styled_cells(html, "#f9b27a") == {(2, amount)}
    with pytest.raises(ValueError, match="top_feature"):
        event_table(events, np.ones(4), top_feature=["amount"])


def test_first_step_numbers_a_window(events):
    styler = event_table(events.iloc[1:3], [0.9, 0.1], top=1, first_step=1)
    assert list(styler.data.index) == [1, 2]
    assert _styled_rows(styler.to_html(), "font-weight: bold") == {0}  # the first shown row (step 1)


def test_padded_influence_is_cut_and_bad_influence_refused(events):
    assert len(event_table(events, [0.1, 0.2, 0.3, 0.4, 0.0, 0.0]).data) == 4
    for bad in ([0.1, 0.2], [0.1, 0.2, np.nan, 0.1], [0.1, 0.2, 0.3, 0.4, 0.5]):
        with pytest.raises(ValueError, match="influence"):
            event_table(events, bad)


def test_sequence_rows_sorts_by_time_with_ties_in_file_order():
    df = pd.DataFrame({"acct": ["b", "a", "a", "a"], "ts": ["2024-01-01T10:00:00+01:00", "2024-01-01T10:00:00Z",
                                                            "2024-01-01T09:30:00+00:00", "2024-01-01T10:00:00Z"],
                       "x": [1, 2, 3, 4]})
    assert sequence_rows(df, "a", id_col="acct", time_col="ts")["x"].tolist() == [3, 2, 4]
    with pytest.raises(ValueError, match="acct='zz'"):
        sequence_rows(df, "zz", id_col="acct", time_col="ts")


def test_sequence_rows_match_read_long_order():
    from seqattn.data.io import read_long

    log = generate_events(EventConfig(num_accounts=3, seed=4))
    d = read_long(log, id_col="account_id", time_col="timestamp", label_col="is_fraud")
    rows = sequence_rows(log, d.ids[1], id_col="account_id", time_col="timestamp")
    assert rows["timestamp"].tolist() == d.times[1][: d.lengths[1]].tolist()


def test_top_columns_names_the_largest_absolute_input():
    assert top_columns([[0.1, -0.9], [0.5, 0.2]], ["a", "b"]) == ["b", "a"]
    with pytest.raises(ValueError, match="feature_map"):
        top_columns(np.ones((3, 3)), ["a", "b"])
