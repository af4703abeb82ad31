"""Seeded, vectorised generators for both tasks.

Dimension legend: N samples, T time steps (padded), D features, E event length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import BoxConfig, DataConfig, HMMConfig, SignalConfig
from ..errors import BadInput
from ..masks import valid_mask
from .families import FAMILIES


@dataclass(frozen=True)
class NextValueData:
    """Next-value samples, right-padded to ``max_len`` with zeros."""

    values: np.ndarray  # [N, T] float64, 0 on padding
    mask: np.ndarray  # [N, T] bool, True = real step
    lengths: np.ndarray  # [N] int64
    target: np.ndarray  # [N] observed next value (noisy for noisy families)
    oracle: np.ndarray  # [N] noise-free next value: the Bayes floor for evaluation
    family: np.ndarray  # [N] family name (str)

    def __len__(self) -> int:
        return len(self.target)

    def subset(self, index) -> NextValueData:
        """Rows ``index`` (a slice, mask or integer array) as a new NextValueData."""
        return NextValueData(*(getattr(self, f)[index] for f in self.__dataclass_fields__))


@dataclass(frozen=True)
class SignalData:
    """Signal-event samples with their ground-truth salient steps."""

    values: np.ndarray  # [N, T, D] float32, 0 on padding
    mask: np.ndarray  # [N, T] bool
    lengths: np.ndarray  # [N] int64
    label: np.ndarray  # [N] int64 in {0, 1}
    salient: np.ndarray  # [N, T] bool: the planted event's steps (all False for class 0)
    event_start: np.ndarray  # [N] int64 first step of the planted event, -1 for class 0
    distractor: np.ndarray  # [N] bool: a distractor of another shape was planted (either class)
    salient_cells: np.ndarray | None = None  # [N, T, D] bool: the cells that carry the truth, where known

    def __len__(self) -> int:
        return len(self.label)

    def subset(self, index) -> SignalData:
        return SignalData(*(None if getattr(self, f) is None else getattr(self, f)[index]
                            for f in self.__dataclass_fields__))


def _lengths(rng: np.random.Generator, n: int, min_len: int, max_len: int) -> np.ndarray:
    if not 1 <= min_len <= max_len:
        raise BadInput(f"need 1 <= min_len <= max_len, got min_len={min_len}, max_len={max_len}")
    return rng.integers(min_len, max_len + 1, n)


def generate_next_value(cfg: DataConfig = DataConfig()) -> NextValueData:
    """Generate ``cfg.num_samples`` sequences, families balanced and shuffled.

    >>> d = generate_next_value(DataConfig(num_samples=8, max_len=6, seed=1))
    >>> d.values.shape, d.mask.shape, d.target.shape
    ((8, 6), (8, 6), (8,))
    """
    names = cfg.families or tuple(FAMILIES)
    unknown = [f for f in names if f not in FAMILIES]
    if unknown:
        raise BadInput(f"unknown family {unknown[0]!r}; registered: {', '.join(FAMILIES)}")
    if cfg.num_samples < 0:
        raise BadInput(f"num_samples must be >= 0, got {cfg.num_samples}")
    rng = np.random.default_rng(cfg.seed)
    n, t_max = cfg.num_samples, cfg.max_len
    lengths = _lengths(rng, n, cfg.min_len, cfg.max_len)
    family_index = rng.permutation(np.arange(n) % len(names))
    clean = np.empty((n, t_max + 1))
    observed = np.empty((n, t_max + 1))
    grid = np.arange(t_max + 1, dtype=np.float64)
    for k, name in enumerate(names):
        rows = np.flatnonzero(family_index == k)
        fam = FAMILIES[name]
        curve = fam.fn(rng, np.broadcast_to(grid, (len(rows), t_max + 1)))
        clean[rows] = curve
        if fam.noisy:
            step = np.abs(np.diff(curve, axis=1)).mean(1, keepdims=True)
            sigma = cfg.noise * step * 10.0 ** rng.uniform(-1.0, 0.5, (len(rows), 1))
            curve = curve + sigma * rng.standard_normal(curve.shape)
        observed[rows] = curve
    mask = valid_mask(lengths, t_max)
    rows = np.arange(n)
    return NextValueData(
        values=np.where(mask, observed[:, :t_max], 0.0),
        mask=mask,
        lengths=lengths.astype(np.int64),
        target=observed[rows, lengths],
        oracle=clean[rows, lengths],
        family=np.asarray(names, dtype=object)[family_index].astype(str),
    )


def signal_pattern(event_len: int, num_features: int, amplitude: float = 1.0) -> np.ndarray:
    """The planted pattern [E, D]: a half-sine bump in time, with fixed signed weights over features."""
    bump = np.sin(np.pi * (np.arange(event_len) + 0.5) / event_len)
    weights = np.array([(-1.0) ** d * (1.0 - 0.5 * d / max(num_features, 1)) for d in range(num_features)])
    return amplitude * bump[:, None] * weights[None, :]


def distractor_patterns(event_len: int, num_features: int, amplitude: float = 1.0) -> np.ndarray:
    """Two distractors [2, E, D] with the pattern's energy but another shape: sign-flipped, and
    sign-alternating in time."""
    p = signal_pattern(event_len, num_features, amplitude)
    alternating = p * ((-1.0) ** np.arange(event_len))[:, None]
    return np.stack([-p, alternating])


def _add_distractors(rng, x: np.ndarray, cfg: SignalConfig, lengths, label, start) -> np.ndarray:
    """Add distractors to ``x`` in place; returns which rows carry one.

    Distractors go in both classes (so their presence says nothing about the label), never overlapping
    the event: redraw a position up to 32 times, then drop the few that still overlap."""
    n, e = len(lengths), cfg.event_len
    distractor = rng.random(n) < cfg.distractor_prob
    d_start = np.full(n, -1, dtype=np.int64)
    todo = np.flatnonzero(distractor)
    for _ in range(32):
        if not len(todo):
            break
        cand = (rng.random(len(todo)) * (lengths[todo] - e + 1)).astype(np.int64)
        ok = (label[todo] == 0) | (np.abs(cand - start[todo]) >= e)
        d_start[todo[ok]] = cand[ok]
        todo = todo[~ok]
    distractor &= d_start >= 0
    rows = np.flatnonzero(distractor)
    shapes = distractor_patterns(e, cfg.num_features, cfg.amplitude)[rng.integers(0, 2, len(rows))]
    x[rows[:, None], d_start[rows, None] + np.arange(e)[None, :]] += shapes
    return distractor


def generate_signal(cfg: SignalConfig = SignalConfig()) -> SignalData:
    """Generate noisy [N, T, D] sequences; class 1 carries the planted pattern; either class may carry
    a distractor of another shape (never overlapping the event). Every sample records its ground-truth
    salient steps.

    >>> d = generate_signal(SignalConfig(num_samples=4, max_len=16, min_len=8, seed=0))
    >>> d.values.shape, d.salient.shape
    ((4, 16, 4), (4, 16))
    """
    if cfg.event_len > cfg.min_len:
        raise BadInput(f"event_len={cfg.event_len} must be <= min_len={cfg.min_len}")
    if cfg.num_features < 1:
        raise BadInput(f"num_features must be >= 1, got {cfg.num_features}")
    if not 0 <= cfg.event_features <= cfg.num_features:
        raise BadInput(f"event_features={cfg.event_features} must be in 0..num_features={cfg.num_features}")
    rng = np.random.default_rng(cfg.seed)
    n, t_max, e = cfg.num_samples, cfg.max_len, cfg.event_len
    lengths = _lengths(rng, n, cfg.min_len, cfg.max_len)
    mask = valid_mask(lengths, t_max)
    x = cfg.noise * rng.standard_normal((n, t_max, cfg.num_features))
    label = (rng.random(n) < cfg.positive_fraction).astype(np.int64)
    start = (rng.random(n) * (lengths - e + 1)).astype(np.int64)  # uniform in [0, L - E]
    steps = start[:, None] + np.arange(e)[None, :]  # [N, E]
    pos = np.flatnonzero(label == 1)
    pattern = signal_pattern(e, cfg.num_features, cfg.amplitude)  # [E, D]
    carries = np.ones((n, cfg.num_features), dtype=bool)  # the features each sample's event is planted on
    if cfg.event_features:  # a random subset per sample (drawn only then: 0 keeps every old sample as it was)
        keys = rng.random((n, cfg.num_features))
        carries = np.argsort(np.argsort(keys, 1), 1) < cfg.event_features
    x[pos[:, None], steps[pos]] += pattern[None] * carries[pos][:, None, :]
    distractor = _add_distractors(rng, x, cfg, lengths, label, start)
    salient = np.zeros((n, t_max), dtype=bool)
    salient[pos[:, None], steps[pos]] = True
    x = np.where(mask[:, :, None], x, 0.0).astype(np.float32)
    return SignalData(
        values=x,
        mask=mask,
        lengths=lengths.astype(np.int64),
        label=label,
        salient=salient,
        event_start=np.where(label == 1, start, -1),
        distractor=distractor,
        salient_cells=salient[:, :, None] & carries[:, None, :],
    )


def generate_dataset(num_samples: int = 100_000, min_len: int = 3, max_len: int = 32, seed: int = 0):
    """The original Numerical Series Predictor API: ``(data [N, T], labels [N], masks [N, T])`` tensors.

    ``labels`` are the observed next values. For family names, lengths and the oracle use
    :func:`generate_next_value`.

    >>> data, labels, masks = generate_dataset(num_samples=10, max_len=8)
    >>> tuple(data.shape), tuple(labels.shape), masks.dtype
    ((10, 8), (10,), torch.bool)
    """
    import torch

    d = generate_next_value(DataConfig(num_samples=num_samples, min_len=min_len, max_len=max_len, seed=seed))
    return (
        torch.from_numpy(d.values).float(),
        torch.from_numpy(d.target).float(),
        torch.from_numpy(d.mask),
    )


def generate_box(cfg: BoxConfig = BoxConfig()) -> SignalData:
    """Planted-box data [N, T, D] (all sequences full length): a box of ``box_len`` steps ×
    ``box_features`` features is shifted by +amplitude (class 1) or −amplitude (class 0) on a Gaussian or
    AR(1) background; ``salient`` marks the box's steps for both classes."""
    if cfg.background not in ("gaussian", "ar"):
        raise BadInput(f"background must be 'gaussian' or 'ar', got {cfg.background!r}")
    if cfg.box_len > cfg.max_len or cfg.box_features > cfg.num_features:
        raise BadInput("the box must fit inside [max_len, num_features]")
    rng = np.random.default_rng(cfg.seed)
    n, t, d = cfg.num_samples, cfg.max_len, cfg.num_features
    x = rng.standard_normal((n, t, d))
    if cfg.background == "ar":
        phi = 0.8
        for k in range(1, t):  # unit-variance AR(1): x_t = phi x_{t-1} + sqrt(1 - phi^2) e_t
            x[:, k] = phi * x[:, k - 1] + np.sqrt(1 - phi**2) * x[:, k]
    label = rng.integers(0, 2, n)
    if cfg.moving:
        start = rng.integers(0, t - cfg.box_len + 1, n)
        feat = rng.integers(0, d - cfg.box_features + 1, n)
    else:
        start = np.full(n, (t - cfg.box_len) // 2)
        feat = np.zeros(n, dtype=np.int64)
    steps = start[:, None] + np.arange(cfg.box_len)
    feats = feat[:, None] + np.arange(cfg.box_features)
    rows = np.arange(n)[:, None, None]
    x[rows, steps[:, :, None], feats[:, None, :]] += np.where(label == 1, 1.0, -1.0)[:, None, None] * cfg.amplitude
    salient = np.zeros((n, t), dtype=bool)
    salient[np.arange(n)[:, None], steps] = True
    cells = np.zeros((n, t, d), dtype=bool)
    cells[rows, steps[:, :, None], feats[:, None, :]] = True
    return SignalData(x.astype(np.float32), np.ones((n, t), dtype=bool), np.full(n, t, dtype=np.int64),
                      label.astype(np.int64), salient, start.astype(np.int64), np.zeros(n, dtype=bool), cells)


def generate_hmm(cfg: HMMConfig = HMMConfig()) -> SignalData:
    """Two-state hidden-Markov sequences [N, T, D]: observations are Gaussian around a state-dependent
    mean; the label is the state at the last step; ``salient`` marks the steps where the state switches
    (``event_start`` holds the last switch, −1 if none)."""
    rng = np.random.default_rng(cfg.seed)
    n, t, d = cfg.num_samples, cfg.max_len, cfg.num_features
    switches = rng.random((n, t)) < cfg.switch_prob
    switches[:, 0] = False
    state = (rng.integers(0, 2, n)[:, None] + np.cumsum(switches, axis=1)) % 2
    means = np.where(state[:, :, None] == 1, 0.5, -0.5) * cfg.separation * np.ones(d)
    x = means + rng.standard_normal((n, t, d))
    last_switch = np.where(switches.any(1), t - 1 - np.argmax(switches[:, ::-1], axis=1), -1)
    return SignalData(x.astype(np.float32), np.ones((n, t), dtype=bool), np.full(n, t, dtype=np.int64),
                      state[:, -1].astype(np.int64), switches, last_switch.astype(np.int64),
                      np.zeros(n, dtype=bool))
