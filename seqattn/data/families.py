"""Next-value sequence families and their registry.

A family is a vectorised function ``fn(rng, t) -> clean`` that maps a time grid ``t`` of shape
``[n, T+1]`` to noise-free values of the same shape, drawing its own per-sample parameters (shape
``[n, 1]``) from ``rng``. Register a new one with one decorator::

    >>> from seqattn.data.families import FAMILIES, magnitude, register_family
    >>> @register_family("cubic")
    ... def cubic(rng, t):
    ...     return magnitude(rng, len(t)) * 1e-3 * (t - rng.uniform(0, 20, (len(t), 1))) ** 3
    >>> "cubic" in FAMILIES
    True
    >>> _ = FAMILIES.pop("cubic")  # (keep the doctest from changing the registry)

Noisy families get Gaussian noise on top of the clean curve; its std is ``DataConfig.noise`` times the
sequence's mean absolute clean step times a per-sample factor in [0.1, 3.2], so the noise level is
always relative to how fast the sequence moves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

FamilyFn = Callable[[np.random.Generator, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Family:
    name: str
    fn: FamilyFn
    noisy: bool = False  # add observation noise; the oracle stays the clean curve


FAMILIES: dict[str, Family] = {}


def register_family(name: str, noisy: bool = False) -> Callable[[FamilyFn], FamilyFn]:
    """Decorator that adds ``fn(rng, t) -> clean`` to the registry under ``name``."""

    def wrap(fn: FamilyFn) -> FamilyFn:
        if name in FAMILIES:
            raise ValueError(f"family {name!r} is already registered")
        FAMILIES[name] = Family(name, fn, noisy)
        return fn

    return wrap


def magnitude(rng: np.random.Generator, n: int) -> np.ndarray:
    """Per-sample scale, log-uniform over 0.1 .. ~3000, shape [n, 1]."""
    return 10.0 ** rng.uniform(-1.0, 3.5, (n, 1))


def _u(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    return rng.uniform(low, high, (n, 1))


def _sign(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(np.array([-1.0, 1.0]), (n, 1))


def _line(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    n = len(t)
    s = magnitude(rng, n)
    return s * _u(rng, n, -3, 3) + s * _u(rng, n, -1, 1) * t


@register_family("linear")
def linear(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Arithmetic progression a + b·t (slopes of both signs, magnitudes 0.1 .. thousands)."""
    return _line(rng, t)


@register_family("noisy", noisy=True)
def noisy(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """A noisy line: the clean curve is a + b·t; noise is added by the generator."""
    return _line(rng, t)


@register_family("sinusoidal")
def sinusoidal(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """c + A·sin(ω·t + φ) with ω in [0.2, 2.0] rad/step."""
    n = len(t)
    s = magnitude(rng, n)
    return s * _u(rng, n, -2, 2) + s * np.sin(_u(rng, n, 0.2, 2.0) * t + _u(rng, n, 0, 2 * np.pi))


@register_family("log_decay")
def log_decay(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """c − b·ln(t + t0): fast then ever slower decay (b > 0)."""
    n = len(t)
    s = magnitude(rng, n)
    return s * _u(rng, n, -2, 4) - s * _u(rng, n, 0.2, 2) * np.log(t + _u(rng, n, 0.5, 4))


@register_family("oscillatory")
def oscillatory(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Mixed: a linear trend plus a sinusoid, a + b·t + A·sin(ω·t + φ)."""
    n = len(t)
    s = magnitude(rng, n)
    trend = s * _u(rng, n, -2, 2) + s * _u(rng, n, -0.5, 0.5) * t
    return trend + s * _u(rng, n, 0.2, 1.5) * np.sin(_u(rng, n, 0.3, 2.0) * t + _u(rng, n, 0, 2 * np.pi))


@register_family("exponential")
def exponential(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """c + A·exp(k·t), growth or decay with k in [−0.3, 0.2]."""
    n = len(t)
    s = magnitude(rng, n)
    return s * _u(rng, n, -2, 2) + _sign(rng, n) * s * np.exp(_u(rng, n, -0.3, 0.2) * t)


@register_family("damped_oscillation")
def damped_oscillation(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """c + A·exp(−λ·t)·sin(ω·t + φ)."""
    n = len(t)
    s = magnitude(rng, n)
    envelope = np.exp(-_u(rng, n, 0.02, 0.3) * t)
    return s * _u(rng, n, -2, 2) + s * envelope * np.sin(_u(rng, n, 0.3, 2.0) * t + _u(rng, n, 0, 2 * np.pi))


@register_family("quadratic")
def quadratic(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """a + b·t + c·t² (parabolas opening either way)."""
    n = len(t)
    s = magnitude(rng, n)
    return s * _u(rng, n, -3, 3) + s * _u(rng, n, -2, 2) * t + s * _u(rng, n, -0.15, 0.15) * t**2
