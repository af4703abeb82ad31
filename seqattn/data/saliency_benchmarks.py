"""The field's own saliency benchmarks, re-implemented from their published definitions.

Six generators, each with a ground truth of salient *cells* ``[N, T, D]``:

- ``hmm`` — tint's ``tint/datasets/hmm.py`` (the two-state HMM of FIT / Dynamask, "state" truth);
- ``arma_rare_feature`` and ``arma_rare_time`` — tint's ``tint/datasets/arma.py`` (Dynamask's white box);
- ``freqshapes``, ``seqcomb_uv``, ``seqcomb_mv`` and ``lowvar`` — TimeX's ``txai/synth_data``
  (``freq_shapes.py``, ``seq_comb_better.py``, ``seq_comb_mv.py``, ``lowvardetect.py``).

Each is registered with :func:`register_benchmark` (the house registry pattern of
:mod:`seqattn.data.families`) together with the sizes the peers publish, the number of classes and the
best published scores (``BENCHMARKS[name].published``)::

    >>> from seqattn.data.saliency_benchmarks import BENCHMARKS, generate_benchmark
    >>> d = generate_benchmark("freqshapes", 8, seed=0)
    >>> d.values.shape, d.truth.shape, d.salient.shape, BENCHMARKS["freqshapes"].n_test
    ((8, 50, 1), (8, 50, 1), (8, 50), 1000)

Deliberate differences from the published code, shared by all six (the per-benchmark ones are in each
generator's docstring):

- Randomness comes from one seeded ``numpy.random.Generator`` per call (the peers draw from numpy's global
  state, torch's generator or, through TimeSynth, a new unseeded ``RandomState`` per feature), so the
  draws differ from the peers' files while the distributions are the same.
- Loops over samples are vectorised; a generator returns the rows of one split, and the caller draws
  train/validation/test with different seeds (the peers call the generator once per split too).
- TimeX's classes come in blocks (N/4 of class 0, then class 1, ...); ours are in that order too.
- Every sequence is full length (``mask`` all True): none of these benchmarks has unequal lengths.

Dimension legend: N samples, T time steps, D features.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SaliencyData:
    """One split of a saliency benchmark: inputs, labels and the salient cells."""

    values: np.ndarray  # [N, T, D] float32
    mask: np.ndarray  # [N, T] bool, True = real step (all True here)
    label: np.ndarray  # [N] int64 class; ARMA (no labels): the white box's output, float64
    truth: np.ndarray  # [N, T, D] bool: the cells the label is a function of
    step_label: np.ndarray | None = None  # HMM only: [N, T] int64, tint's per-step labels

    @property
    def salient(self) -> np.ndarray:
        """``[N, T]`` bool: steps with any salient cell (for :func:`seqattn.explain.localisation`)."""
        return self.truth.any(-1)

    @property
    def lengths(self) -> np.ndarray:
        return self.mask.sum(1).astype(np.int64)

    def __len__(self) -> int:
        return len(self.values)

    def subset(self, index) -> SaliencyData:
        """Rows ``index`` (a slice, mask or integer array) as a new SaliencyData."""
        return SaliencyData(*(None if getattr(self, f) is None else getattr(self, f)[index]
                              for f in self.__dataclass_fields__))


GeneratorFn = Callable[[int, np.random.Generator], SaliencyData]


@dataclass(frozen=True)
class SaliencyBenchmark:
    """A registered benchmark: its generator and the published setting it reproduces."""

    name: str
    fn: GeneratorFn  # fn(n, rng) -> SaliencyData
    n_train: int  # the peer's sizes
    n_val: int
    n_test: int
    num_classes: int  # 0: no labels (white-box regression)
    source: str  # the peer's file
    published: dict = field(default_factory=dict)  # {metric: (value, method, convention)}


BENCHMARKS: dict[str, SaliencyBenchmark] = {}


def register_benchmark(name: str, *, n_train: int, n_val: int, n_test: int, num_classes: int, source: str,
                       published: dict | None = None) -> Callable[[GeneratorFn], GeneratorFn]:
    """Decorator that adds ``fn(n, rng) -> SaliencyData`` to :data:`BENCHMARKS` under ``name``."""

    def wrap(fn: GeneratorFn) -> GeneratorFn:
        if name in BENCHMARKS:
            raise ValueError(f"saliency benchmark {name!r} is already registered")
        BENCHMARKS[name] = SaliencyBenchmark(name, fn, n_train, n_val, n_test, num_classes, source,
                                             dict(published or {}))
        return fn

    return wrap


def generate_benchmark(name: str, n: int, seed: int = 0) -> SaliencyData:
    """``n`` samples of benchmark ``name``, reproducible from ``seed``."""
    if name not in BENCHMARKS:
        raise ValueError(f"unknown saliency benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return BENCHMARKS[name].fn(int(n), np.random.default_rng(seed))


def _full_mask(n: int, t: int) -> np.ndarray:
    return np.ones((n, t), dtype=bool)


# ---------------------------------------------------------------------------------------------- tint: HMM

HMM_MEANS = np.array([[0.1, 1.6, 0.5], [-0.1, -0.4, -1.5]])  # per state; tint's ``scale``
HMM_IMPORTANT = (1, 2)  # the feature that drives the label in state 0 / 1 (tint's ``imp_feature``)
HMM_CORRELATED = (0, 0)  # the feature correlated with it (tint's ``corr_feature``)


def _hmm_covariances() -> np.ndarray:
    """tint's ``init_dist``: 0.8·I with a 0.01 covariance between the important and correlated feature."""
    cov = []
    for s in range(2):
        c = np.eye(3) * 0.8
        c[HMM_IMPORTANT[s], HMM_CORRELATED[s]] = c[HMM_CORRELATED[s], HMM_IMPORTANT[s]] = 0.01
        cov.append(c + np.eye(3) * 1e-3)
    return np.array(cov)


@register_benchmark("hmm", n_train=800, n_val=0, n_test=200, num_classes=2, source="tint/datasets/hmm.py",
                    published={"auprc": (0.912, "DeepLift (LIME 0.912, IG 0.909)", "tint"),
                               "aup": (0.932, "LIME", "tint"), "aur": (0.781, "ExtremalMask", "tint")})
def hmm(n: int, rng: np.random.Generator, t: int = 200) -> SaliencyData:
    """tint's two-state HMM [N, 200, 3] with its "state" truth (FIT's setting, used by Dynamask/tint).

    The hidden state starts from Bernoulli(0.5); it stays in state 1 with probability 0.95 − d/500 (d = steps
    already spent there) and leaves state 0 with probability 0.05. Observations are Gaussian around the
    state's mean with covariance 0.8·I (+1e-3·I, and 0.01 between the important and the correlated
    feature); the label at step t is Bernoulli(σ(2·x[t, k])) with k the state's important feature (1 in state
    0, 2 in state 1). Truth: cell (t, k) at every step — the feature the label at t is a function of.

    Labels: tint labels every step (``step_label`` [N, T]) and explains each step's prediction from the
    prefix ending there (``TimeForwardTunnel``). seqattn classifies whole sequences, so ``label`` is the
    label of the last step (as :func:`seqattn.data.generate.generate_hmm`); a benchmark that wants tint's
    setting trains on prefixes ``x[:t+1]`` labelled ``step_label[:, t]`` and scores the last step of each
    prefix's map against ``truth[:, t]`` (``benchmarks/peers/bench_saliency.py`` does).

    Differences: vectorised over samples (same transition rule); tint's ``true_saliency`` indexes the
    feature as ``state + 1``, which equals the important feature for its default parameters, and we use the
    important feature directly.
    """
    states = np.zeros((n, t), dtype=np.int64)
    previous = (rng.random(n) < 0.5).astype(np.int64)
    delta = np.zeros(n)
    for k in range(t):
        p = np.where(previous == 1, 0.95, 0.05)
        p = np.where(p > 0.8, p - delta / 500, p)
        state = (rng.random(n) < p).astype(np.int64)
        delta = np.where(state == previous, delta + 1, 0)
        states[:, k] = previous = state
    chol = np.linalg.cholesky(_hmm_covariances())  # (2, 3, 3)
    z = rng.standard_normal((n, t, 3))
    x = HMM_MEANS[states] + np.einsum("ntij,ntj->nti", chol[states], z)
    important = np.asarray(HMM_IMPORTANT)[states]  # (N, T)
    drive = np.take_along_axis(x, important[..., None], axis=2)[..., 0]
    step_label = (rng.random((n, t)) < 1.0 / (1.0 + np.exp(-2.0 * drive))).astype(np.int64)
    truth = np.zeros((n, t, 3), dtype=bool)
    np.put_along_axis(truth, important[..., None], True, axis=2)
    return SaliencyData(x.astype(np.float32), _full_mask(n, t), step_label[:, -1].copy(), truth, step_label)


# --------------------------------------------------------------------------------------------- tint: ARMA

ARMA_AR = (2.0, 0.5, 0.2, 0.1)  # lag polynomial incl. lag 0, as tint passes it to statsmodels' ArmaProcess
ARMA_MA = (2.0,)


def arma_values(n: int, rng: np.random.Generator, t: int = 50, d: int = 50) -> np.ndarray:
    """tint's ARMA inputs [N, T, D]: every feature an independent ARMA(3, 0) path along time, what
    ``ArmaProcess(ar, ma).generate_sample(nsample=(N, T, D), axis=1)`` computes (``lfilter(ma, ar, e)``)."""
    from scipy.signal import lfilter

    return lfilter(ARMA_MA, ARMA_AR, rng.standard_normal((n, t, d)), axis=1)


def arma_white_box(values, truth):
    """The benchmark's fixed model (tint ``Arma.get_white_box``): per step, the sum over features of the
    squared salient cells. Works on numpy arrays and torch tensors; ``[N, T, D]`` → ``[N, T]``."""
    return ((values * truth) ** 2).sum(-1)


def _arma(n: int, rng: np.random.Generator, rare: str, t: int = 50, d: int = 50, subset: int = 5,
          location_seed: int = 42) -> SaliencyData:
    x = arma_values(n, rng, t, d)
    where = np.random.default_rng(location_seed)  # one location for every sample, as in tint
    truth = np.zeros((n, t, d), dtype=bool)
    if rare == "feature":
        truth[:, t // 4 : 3 * t // 4, where.permutation(d)[:subset]] = True
    else:
        start = int(where.integers(0, t - subset))
        truth[:, start : start + subset, d // 4 : 3 * d // 4] = True
    label = arma_white_box(x, truth).sum(1)
    return SaliencyData(x.astype(np.float32), _full_mask(n, t), label, truth)


_ARMA_NOTE = """

    Differences: the fixed salient location is drawn from ``numpy.random.default_rng(42)`` rather than
    ``torch.Generator().manual_seed(42)``, so it sits elsewhere (same shape, same for every sample); the
    ARMA paths are computed with ``scipy.signal.lfilter`` exactly as statsmodels' ``generate_sample`` does
    (no statsmodels needed); ``label`` holds the white box's output summed over time (tint has no labels).
    tint's published table explains the first 10 samples of its train split."""


@register_benchmark("arma_rare_feature", n_train=1000, n_val=0, n_test=100, num_classes=0,
                    source="tint/datasets/arma.py", published={
                        "aup": (0.992, "ExtremalMask (AUR 0.756)", "tint"),
                        "aur": (0.756, "ExtremalMask (AUP 0.992); IG: AUP 1.000, AUR 0.135", "tint")})
def arma_rare_feature(n: int, rng: np.random.Generator) -> SaliencyData:
    """tint's ARMA, rare-feature truth [N, 50, 50]: 5 fixed features, steps 12..36, for every sample."""
    return _arma(n, rng, "feature")


@register_benchmark("arma_rare_time", n_train=1000, n_val=0, n_test=100, num_classes=0,
                    source="tint/datasets/arma.py", published={
                        "aup": (0.993, "ExtremalMask (AUR 0.820)", "tint"),
                        "aur": (0.820, "ExtremalMask (AUP 0.993); IG: AUP 1.000, AUR 0.125", "tint")})
def arma_rare_time(n: int, rng: np.random.Generator) -> SaliencyData:
    """tint's ARMA, rare-time truth [N, 50, 50]: 5 fixed consecutive steps, features 12..36."""
    return _arma(n, rng, "time")


arma_rare_feature.__doc__ += _ARMA_NOTE
arma_rare_time.__doc__ += _ARMA_NOTE


# --------------------------------------------------------------------------------------------- TimeX

def narma2(n: int, t: int, d: int, rng: np.random.Generator, noise_std: float) -> np.ndarray:
    """TimeSynth's ``NARMA(order=2)`` plus Gaussian noise, ``[N, T, D]``, as TimeX samples each feature.

    TimeSynth computes y[k] = 0.3·y[k−1] + 0.05·y[k−1]·Σ y[k−2:2] + 1.5·u[k−2]·u[k] + 0.1 with
    u ~ U(0, 0.5) and zero initial values; the slice ``y[k−2:2]`` is empty or zero for every k, so the
    non-linear term always vanishes and we drop it (same values). (TimeSynth itself, PyPI ``timesynth``
    0.2.4, does not install beside our stack: building its ``symengine`` dependency fails.)"""
    u = rng.uniform(0, 0.5, (n, d, t + 2))
    y = np.zeros((n, d, t + 2))
    for k in range(2, t + 2):
        y[:, :, k] = 0.3 * y[:, :, k - 1] + 1.5 * u[:, :, k - 2] * u[:, :, k] + 0.1
    return y[:, :, 2:].transpose(0, 2, 1) + rng.normal(0, noise_std, (n, t, d))


def _class_blocks(n: int, num_classes: int = 4) -> np.ndarray:
    """TimeX's class layout: N // C of each class in order, the remainder in the last class."""
    counts = [n // num_classes] * (num_classes - 1)
    counts.append(n - sum(counts))
    return np.repeat(np.arange(num_classes), counts)


@register_benchmark("freqshapes", n_train=5000, n_val=100, n_test=1000, num_classes=4,
                    source="txai/synth_data/freq_shapes.py",
                    published={"auprc": (0.832, "TimeX", "timex")})
def freqshapes(n: int, rng: np.random.Generator, t: int = 50, noise: float = 0.25) -> SaliencyData:
    """TimeX's FreqShapes [N, 50, 1]: spikes of 3 steps, downward (classes 0, 2) or upward (1, 3), every
    10 (classes 0, 1) or 17 (2, 3) steps from a random start; Gaussian noise (std 0.25) everywhere. Truth:
    the spikes' cells. Differences: none beyond the shared ones."""
    label = _class_blocks(n)
    x = np.zeros((n, t, 1))
    truth = np.zeros((n, t, 1), dtype=bool)
    shape = np.array([0, 1, 0, 1])[label]
    freq = np.array([10, 10, 17, 17])[label]
    spike = 0.25 * np.arange(-1, 2) ** 2 - 2  # downward; upward is its negative
    for i in range(n):
        start = rng.integers(0, t - freq[i])
        for c in range(start, t, freq[i]):
            if c - 1 >= 0 and c + 2 <= t:
                x[i, c - 1 : c + 2, 0] = spike if shape[i] == 0 else -spike
                truth[i, c - 1 : c + 2, 0] = True
    x += rng.normal(0, noise, (n, t, 1))
    return SaliencyData(x.astype(np.float32), _full_mask(n, t), label.astype(np.int64), truth)


def _seqcomb(n: int, rng: np.random.Generator, t: int, d: int, seqlen: tuple[int, int], lam: float
             ) -> SaliencyData:
    """TimeX's SeqComb: NARMA(2) background (noise std 0.01); classes 1..3 get two subsequences (on two
    different features when D > 1), each a line with a sine ripple, rising or falling per the class."""
    label = _class_blocks(n)
    x = narma2(n, t, d, rng, 0.01)
    truth = np.zeros((n, t, d), dtype=bool)
    for i in np.flatnonzero(label != 0):
        sensors = rng.choice(d, size=2, replace=False) if d > 1 else [0, 0]
        lo, hi = x[i].min(), x[i].max()
        bounds = (-5 * abs(lo), 5 * abs(hi))
        rev = (bounds[1], bounds[0])
        pair = {1: (rev, rev), 2: (bounds, bounds), 3: (bounds, rev)}[int(label[i])]
        first = None
        for j, sensor in enumerate(sensors):
            length = int(rng.integers(*seqlen))
            if first is None:
                at = int(rng.integers(0, t // 2))
            else:  # the second starts after the first ends (TimeX: ``low = psl + pts``)
                at = int(rng.integers(first[0] + first[1], t - length))
            amp = rng.poisson(lam)
            first = first or (length, at)
            x1, x2 = -(length // 2), length // 2 + length % 2
            slope = (pair[j][1] - pair[j][0]) / (x2 - x1)
            steps = np.arange(x1, x2)
            x[i, at : at + length, sensor] = slope * steps + np.sin(amp * steps)
            truth[i, at : at + length, sensor] = True
    return SaliencyData(x.astype(np.float32), _full_mask(n, t), label.astype(np.int64), truth)


@register_benchmark("seqcomb_uv", n_train=5000, n_val=100, n_test=1000, num_classes=4,
                    source="txai/synth_data/seq_comb_better.py",
                    published={"auprc": (0.712, "TimeX", "timex")})
def seqcomb_uv(n: int, rng: np.random.Generator) -> SaliencyData:
    """TimeX's SeqComb-UV ([N, 200, 1], ``seq_comb_better.py``, "scs_better"): two subsequences of 10–19
    steps, sine ripple amplitude ~ Poisson(10); class 0 has none (no truth). Differences: TimeSynth's
    NARMA with its vanishing non-linear term (see :func:`narma2`); otherwise the shared ones."""
    return _seqcomb(n, rng, 200, 1, (10, 20), 10.0)


@register_benchmark("seqcomb_mv", n_train=5000, n_val=100, n_test=1000, num_classes=4,
                    source="txai/synth_data/seq_comb_mv.py",
                    published={"auprc": (0.688, "TimeX", "timex")})
def seqcomb_mv(n: int, rng: np.random.Generator) -> SaliencyData:
    """TimeX's SeqComb-MV [N, 200, 4]: two subsequences of 15–29 steps on two different features, ripple
    amplitude ~ Poisson(5); class 0 has none. Differences: as :func:`seqcomb_uv`."""
    return _seqcomb(n, rng, 200, 4, (15, 30), 5.0)


@register_benchmark("lowvar", n_train=5000, n_val=100, n_test=1000, num_classes=4,
                    source="txai/synth_data/lowvardetect.py",
                    published={"auprc": (0.869, "IG (TimeX 0.867)", "timex")})
def lowvar(n: int, rng: np.random.Generator, t: int = 200, d: int = 2) -> SaliencyData:
    """TimeX's LowVarDetect [N, 200, 2]: NARMA(2) background with noise std 1; one window of 10–19 steps
    starting in [20, T−40) is replaced by N(±1.5, 0.1) — feature 0 for classes 0, 1, feature 1 for 2, 3;
    mean −1.5 for classes 0, 2 and +1.5 for 1, 3. Truth: the window's cells (every class). TimeX scores
    it on classes 1–3 only (its evaluation drops class 0 for this data set); so does our benchmark.
    Differences: as :func:`seqcomb_uv`."""
    label = _class_blocks(n)
    x = narma2(n, t, d, rng, 1.0)
    truth = np.zeros((n, t, d), dtype=bool)
    for i in range(n):
        feature = 0 if label[i] in (0, 1) else 1
        length = int(rng.integers(10, 20))
        at = int(rng.integers(20, t - 40))
        loc = -1.5 if label[i] in (0, 2) else 1.5
        x[i, at : at + length, feature] = rng.normal(loc, 0.1, length)
        truth[i, at : at + length, feature] = True
    return SaliencyData(x.astype(np.float32), _full_mask(n, t), label.astype(np.int64), truth)
