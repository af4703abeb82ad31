"""Hypothesis: every next-value forecast is exactly its recipe, never NaN, and stays plausible.

Σ_t w_t = 1 and Σ_t w_t·x_t = prediction (to 1e-6 relative) on scales 1e-6..1e6, exact fits, constants,
spikes, duplicates and every length 2..max_len, for the shipped model and the tiny Transformer; and a
forecast never leaves the input's range by more than ``structural.ENVELOPE`` ranges.
"""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqattn.api import load_pretrained
from seqattn.influence import recipe
from seqattn.masks import valid_mask
from seqattn.models import structural
from tests.conftest import tiny_model

SHIPPED = load_pretrained("next-value")
MODELS = {"shipped": SHIPPED, "transformer": tiny_model("transformer", "next-value")}
MAX_LEN = SHIPPED.config.max_len


@st.composite
def sequences(draw, min_len: int = 2, max_len: int = MAX_LEN):
    """One sequence from a named shape, at a random scale and offset."""
    n = draw(st.integers(min_len, max_len))
    t = np.arange(n, dtype=np.float64)
    kind = draw(st.sampled_from(["random", "line", "parabola", "geometric", "sine", "constant", "spike",
                                 "duplicates", "alternating"]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    if kind == "random":
        base = rng.normal(size=n).cumsum() if draw(st.booleans()) else rng.normal(size=n)
    elif kind == "line":
        base = rng.normal() + rng.normal() * t
    elif kind == "parabola":
        base = rng.normal() + rng.normal() * t + rng.normal() * 0.1 * t**2
    elif kind == "geometric":
        base = rng.choice([-1, 1]) * rng.uniform(0.5, 1.5) ** t
    elif kind == "sine":
        base = np.sin(rng.uniform(0.2, 3.1) * t + rng.uniform(0, 6.3))
    elif kind == "constant":
        base = np.zeros(n)
    elif kind == "spike":
        base = np.zeros(n)
        base[draw(st.integers(0, n - 1))] = rng.choice([-1, 1]) * 10.0 ** rng.uniform(-3, 3)
    elif kind == "duplicates":
        base = np.repeat(rng.normal(size=n), 2)[:n]
    else:
        base = (-1.0) ** t
    scale = 10.0 ** draw(st.integers(-6, 6))
    offset = draw(st.sampled_from([0.0, 1.0, -3.0, 100.0])) * scale
    return base * scale + offset


def _check_recipe(model, values: list[np.ndarray], method: str = "rules"):
    values = [v[: model.config.max_len] for v in values]
    t = max(len(v) for v in values)
    x = torch.zeros(len(values), t, dtype=torch.float64)
    for i, v in enumerate(values):
        x[i, : len(v)] = torch.from_numpy(v)
    mask = valid_mask(torch.tensor([len(v) for v in values]), t)
    r = recipe(model, x, mask, method)
    assert torch.isfinite(r.prediction).all() and torch.isfinite(r.weights).all()
    assert torch.all(r.weights[~mask] == 0)
    size = (x.abs() * mask).amax(1).clamp(min=1e-300)
    torch.testing.assert_close(r.weights.sum(1), torch.ones(len(values), dtype=torch.float64), rtol=0, atol=1e-6)
    recomposed = (r.weights * x).sum(1)
    assert torch.all((recomposed - r.prediction).abs() <= 1e-6 * size), (recomposed, r.prediction)
    mean = (x * mask).sum(1) / mask.sum(1)
    assert torch.all((r.contributions.sum(1) - (r.prediction - mean)).abs() <= 1e-6 * size)
    return x, mask, r


@settings(max_examples=150, deadline=None)
@given(key=st.sampled_from(sorted(MODELS)), values=st.lists(sequences(), min_size=1, max_size=4),
       method=st.sampled_from(["rules", "gradient"]))
def test_every_forecast_is_exactly_its_recipe(key, values, method):
    x, mask, r = _check_recipe(MODELS[key], values, method)
    other = recipe(MODELS[key], x, mask, "gradient" if method == "rules" else "rules")
    size = (x.abs() * mask).amax(1).clamp(min=1e-300)  # a recipe never moves the prediction (to rounding)
    assert torch.all((other.prediction - r.prediction).abs() <= 1e-12 * size), (other.prediction, r.prediction)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, MAX_LEN), seed=st.integers(0, 10_000), method=st.sampled_from(["rules", "gradient"]))
def test_identities_hold_at_every_length(n, seed, method):
    rng = np.random.default_rng(seed)
    _check_recipe(SHIPPED, [rng.normal(size=n).cumsum(), np.full(n, rng.normal()), rng.normal(size=n)], method)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(sequences(max_len=8), min_size=1, max_size=4))
def test_short_forecasts_stay_within_a_generous_envelope(values):
    """A short input's forecast is never more than ENVELOPE input ranges beyond its min or max."""
    x, mask, r = _check_recipe(SHIPPED, values)
    big = torch.finfo(torch.float64).max
    high, low = x.masked_fill(~mask, -big).amax(1), x.masked_fill(~mask, big).amin(1)
    slack = structural.ENVELOPE * (high - low) + 1e-9 * x.abs().amax(1)
    assert torch.all(r.prediction <= high + slack) and torch.all(r.prediction >= low - slack)
