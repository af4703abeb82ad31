"""Real, public data sets that ship inside PyPI packages (no download at run time): the ``real`` extra.

Forecasting series come from statsmodels' and sktime's bundled data; the labelled series are two binary
UCR archive problems bundled with sktime (GunPoint, ItalyPowerDemand, with their official train/test
split). Everything is returned in seqattn's long format so the rest of the library takes it unchanged.

Next value on a real series: every position ``i`` of the series gives one sequence, the (up to) ``window``
values before ``i`` → target ``values[i]``. Splits are by the *time of the target*: the last
``test_fraction`` of each series is the test set, the ``val_fraction`` before it validation, the rest
training — nothing from the future of a test target is ever trained on.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data.io import FAMILY, to_long
from .errors import BadInput

INSTALL_HINT = "pip install -c constraints-cpu.txt -e '.[real]'"
REAL_PACKAGES = ("statsmodels", "sktime")


def missing_packages() -> list[str]:
    """The packages of the ``real`` extra that are not installed (empty when all are)."""
    return [p for p in REAL_PACKAGES if importlib.util.find_spec(p) is None]


def require_real() -> None:
    """Raise ImportError naming the extra when its packages are absent."""
    missing = missing_packages()
    if missing:
        raise ImportError(f"real data sets need {', '.join(missing)} (the 'real' extra): {INSTALL_HINT}")


@dataclass(frozen=True)
class RealSeries:
    name: str
    values: np.ndarray  # [n] float64, in time order
    period: int  # seasonal period used by the seasonal-naive baseline (1: none)
    frequency: str
    source: str


def _sm(name: str) -> pd.DataFrame:
    import statsmodels.api as sm

    return getattr(sm.datasets, name).load_pandas().data


def _sk(loader: str) -> np.ndarray:
    import sktime.datasets

    return getattr(sktime.datasets, loader)().to_numpy(float)


def _co2():
    s = _sm("co2")["co2"]
    return s.resample("MS").mean().interpolate().to_numpy(float)


def _elnino():
    d = _sm("elnino")
    return d.drop(columns="YEAR").to_numpy(float).ravel()  # row = year, columns = months


SERIES: dict[str, tuple[Callable[[], np.ndarray], int, str, str]] = {
    "airline": (lambda: _sk("load_airline"), 12, "monthly 1949-1960", "Box & Jenkins airline passengers, sktime.datasets.load_airline"),
    "co2": (_co2, 12, "monthly 1958-2001", "Mauna Loa CO2 (weekly, averaged per month), statsmodels.datasets.co2"),
    "elnino": (_elnino, 12, "monthly 1950-2010", "El Nino sea surface temperature, statsmodels.datasets.elnino"),
    "sunspots": (lambda: _sm("sunspots")["SUNACTIVITY"].to_numpy(float), 11, "yearly 1700-2008",
                 "Wolf sunspot numbers, statsmodels.datasets.sunspots"),
    "lynx": (lambda: _sk("load_lynx"), 10, "yearly 1821-1934", "Canadian lynx trappings, sktime.datasets.load_lynx"),
    "nile": (lambda: _sm("nile")["volume"].to_numpy(float), 1, "yearly 1871-1970",
             "Nile river flow at Aswan, statsmodels.datasets.nile"),
    "unemployment": (lambda: _sm("macrodata")["unemp"].to_numpy(float), 4, "quarterly 1959-2009",
                     "US unemployment rate, statsmodels.datasets.macrodata"),
}


def load_series(names: tuple[str, ...] | None = None) -> list[RealSeries]:
    """The bundled forecasting series (all of :data:`SERIES` by default)."""
    require_real()
    names = tuple(SERIES) if names is None else tuple(names)
    unknown = [n for n in names if n not in SERIES]
    if unknown:
        raise BadInput(f"unknown series {unknown[0]!r}; choose from {', '.join(SERIES)}")
    out = []
    for name in names:
        load, period, freq, source = SERIES[name]
        values = np.asarray(load(), dtype=np.float64)
        if not np.isfinite(values).all():
            raise BadInput(f"series {name!r} has missing values")
        out.append(RealSeries(name, values, period, freq, source))
    return out


@dataclass(frozen=True)
class Windows:
    """One split of windowed series: padded inputs, targets, and where each came from."""

    values: np.ndarray  # [N, window] float64, right-padded
    mask: np.ndarray  # [N, window] bool
    target: np.ndarray  # [N]
    series: np.ndarray  # [N] str: the series name
    position: np.ndarray  # [N] index of the target in its series

    @property
    def lengths(self) -> np.ndarray:
        return self.mask.sum(1)

    def __len__(self) -> int:
        return len(self.target)

    def to_long(self) -> pd.DataFrame:
        """Long format (``sequence_id``, ``t``, ``value``, ``target``, ``family`` = series name)."""
        ids = np.array([f"{s}@{p}" for s, p in zip(self.series, self.position, strict=True)])
        return to_long(self.values, self.mask, target=self.target, ids=ids, extra={FAMILY: self.series})


def split_points(n: int, test_fraction: float, val_fraction: float) -> tuple[int, int]:
    """(first validation target, first test target) positions for a series of length ``n``."""
    if not (0 < test_fraction < 1 and 0 <= val_fraction < 1 and test_fraction + val_fraction < 1):
        raise BadInput(f"bad fractions: test {test_fraction}, validation {val_fraction}")
    test_start = n - max(1, round(n * test_fraction))
    val_start = test_start - round(n * val_fraction)
    return val_start, test_start


def make_windows(series: list[RealSeries], window: int = 32, min_context: int = 8, test_fraction: float = 0.2,
                 val_fraction: float = 0.1) -> dict[str, Windows]:
    """Split every series in time and cut one-step windows: ``{"train", "val", "test"}``."""
    if min_context < 2 or window < min_context:
        raise BadInput(f"need 2 <= min_context <= window, got min_context={min_context}, window={window}")
    parts: dict[str, list] = {"train": [], "val": [], "test": []}
    for s in series:
        n = len(s.values)
        val_start, test_start = split_points(n, test_fraction, val_fraction)
        if val_start <= min_context:
            raise BadInput(f"series {s.name!r} has {n} values: too short for min_context={min_context}")
        for i in range(min_context, n):
            split = "test" if i >= test_start else "val" if i >= val_start else "train"
            parts[split].append((s.values[max(0, i - window) : i], s.values[i], s.name, i))
    out = {}
    for split, rows in parts.items():
        values = np.zeros((len(rows), window))
        mask = np.zeros((len(rows), window), dtype=bool)
        for k, (x, _, _, _) in enumerate(rows):
            values[k, : len(x)], mask[k, : len(x)] = x, True
        out[split] = Windows(values, mask, np.array([r[1] for r in rows]), np.array([r[2] for r in rows]),
                             np.array([r[3] for r in rows]))
    return out


def seasonal_naive(w: Windows, periods: dict[str, int]) -> np.ndarray:
    """The value one season before the target (last value when the period is 1 or the window is short)."""
    lengths = w.lengths
    m = np.array([periods[s] for s in w.series])
    back = np.where(lengths >= m, lengths - m, lengths - 1)
    return w.values[np.arange(len(w)), back]


def statsmodels_one_step(s: RealSeries, test_start: int, model: str = "arima") -> np.ndarray:
    """One-step-ahead forecasts of ``values[test_start:]`` from a model fitted on ``values[:test_start]``
    only (parameters fixed, then filtered through the test part: no refitting on test data).

    ``arima``: ARIMA(2,1,1) with a seasonal AR(1) term at the series' period; ``ets``: damped-trend
    exponential smoothing (statsmodels' state-space form), seasonal when the period allows.
    """
    import warnings

    from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    train, m = s.values[:test_start], s.period
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if model == "arima":
            seasonal = (1, 0, 0, m) if m > 1 else (0, 0, 0, 0)
            fit = SARIMAX(train, order=(2, 1, 1), seasonal_order=seasonal).fit(disp=False)
        elif model == "ets":
            seasonal = m if m > 1 and len(train) >= 3 * m else None
            fit = ExponentialSmoothing(train, trend=True, damped_trend=True, seasonal=seasonal).fit(disp=False)
        else:
            raise BadInput(f"unknown model {model!r}; choose arima or ets")
        full = fit.apply(s.values)
    return np.asarray(full.predict())[test_start:]


def forecast_baselines(series: list[RealSeries], w: Windows, test_fraction: float = 0.2,
                       val_fraction: float = 0.1) -> dict[str, np.ndarray]:
    """Baseline forecasts aligned with the rows of the test windows ``w``: naive (last value), seasonal
    naive, ARIMA and ETS fitted per series on the training+validation part."""
    from .baselines import naive_last_value

    out = {"naive": naive_last_value(w.values, w.lengths), "seasonal_naive": seasonal_naive(w, {s.name: s.period for s in series})}
    for model in ("arima", "ets"):
        pred = np.full(len(w), np.nan)
        for s in series:
            _, test_start = split_points(len(s.values), test_fraction, val_fraction)
            rows = np.flatnonzero(w.series == s.name)
            pred[rows] = statsmodels_one_step(s, test_start, model)[w.position[rows] - test_start]
        out[model] = pred
    return out


def mase_table(predictions: dict[str, np.ndarray], w: Windows) -> pd.DataFrame:
    """MAE / naive MAE per series and method, with the geometric mean over series as the last row."""
    naive = predictions.get("naive")
    if naive is None:
        from .baselines import naive_last_value

        naive = naive_last_value(w.values, w.lengths)
    rows = {}
    for name in dict.fromkeys(w.series):
        sel = w.series == name
        denom = np.abs(naive[sel] - w.target[sel]).mean()
        rows[name] = {method: np.abs(p[sel] - w.target[sel]).mean() / denom for method, p in predictions.items()}
    table = pd.DataFrame(rows).T
    table.loc["geometric mean"] = np.exp(np.log(table).mean())
    return table


# ---- classification -------------------------------------------------------------------------------------

CLASSIFICATION = {
    "GunPoint": "load_gunpoint",
    "ItalyPowerDemand": "load_italy_power_demand",
}

# Published test accuracy of 1-NN with Euclidean distance on the official split: 1 - the error rate in the
# UCR archive's table (Dau et al., "The UCR Time Series Archive", IEEE/CAA J. Autom. Sinica 6(6), 2019;
# https://www.cs.ucr.edu/~eamonn/time_series_data_2018/). ``one_nn_euclidean`` reproduces both exactly.
PUBLISHED_1NN_ED = {"GunPoint": 1 - 0.0867, "ItalyPowerDemand": 1 - 0.0447}


@dataclass(frozen=True)
class Labelled:
    values: np.ndarray  # [N, T] float64
    label: np.ndarray  # [N] int64, 0/1
    classes: tuple[str, str]  # the original class names of labels 0 and 1

    def to_long(self, prefix: str = "") -> pd.DataFrame:
        ids = np.array([f"{prefix}{i}" for i in range(len(self.label))])
        return to_long(self.values, label=self.label, ids=ids)


def load_classification(name: str) -> tuple[Labelled, Labelled]:
    """The official (train, test) split of a bundled binary UCR problem."""
    require_real()
    if name not in CLASSIFICATION:
        raise BadInput(f"unknown data set {name!r}; choose from {', '.join(CLASSIFICATION)}")
    import sktime.datasets

    loader = getattr(sktime.datasets, CLASSIFICATION[name])
    parts = [loader(split=split, return_type="numpy3D") for split in ("train", "test")]
    classes = tuple(sorted(set(parts[0][1]) | set(parts[1][1])))
    if len(classes) != 2:
        raise BadInput(f"{name}: expected 2 classes, found {len(classes)}")
    out = []
    for x, y in parts:
        label = (np.asarray(y) == classes[1]).astype(np.int64)
        out.append(Labelled(np.asarray(x, dtype=np.float64)[:, 0, :], label, (str(classes[0]), str(classes[1]))))
    return out[0], out[1]


def one_nn_euclidean(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray) -> np.ndarray:
    """Label of the nearest training series in Euclidean distance (ties: the first)."""
    d = (test_x**2).sum(1)[:, None] - 2 * test_x @ train_x.T + (train_x**2).sum(1)[None, :]
    return np.asarray(train_y)[d.argmin(1)]


# ---- recipes used by notebook 05 and benchmarks/peers ----------------------------------------------------

def forecast_recipe(fast: bool = False):
    """(model config, batch size, TrainConfig) of :func:`seqattn.recipes.real_forecast_recipe`."""
    from .recipes import get_recipe

    r = get_recipe("real-forecast", fast)
    return dict(r.model_config), r.batch_size, r.train


def classify_recipe(num_features: int, max_len: int, fast: bool = False):
    """(model name, config, TrainConfig) of :func:`seqattn.recipes.real_classify_recipe`, sized for the data."""
    from .recipes import get_recipe

    r = get_recipe("real-classify", fast)
    return r.model, {"num_features": num_features, "max_len": max_len, **r.model_config}, r.train


def stratified_holdout(label: np.ndarray, fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows): ``fraction`` of each class held out, at least one per class."""
    rng = np.random.default_rng(seed)
    val = []
    for k in np.unique(label):
        rows = rng.permutation(np.flatnonzero(label == k))
        val.extend(rows[: max(1, round(len(rows) * fraction))])
    val = np.sort(np.array(val, dtype=np.int64))
    return np.setdiff1d(np.arange(len(label)), val), val
