"""A generated account event log (transactions and clicks), as a bank or shop would export it.

One row per event, with the column names such an export has, not seqattn's defaults:

==============  ===========================================================================================
``account_id``  text id (``"A000042"``); one sequence per account, 20..200 events by default
``timestamp``   ISO-8601 text with the account's UTC offset (``"2024-01-03T14:05:22+01:00"``)
``event_type``  login, view, add_card, purchase, transfer, withdrawal, password_reset, login_new_device, logout
``channel``     web, app, atm, phone (one per session)
``amount``      money moved (0.0 for events that move none)
``is_fraud``    the account's label, 0 or 1 (constant within an account)
``salient``     ground truth, 1 on the rows of the planted pattern (fraud accounts only); never a feature
==============  ===========================================================================================

Background: sessions (login … logout) arriving as a Poisson process over ``span_days``, seconds to minutes
between the events of a session (irregular timing), hours to days between sessions.

The planted pattern (an account takeover): ``password_reset``, then ``login_new_device``, then 2..4
``transfer`` events, in that order and within minutes. **Every** account carries the same block of events
(one reset, one new-device login and 2..4 large transfers, drawn from the same distributions), so counts,
channels and amounts cannot tell the classes apart; only legitimate accounts arrange it differently:

- ``order`` distractor: the same events within minutes, in another order (the new device first, or the
  transfers before the reset);
- ``timing`` distractor: the same order, spread over hours to days between other sessions.

``salient`` is one of the reserved ground-truth names (:data:`seqattn.data.schema.GROUND_TRUTH`):
``read_long`` and ``seqattn train --csv`` never take it as a feature and read it into
``LongData.salient`` (no ``--ignore-cols`` needed). Rename it, and it must be ignored explicitly.

>>> df = generate_events(EventConfig(num_accounts=4, seed=1))
>>> list(df.columns)
['account_id', 'timestamp', 'event_type', 'channel', 'amount', 'is_fraud', 'salient']
>>> bool(df.groupby("account_id").size().between(20, 200).all())
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ACCOUNT, TIMESTAMP, EVENT, CHANNEL, AMOUNT, FRAUD, SALIENT = (
    "account_id", "timestamp", "event_type", "channel", "amount", "is_fraud", "salient")
COLUMNS = {"id_col": "account_id", "time_col": "timestamp", "label_col": "is_fraud"}  # read_long's mapping
EVENT_TYPES = ("login", "view", "add_card", "purchase", "transfer", "withdrawal", "password_reset",
               "login_new_device", "logout")
CHANNELS = ("web", "app", "atm", "phone")
PATTERN = ("password_reset", "login_new_device", "transfer")  # the planted order (then more transfers)
ORDER_DISTRACTORS = (  # the same block in orders that are not the takeover
    ("login_new_device", "password_reset", "transfer"),
    ("transfer", "password_reset", "login_new_device"),
)
_MIDDLE = ("view", "purchase", "add_card", "transfer", "password_reset")  # events inside a web/app session
_MIDDLE_P = (0.62, 0.2, 0.04, 0.12, 0.02)
_DAY = 86_400.0


@dataclass(frozen=True)
class EventConfig:
    """What :func:`generate_events` draws. Every field has a default; ``seed`` fixes everything."""

    num_accounts: int = 4_000  # sequences
    min_events: int = 20  # events per account, drawn uniformly in [min_events, max_events]
    max_events: int = 200
    fraud_rate: float = 0.5  # share of accounts with the planted takeover (is_fraud = 1)
    min_transfers: int = 2  # transfers in the planted block (and in the distractors' block)
    max_transfers: int = 4
    burst_gap_s: float = 60.0  # mean seconds between the events of the burst (exponential, >= 5 s)
    session_gap_s: float = 45.0  # mean seconds between the events of a background session
    span_days: float = 30.0  # the log covers this many days
    start: str = "2024-01-01T00:00:00"  # UTC start of the log
    utc_offsets: tuple[str, ...] = ("+00:00", "+01:00", "-05:00", "+05:30")  # one per account, for display
    seed: int = 0

    def check(self) -> None:
        """Raise ValueError naming the first field that cannot work."""
        block = 2 + self.max_transfers
        if self.num_accounts < 1:
            raise ValueError(f"num_accounts must be >= 1, got {self.num_accounts}")
        if not 1 <= self.min_transfers <= self.max_transfers:
            raise ValueError(f"need 1 <= min_transfers <= max_transfers, got {self.min_transfers}, "
                             f"{self.max_transfers}")
        if not block + 2 <= self.min_events <= self.max_events:
            raise ValueError(f"need {block + 2} <= min_events <= max_events (the block takes up to {block} "
                             f"events), got {self.min_events}, {self.max_events}")
        if not 0.0 <= self.fraud_rate <= 1.0:
            raise ValueError(f"fraud_rate must be in [0, 1], got {self.fraud_rate}")
        for name in ("burst_gap_s", "session_gap_s", "span_days"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not self.utc_offsets:
            raise ValueError("utc_offsets must name at least one offset, e.g. ('+00:00',)")


def generate_events(config: EventConfig = EventConfig()) -> pd.DataFrame:
    """An event log with a planted account-takeover pattern (see the module docstring).

    Args:
        config: sizes, timing and seed.

    Returns:
        DataFrame with columns ``account_id, timestamp, event_type, channel, amount, is_fraud, salient``,
        rows grouped by account (accounts in id order) and sorted by time within each account.

    >>> df = generate_events(EventConfig(num_accounts=50, seed=0))
    >>> sorted(df["is_fraud"].unique().tolist()), int(df.loc[df.is_fraud == 0, "salient"].sum())
    ([0, 1], 0)
    """
    config.check()
    rng = np.random.default_rng(config.seed)
    n = config.num_accounts
    fraud = np.zeros(n, dtype=np.int8)
    fraud[rng.permutation(n)[: round(n * config.fraud_rate)]] = 1
    parts = [_account(rng, config, bool(f)) for f in fraud]
    lengths = np.array([len(p[0]) for p in parts])
    seconds = np.concatenate([p[0] for p in parts])
    offsets_min = np.array([_offset_minutes(o) for o in config.utc_offsets])
    which = rng.integers(0, len(config.utc_offsets), n)
    account = np.repeat(np.arange(n), lengths)
    stamps = _iso(np.datetime64(config.start, "s"), seconds, offsets_min[which][account],
                  np.asarray(config.utc_offsets, dtype=object)[which][account])
    width = max(6, len(str(n - 1)))
    return pd.DataFrame({
        ACCOUNT: np.char.add("A", np.char.zfill(np.arange(n).astype(str), width))[account].astype(object),
        TIMESTAMP: stamps,
        EVENT: np.asarray(EVENT_TYPES, dtype=object)[np.concatenate([p[1] for p in parts])],
        CHANNEL: np.asarray(CHANNELS, dtype=object)[np.concatenate([p[2] for p in parts])],
        AMOUNT: np.round(np.concatenate([p[3] for p in parts]), 2),
        FRAUD: np.repeat(fraud, lengths),
        SALIENT: np.concatenate([p[4] for p in parts]).astype(np.int8),
    })


def _offset_minutes(offset: str) -> int:
    try:
        sign = -1 if offset[0] == "-" else 1
        hours, minutes = offset[1:].split(":")
        if offset[0] not in "+-":
            raise ValueError
        return sign * (int(hours) * 60 + int(minutes))
    except (ValueError, IndexError):
        raise ValueError(f"utc_offsets: {offset!r} is not an offset like '+01:00'") from None


def _iso(start: np.datetime64, seconds: np.ndarray, offset_min: np.ndarray, suffix: np.ndarray) -> np.ndarray:
    """ISO-8601 local times with their offsets, e.g. ``2024-01-03T15:05:22+01:00``."""
    local = start + (np.floor(seconds).astype(np.int64) + offset_min * 60).astype("timedelta64[s]")
    return np.char.add(np.datetime_as_string(local, unit="s").astype(object).astype(str),
                       suffix.astype(str)).astype(object)


def _code(names) -> np.ndarray:
    return np.array([EVENT_TYPES.index(e) for e in names], dtype=np.int64)


def _sessions(rng, count: int) -> list[tuple[list[str], int]]:
    """Background sessions (event names, channel code) holding at least ``count`` events in all."""
    out, total = [], 0
    while total < count:
        channel = int(rng.choice(4, p=(0.45, 0.4, 0.1, 0.05)))
        if CHANNELS[channel] == "atm":
            events = ["login", "withdrawal", "logout"]
        else:
            first = "login_new_device" if rng.random() < 0.02 else "login"
            middle = rng.choice(_MIDDLE, size=1 + rng.poisson(3), p=_MIDDLE_P).tolist()
            events = [first, *middle, "logout"]
        out.append((events, channel))
        total += len(events)
    return out


def _amounts(rng, events: np.ndarray) -> np.ndarray:
    """Money per event: purchases tens, background transfers ~100, withdrawals in steps of 20."""
    amount = np.zeros(len(events))
    for name, draw in (("purchase", lambda k: rng.lognormal(3.4, 0.9, k)),
                       ("transfer", lambda k: rng.lognormal(4.6, 1.0, k)),
                       ("withdrawal", lambda k: 20.0 * rng.integers(1, 20, k))):
        at = events == EVENT_TYPES.index(name)
        amount[at] = draw(int(at.sum()))
    return amount


def _account(rng, config: EventConfig, fraud: bool):
    """One account's events: (seconds since start, event codes, channel codes, amounts, salient)."""
    k = int(rng.integers(config.min_transfers, config.max_transfers + 1))
    block = ["password_reset", "login_new_device", *["transfer"] * k]
    n = int(rng.integers(config.min_events, config.max_events + 1))
    sessions = _sessions(rng, n - len(block))
    span = config.span_days * _DAY
    starts = np.sort(rng.uniform(0.0, span, len(sessions)))
    times, events, channels = [], [], []
    for (names, channel), t0 in zip(sessions, starts, strict=True):
        times.append(t0 + np.cumsum(np.r_[0.0, 5.0 + rng.exponential(config.session_gap_s, len(names) - 1)]))
        events.append(_code(names))
        channels.append(np.full(len(names), channel))
    times, events, channels = np.concatenate(times), np.concatenate(events), np.concatenate(channels)
    times, events, channels = times[: n - len(block)], events[: n - len(block)], channels[: n - len(block)]
    amount = _amounts(rng, events)
    block_channel = np.full(len(block), int(rng.integers(0, 2)))  # web or app
    style = "pattern" if fraud else ("order" if rng.random() < 0.5 else "timing")
    if style == "order":
        order = ORDER_DISTRACTORS[int(rng.integers(0, len(ORDER_DISTRACTORS)))]
        block = sorted(block, key=order.index)
    block_amount = np.where(np.array(block) == "transfer", rng.lognormal(6.2, 0.7, len(block)), 0.0)
    if style == "timing":  # hours to days apart, between other sessions
        offsets = np.cumsum(np.r_[0.0, rng.uniform(0.1, 2.0, len(block) - 1) * _DAY])
        block_start = rng.uniform(0.0, max(span - offsets[-1], 1.0))
    else:  # a burst within minutes
        offsets = np.cumsum(np.r_[0.0, 5.0 + rng.exponential(config.burst_gap_s, len(block) - 1)])
        block_start = rng.uniform(0.0, span - offsets[-1])
    times = np.r_[times, block_start + offsets]
    events = np.r_[events, _code(block)]
    channels = np.r_[channels, block_channel]
    amount = np.r_[amount, block_amount]
    salient = np.r_[np.zeros(n - len(block), bool), np.full(len(block), fraud)]
    order = np.argsort(times, kind="stable")
    return times[order], events[order], channels[order], amount[order], salient[order]
