import numpy as np
import pytest

from seqattn.config import DataConfig, SignalConfig
from seqattn.data import (
    FAMILIES,
    distractor_patterns,
    generate_dataset,
    generate_next_value,
    generate_signal,
    register_family,
    signal_pattern,
)
from seqattn.data.families import magnitude


def small(**kw):
    return DataConfig(**{"num_samples": 800, "max_len": 12, "seed": 3, **kw})


def test_shapes_mask_and_padding():
    d = generate_next_value(small())
    assert d.values.shape == d.mask.shape == (800, 12)
    assert d.target.shape == d.oracle.shape == d.lengths.shape == d.family.shape == (800,)
    assert (d.mask.sum(1) == d.lengths).all()
    assert (d.lengths >= 3).all() and (d.lengths <= 12).all()
    assert (d.values[~d.mask] == 0).all()
    # right-padded: no valid step after a padded one
    assert (np.diff(d.mask.astype(int), axis=1) <= 0).all()


def test_families_balanced_and_all_present():
    d = generate_next_value(small())
    counts = {f: int((d.family == f).sum()) for f in FAMILIES}
    assert set(counts) == set(FAMILIES) and min(counts.values()) >= 800 // len(FAMILIES)


def test_seed_reproduces_and_differs():
    a, b, c = generate_next_value(small()), generate_next_value(small()), generate_next_value(small(seed=4))
    assert np.array_equal(a.values, b.values) and np.array_equal(a.family, b.family)
    assert not np.array_equal(a.values, c.values)


@pytest.mark.parametrize("family", ["linear", "quadratic", "exponential"])
def test_oracle_is_the_noise_free_continuation(family):
    d = generate_next_value(small(families=(family,)))
    assert np.array_equal(d.target, d.oracle)  # smooth family: the target is the oracle
    x = d.values
    rows = np.arange(len(d))
    last, prev = x[rows, d.lengths - 1], x[rows, d.lengths - 2]
    if family == "linear":
        np.testing.assert_allclose(d.oracle, 2 * last - prev, rtol=1e-9, atol=1e-6)
    if family == "quadratic":
        third = x[rows, d.lengths - 3]
        np.testing.assert_allclose(d.oracle, 3 * last - 3 * prev + third, rtol=1e-8, atol=1e-5)
    if family == "exponential":
        # x_t - c is geometric: (x_{t+1} - x_t) / (x_t - x_{t-1}) is constant
        third = x[rows, d.lengths - 3]
        ratio = (last - prev) / (prev - third)
        np.testing.assert_allclose(d.oracle - last, ratio * (last - prev), rtol=1e-6, atol=1e-6)


def test_noisy_family_has_noise_around_the_oracle():
    d = generate_next_value(small(families=("noisy",)))
    assert not np.allclose(d.target, d.oracle)
    rows = np.arange(len(d))
    step = np.abs(d.values[rows, d.lengths - 1] - d.values[rows, 0]) / (d.lengths - 1)
    # the noise is relative to the sequence's speed: well below the step on average
    assert np.median(np.abs(d.target - d.oracle) / step) < 0.5
    assert np.array_equal(generate_next_value(small(families=("noisy",), noise=0.0)).values.shape, (800, 12))
    clean = generate_next_value(small(families=("noisy",), noise=0.0))
    assert np.array_equal(clean.target, clean.oracle)


def test_ranges_cover_negative_slopes_large_magnitudes_short_sequences():
    d = generate_next_value(DataConfig(num_samples=4000, min_len=3, max_len=32, families=("linear",)))
    slope = d.values[:, 1] - d.values[:, 0]
    assert (slope < 0).any() and (slope > 0).any()
    assert np.abs(d.values).max() > 1000
    assert d.lengths.min() == 3


def test_bad_config_is_a_value_error():
    with pytest.raises(ValueError, match="unknown family 'nope'"):
        generate_next_value(small(families=("nope",)))
    with pytest.raises(ValueError, match="min_len"):
        generate_next_value(small(min_len=20))


def test_register_family_adds_and_rejects_duplicates():
    @register_family("test_cubic")
    def cubic(rng, t):
        return magnitude(rng, len(t)) * 1e-3 * t**3

    try:
        d = generate_next_value(small(families=("test_cubic",)))
        assert set(d.family) == {"test_cubic"}
        with pytest.raises(ValueError, match="already registered"):
            register_family("test_cubic")(cubic)
    finally:
        FAMILIES.pop("test_cubic")


def test_generate_dataset_original_api():
    data, labels, masks = generate_dataset(num_samples=50, max_len=10, seed=1)
    assert tuple(data.shape) == (50, 10) and tuple(labels.shape) == (50,) and tuple(masks.shape) == (50, 10)
    d = generate_next_value(DataConfig(num_samples=50, max_len=10, seed=1))
    np.testing.assert_allclose(labels.numpy(), d.target.astype(np.float32))


def test_signal_shapes_truth_and_padding():
    cfg = SignalConfig(num_samples=500, max_len=40, min_len=20, num_features=3, seed=2)
    d = generate_signal(cfg)
    assert d.values.shape == (500, 40, 3) and d.salient.shape == d.mask.shape == (500, 40)
    assert (d.values[~d.mask] == 0).all()
    pos = d.label == 1
    assert (d.salient[pos].sum(1) == cfg.event_len).all() and not d.salient[~pos].any()
    assert not (d.salient & ~d.mask).any()  # events lie inside the valid steps
    assert d.distractor[pos].any() and d.distractor[~pos].any()
    # the planted pattern is really there: correlation at the event start is high
    p = signal_pattern(cfg.event_len, 3, cfg.amplitude)
    i = np.flatnonzero(pos)[0]
    s = d.event_start[i]
    window = d.values[i, s : s + cfg.event_len]
    assert (window * p).sum() > 0


def test_signal_distractors_have_pattern_energy_other_shape():
    p = signal_pattern(6, 4)
    ds = distractor_patterns(6, 4)
    for q in ds:
        np.testing.assert_allclose((q**2).sum(), (p**2).sum())
        assert (q * p).sum() <= 1e-9


def test_signal_reproducible_and_bad_config():
    a = generate_signal(SignalConfig(num_samples=30, seed=5))
    b = generate_signal(SignalConfig(num_samples=30, seed=5))
    assert np.array_equal(a.values, b.values)
    with pytest.raises(ValueError, match="event_len"):
        generate_signal(SignalConfig(event_len=10, min_len=5, max_len=8))


def test_signal_event_on_some_features_has_cell_truth():
    """event_features=k plants the pattern on k random features per sample and marks exactly those cells;
    0 (the default) plants it on every feature and leaves every earlier sample as it was."""
    cfg = SignalConfig(num_samples=400, max_len=40, min_len=20, num_features=4, seed=2, noise=0.0,
                       distractor_prob=0.0)
    every = generate_signal(cfg)
    assert every.salient_cells.shape == (400, 40, 4)
    np.testing.assert_array_equal(every.salient_cells, np.repeat(every.salient[:, :, None], 4, 2))
    one = generate_signal(SignalConfig(**{**cfg.__dict__, "event_features": 1}))
    pos = one.label == 1
    np.testing.assert_array_equal(one.salient_cells.any(2), one.salient)
    assert (one.salient_cells[pos].sum(2)[one.salient[pos]] == 1).all()  # one feature per event step
    assert len(set(one.salient_cells[pos].any(1).argmax(1))) == 4  # which feature varies by sample
    assert ((one.values != 0) == one.salient_cells).all()  # noise-free: the pattern lies exactly there
    sub = one.subset(np.flatnonzero(pos)[:5])
    assert sub.salient_cells.shape == (5, 40, 4)
    with pytest.raises(ValueError, match="event_features"):
        generate_signal(SignalConfig(num_features=2, event_features=3))
    with_default = generate_signal(SignalConfig(num_samples=30, seed=5))
    np.testing.assert_array_equal(with_default.values, generate_signal(SignalConfig(num_samples=30, seed=5,
                                                                                    event_features=0)).values)
