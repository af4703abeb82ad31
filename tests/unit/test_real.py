import numpy as np
import pytest

from seqattn import real
from seqattn.data.io import read_long

needs_real = pytest.mark.skipif(bool(real.missing_packages()),
                                reason=f"real data sets need the 'real' extra: {real.INSTALL_HINT}")


def toy(n=60, period=6, name="toy", trend=0.5):
    t = np.arange(n, dtype=float)
    return real.RealSeries(name, 10 + trend * t + np.sin(2 * np.pi * t / period), period, "toy", "test")


def test_windows_split_in_time_without_leakage():
    s = [toy(60), toy(45, name="short")]
    w = real.make_windows(s, window=8, min_context=4, test_fraction=0.2, val_fraction=0.1)
    for series in s:
        val_start, test_start = real.split_points(len(series.values), 0.2, 0.1)
        pos = {k: w[k].position[w[k].series == series.name] for k in w}
        assert pos["train"].max() < val_start <= pos["val"].min() and pos["val"].max() < test_start
        assert pos["test"].min() == test_start and pos["test"].max() == len(series.values) - 1
        assert len(pos["train"]) + len(pos["val"]) + len(pos["test"]) == len(series.values) - 4
    te = w["test"]
    for k in range(len(te)):  # each window is exactly the values before its target
        values = next(x.values for x in s if x.name == te.series[k])
        p, n = te.position[k], te.lengths[k]
        assert n == min(8, p) and np.array_equal(te.values[k, :n], values[p - n : p]) and te.target[k] == values[p]


def test_windows_round_trip_through_the_long_format():
    w = real.make_windows([toy()], window=8, min_context=4)["test"]
    d = read_long(w.to_long(), require="target")
    assert np.array_equal(d.values[..., 0], w.values) and np.array_equal(d.target, w.target)
    assert list(d.family) == list(w.series)


def test_seasonal_naive_and_scores():
    s = toy(60, period=6, trend=0.0)
    w = real.make_windows([s], window=12, min_context=4)["test"]
    sn = real.seasonal_naive(w, {"toy": 6})
    assert np.array_equal(sn, s.values[w.position - 6])
    table = real.mase_table({"naive": real.seasonal_naive(w, {"toy": 1}), "seasonal": sn, "perfect": w.target + 1e-9}, w)
    assert table.loc["toy", "naive"] == 1.0 and table.loc["toy", "seasonal"] < 1.0 and table.loc["toy", "perfect"] < 1e-6
    assert np.isclose(table.loc["geometric mean", "seasonal"], table.loc["toy", "seasonal"])


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="fractions"):
        real.split_points(100, 0.7, 0.5)
    with pytest.raises(ValueError, match="too short"):
        real.make_windows([toy(10)], window=8, min_context=8)


@pytest.mark.skipif(bool(real.missing_packages()), reason="needs the 'real' extra")
def test_unknown_names_are_value_errors():
    with pytest.raises(ValueError, match="unknown series 'nope'"):
        real.load_series(("nope",))
    with pytest.raises(ValueError, match="unknown data set 'nope'"):
        real.load_classification("nope")


def test_one_nn_and_stratified_holdout():
    train = np.array([[0.0, 0.0], [10.0, 10.0]])
    assert real.one_nn_euclidean(train, np.array([0, 1]), np.array([[1.0, 0.0], [9.0, 11.0]])).tolist() == [0, 1]
    label = np.array([0] * 10 + [1] * 5)
    fit, val = real.stratified_holdout(label, 0.2, seed=1)
    assert sorted(np.concatenate([fit, val]).tolist()) == list(range(15)) and sorted(label[val].tolist()) == [0, 0, 1]


def test_missing_extra_names_the_install_command(monkeypatch):
    monkeypatch.setattr(real, "missing_packages", lambda: ["sktime"])
    with pytest.raises(ImportError, match=r"sktime.*'real' extra.*\.\[real\]"):
        real.require_real()


@needs_real
def test_bundled_data_and_published_reference():
    series = real.load_series()
    assert {s.name for s in series} == set(real.SERIES) and all(np.isfinite(s.values).all() for s in series)
    assert len(next(s for s in series if s.name == "airline").values) == 144
    for name in real.CLASSIFICATION:
        tr, te = real.load_classification(name)
        assert set(tr.label) == set(te.label) == {0, 1}
        acc = (real.one_nn_euclidean(tr.values, tr.label, te.values) == te.label).mean()
        assert abs(acc - real.PUBLISHED_1NN_ED[name]) < 5e-4  # the archive's split reproduces its table


@needs_real
def test_statsmodels_baselines_use_only_the_past():
    s = real.load_series(("nile",))
    w = real.make_windows(s)["test"]
    preds = real.forecast_baselines(s, w)
    assert set(preds) == {"naive", "seasonal_naive", "arima", "ets"} and all(np.isfinite(p).all() for p in preds.values())
    # changing a test value after position p must not change the forecast for p
    _, test_start = real.split_points(len(s[0].values), 0.2, 0.1)
    changed = real.RealSeries("nile", s[0].values.copy(), 1, "", "")
    changed.values[-1] += 1000.0
    a = real.statsmodels_one_step(s[0], test_start, "arima")
    b = real.statsmodels_one_step(changed, test_start, "arima")
    assert np.allclose(a[:-1], b[:-1]) and a[-1] == b[-1]
