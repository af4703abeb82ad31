import numpy as np
import pytest

from seqattn.data.saliency_benchmarks import (
    ARMA_AR,
    ARMA_MA,
    BENCHMARKS,
    arma_values,
    arma_white_box,
    generate_benchmark,
    narma2,
    register_benchmark,
)

SHAPES = {"hmm": (200, 3), "arma_rare_feature": (50, 50), "arma_rare_time": (50, 50), "freqshapes": (50, 1),
          "seqcomb_uv": (200, 1), "seqcomb_mv": (200, 4), "lowvar": (200, 2)}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shapes_types_and_seeds(name):
    d = generate_benchmark(name, 12, seed=3)
    t, f = SHAPES[name]
    assert d.values.shape == d.truth.shape == (12, t, f)
    assert d.values.dtype == np.float32 and d.truth.dtype == bool and d.mask.all() and d.mask.shape == (12, t)
    assert d.salient.shape == (12, t) and (d.salient == d.truth.any(-1)).all()
    assert d.label.shape == (12,) and np.isfinite(d.values).all()
    again, other = generate_benchmark(name, 12, seed=3), generate_benchmark(name, 12, seed=4)
    assert np.array_equal(d.values, again.values) and np.array_equal(d.truth, again.truth)
    assert not np.array_equal(d.values, other.values)
    assert len(d.subset(slice(0, 5))) == 5


def test_unknown_name_and_bad_size_and_duplicate_registration():
    with pytest.raises(ValueError, match="freqshapes"):
        generate_benchmark("nope", 4)
    with pytest.raises(ValueError, match="n must be"):
        generate_benchmark("hmm", 0)
    with pytest.raises(ValueError, match="already registered"):
        register_benchmark("hmm", n_train=1, n_val=0, n_test=1, num_classes=2, source="x")(lambda n, rng: None)


def test_hmm_truth_is_the_state_important_feature_and_drives_the_label():
    d = generate_benchmark("hmm", 400, seed=0)
    assert (d.truth.sum(-1) == 1).all()  # one salient cell per step
    assert not d.truth[..., 0].any()  # feature 0 is only ever correlated, never important
    assert np.array_equal(d.label, d.step_label[:, -1])
    drive = d.values[d.truth].reshape(400, 200)  # the important feature's value at each step
    # the label is Bernoulli(sigmoid(2 x)): mean label rises with the driving value
    assert d.step_label[drive > 1].mean() > 0.8 and d.step_label[drive < -1].mean() < 0.2
    state1 = d.truth[..., 2]  # state 1: important feature 2, mean -1.5
    assert abs(d.values[..., 2][state1].mean() + 1.5) < 0.1 and abs(d.values[..., 1][~state1].mean() - 1.6) < 0.1


@pytest.mark.parametrize("name", ["arma_rare_feature", "arma_rare_time"])
def test_arma_white_box_is_a_function_of_the_salient_cells_only(name):
    d = generate_benchmark(name, 6, seed=1)
    assert np.array_equal(d.truth[0], d.truth[5])  # one fixed location for every sample
    assert d.truth.sum() == 6 * 5 * 25
    if name == "arma_rare_time":
        steps = np.flatnonzero(d.salient[0])
        assert len(steps) == 5 and np.all(np.diff(steps) == 1) and d.truth[0, steps[0], 12:37].all()
    else:
        assert d.truth[0].any(0).sum() == 5 and np.flatnonzero(d.salient[0]).tolist() == list(range(12, 37))
    np.testing.assert_allclose(d.label, arma_white_box(d.values.astype(np.float64), d.truth).sum(1), rtol=1e-5)
    moved = np.where(d.truth, d.values, d.values + 10.0)  # change only the non-salient cells
    np.testing.assert_allclose(arma_white_box(moved, d.truth), arma_white_box(d.values, d.truth))
    assert not np.allclose(arma_white_box(d.values + 1.0, d.truth), arma_white_box(d.values, d.truth))


def test_arma_matches_statsmodels_generate_sample():
    arima_process = pytest.importorskip("statsmodels.tsa.arima_process")
    noise = np.random.default_rng(5).standard_normal((3, 50, 4))
    expected = arima_process.ArmaProcess(ar=ARMA_AR, ma=ARMA_MA).generate_sample(
        nsample=(3, 50, 4), axis=1, distrvs=lambda size: noise)
    got = arma_values(3, np.random.default_rng(5), 50, 4)
    np.testing.assert_allclose(got, expected)


def test_narma2_follows_its_recursion():
    x = narma2(2, 30, 3, np.random.default_rng(0), noise_std=0.0)
    assert x.shape == (2, 30, 3)
    # y = 0.3 y[k-1] + 1.5 u u' + 0.1 with u in [0, 0.5): bounded between 0.1 and (0.1 + 0.375) / 0.7
    assert (x >= 0.1 - 1e-12).all() and (x < (0.1 + 0.375) / 0.7).all()


def test_freqshapes_spikes_are_the_truth():
    d = generate_benchmark("freqshapes", 400, seed=2)
    assert np.bincount(d.label).tolist() == [100] * 4
    spikes = d.values[..., 0]
    down, up = np.isin(d.label, (0, 2)), np.isin(d.label, (1, 3))
    assert spikes[down][d.salient[down]].mean() < -1.5 and spikes[up][d.salient[up]].mean() > 1.5
    assert abs(spikes[~d.salient].mean()) < 0.05
    for cls, period in ((0, 10), (3, 17)):  # spike centres are ``period`` steps apart
        for i in np.flatnonzero(d.label == cls):
            steps = np.flatnonzero(d.salient[i])
            assert len(steps) % 3 == 0 and set(np.diff(steps[1::3]).tolist()) <= {period}


@pytest.mark.parametrize("name, features", [("seqcomb_uv", 1), ("seqcomb_mv", 4)])
def test_seqcomb_planted_subsequences(name, features):
    d = generate_benchmark(name, 80, seed=0)
    assert not d.truth[d.label == 0].any()
    for i in np.flatnonzero(d.label != 0):
        used = np.flatnonzero(d.truth[i].any(0))
        assert len(used) == (1 if features == 1 else 2)
        cells = d.truth[i].sum()
        lo, hi = (20, 38) if name == "seqcomb_uv" else (30, 58)
        assert lo <= cells <= hi
        # the planted lines reach far outside the NARMA background (|x| < 0.7)
        assert np.abs(d.values[i][d.truth[i]]).max() > 1.0


def test_lowvar_window_is_low_variance_at_the_class_mean():
    d = generate_benchmark("lowvar", 200, seed=0)
    for i in range(200):
        window = d.values[i][d.truth[i]]
        feature = np.flatnonzero(d.truth[i].any(0))
        assert feature.tolist() == [0 if d.label[i] < 2 else 1]
        assert 10 <= len(window) <= 19 and window.std() < 0.25
        assert abs(window.mean() - (-1.5 if d.label[i] in (0, 2) else 1.5)) < 0.15


def test_registry_records_published_sizes():
    assert (BENCHMARKS["hmm"].n_train, BENCHMARKS["hmm"].n_test) == (800, 200)
    assert (BENCHMARKS["seqcomb_mv"].n_train, BENCHMARKS["seqcomb_mv"].n_test) == (5000, 1000)
    assert BENCHMARKS["arma_rare_time"].num_classes == 0 and BENCHMARKS["lowvar"].num_classes == 4
