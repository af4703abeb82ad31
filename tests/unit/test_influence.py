import contextlib

import pytest
import torch

from seqattn.api import load_pretrained, predict_next
from seqattn.influence import contributions, format_recipe, forward_with_influence, recipe
from seqattn.masks import valid_mask
from seqattn.models import structural
from tests.conftest import tiny_model

# the sequences issue 14 lists: NaN gradients (an exact line, constants), ±3.8e8 gradients whose sign
# disagreed with finite differences (a flat run and a jump), and a recipe whose weights cancelled (sin t)
LISTED = {
    "line": [2.0, 4.0, 6.0, 8.0, 10.0],
    "constant": [3.0, 3.0, 3.0, 3.0, 3.0],
    "zeros": [0.0, 0.0, 0.0],
    "flat then jump": [1.0] * 10 + [6.0],
    "sin t": [0.0, 0.84, 0.91, 0.14, -0.76, -0.96, -0.28],
    "alternating": [1.0, -1.0, 1.0, -1.0],
    "two steps": [1.0, 2.0],
    "two equal": [5.0, 5.0],
}


@pytest.fixture(scope="module")
def shipped():
    return load_pretrained("next-value")


@pytest.mark.parametrize("method", ["rules", "gradient"])
@pytest.mark.parametrize("name", LISTED)
def test_listed_sequences_have_finite_exact_recipes(shipped, name, method):
    x = torch.tensor([LISTED[name]], dtype=torch.float64)
    r = recipe(shipped, x, method=method)
    assert torch.isfinite(r.weights).all() and torch.isfinite(r.prediction).all()
    torch.testing.assert_close(r.weights.sum(1), torch.ones(1, dtype=torch.float64), rtol=0, atol=1e-6)
    torch.testing.assert_close((r.weights * x).sum(1), r.prediction, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["flat then jump", "sin t", "alternating"])
def test_gradient_recipe_agrees_with_finite_differences(name):
    model = load_pretrained("next-value").double()
    x = torch.tensor([LISTED[name]], dtype=torch.float64)
    weights = recipe(model, x, method="gradient").weights[0]
    h = 1e-6 * x.abs().max()
    for t in range(x.shape[1]):
        e = torch.zeros_like(x)
        e[0, t] = h
        with torch.no_grad():
            fd = (model(x + e).prediction - model(x - e).prediction) / (2 * h)
        # 1e-3: an exact AR fit (the alternating input) is smoothed at the 1e-12 scale, so a step of 1e-6
        # sees some curvature; the old model was off by orders of magnitude and in sign
        assert abs(float(fd) - float(weights[t])) <= 1e-3 * (1 + abs(float(fd))), (t, float(fd), float(weights[t]))


@pytest.mark.parametrize("method", ["rules", "gradient"])
def test_a_flat_history_gives_a_readable_recipe(shipped, method):
    """Before the residual ridge on the AR fits these weights reached ±1e8."""
    weights = recipe(shipped, torch.tensor([LISTED["flat then jump"]], dtype=torch.float64), method=method).weights
    assert float(weights.abs().max()) < 10.0


def test_rules_recipe_is_the_gradient_with_the_gate_held(monkeypatch):
    """From outside: force the head's gate and correction to the values computed on the unperturbed input
    (its MLP output and the evidence prior replaced by constants, the AR rules given gate 0 so that their
    refitted coefficients play no part), then finite differences of the model equal the rules recipe."""
    from seqattn.models import structural

    model = load_pretrained("next-value").double()
    x = torch.tensor([LISTED["sin t"]], dtype=torch.float64)
    held = {}
    hook = model.head.mlp.register_forward_hook(lambda m, i, o: held.setdefault("out", o.detach().clone()))
    evidence = structural.evidence
    monkeypatch.setattr(structural, "evidence", lambda f: held.setdefault("evidence", evidence(f).detach()))
    with torch.no_grad():
        model(x)
    hook.remove()
    ar = [structural.CANDIDATES.index(name) for name in ("ar1", "ar2", "ar3")]
    held["out"][:, ar] = -1e4  # gate exactly 0 on the AR rules
    model.head.mlp.register_forward_hook(lambda m, i, o: held["out"])
    weights = recipe(model, x, method="rules").weights[0]
    h = 1e-6
    for t in range(x.shape[1]):
        e = torch.zeros_like(x)
        e[0, t] = h
        with torch.no_grad():
            fd = float((model(x + e).prediction - model(x - e).prediction) / (2 * h))
        assert abs(fd - float(weights[t])) <= 1e-5 * (1 + abs(fd)), (t, fd, float(weights[t]))


def test_rules_recipe_holds_the_ar_lag_coefficient():
    """AR(1) with intercept under the rules recipe: the forecast β·z_T + α keeps its value, and its gradient
    is that of β·(z_T − mean z_{1..T−1}) + mean z_{2..T} with β fixed (α written through the means)."""
    from seqattn.models import structural

    z = torch.tensor([[-2.0, 0.5, -1.0, 1.5, -0.5, 0.0]], dtype=torch.float64)
    mask = torch.ones_like(z, dtype=torch.bool)
    ar1 = structural.CANDIDATES.index("ar1")
    with torch.no_grad():
        plain = structural.candidates(z, mask)[0][0, ar1]
    zg = z.clone().requires_grad_(True)
    with structural.frozen_rules():
        frozen = structural.candidates(zg, mask)[0][0, ar1]
        (grad,) = torch.autograd.grad(frozen, zg)
    torch.testing.assert_close(frozen.detach(), plain, rtol=0, atol=1e-12)
    lags, targets = z[0, :-1], z[0, 1:]
    design = torch.stack([lags, torch.ones_like(lags)], -1)
    fit = torch.linalg.lstsq(design, targets.unsqueeze(-1)).solution.squeeze(-1)
    # the shipped fit is ridged in proportion to its residual, so β is read back from the value itself
    beta = float((plain - targets.mean()) / (z[0, -1] - lags.mean()))
    assert 0 < abs(beta) <= abs(float(fit[0])) + 1e-9
    n = len(lags)
    expected = torch.zeros(z.shape[1], dtype=torch.float64)
    expected[:-1] -= beta / n
    expected[-1] += beta
    expected[1:] += 1.0 / n
    torch.testing.assert_close(grad[0], expected, rtol=0, atol=1e-9)


def test_rules_recipe_weights_are_smaller_than_the_gradient_on_listed_inputs(shipped):
    x = torch.tensor([LISTED["sin t"]], dtype=torch.float64)
    rules = recipe(shipped, x, method="rules").weights.abs().max()
    gradient = recipe(shipped, x, method="gradient").weights.abs().max()
    assert float(rules) < 0.5 * float(gradient)


def test_unknown_recipe_method_is_a_value_error(shipped):
    x = torch.tensor([LISTED["line"]], dtype=torch.float64)
    with pytest.raises(ValueError, match="rules, gradient"):
        recipe(shipped, x, method="shap")
    with pytest.raises(ValueError, match="rules, gradient"):
        shipped(x, influence=True, method="shap")


def test_exact_families_stay_exact(shipped):
    r = recipe(shipped, torch.tensor([LISTED["line"], LISTED["constant"]], dtype=torch.float64))
    torch.testing.assert_close(r.prediction, torch.tensor([12.0, 3.0], dtype=torch.float64), rtol=0, atol=1e-4)


@pytest.mark.parametrize("values", [[1.0, -1.0, 1.0, -1.0], [1.0, -1.0, 1.0, -1.0, 1.0, -1.0]])
def test_alternating_input_continues_its_pattern(shipped, values):
    with torch.no_grad():
        prediction = float(shipped(torch.tensor([values], dtype=torch.float64)).prediction)
    assert abs(prediction - 1.0) < 0.5, prediction


def test_gradient_contributions_equal_integrated_gradients_from_the_mean(shipped):
    from captum.attr import IntegratedGradients

    x = torch.tensor([LISTED["sin t"], [1.0, 3.0, 2.0, 5.0, 4.0, 7.0, 6.5]], dtype=torch.float64)
    mask = torch.ones_like(x, dtype=torch.bool)
    r = recipe(shipped, x, mask, method="gradient")
    mean = x.mean(1, keepdim=True).expand_as(x)
    ig = IntegratedGradients(lambda inputs, m: shipped(inputs, m).prediction).attribute(
        x, baselines=mean, additional_forward_args=(mask,), n_steps=8)
    torch.testing.assert_close(r.contributions, ig.double(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(r.contributions.sum(1), r.prediction - x.mean(1))


def test_influence_is_off_by_default_and_zero_on_padding(shipped):
    x = torch.tensor([[2.0, 4.0, 6.0, 0.0], [1.0, 3.0, 2.0, 5.0]], dtype=torch.float64)
    mask = valid_mask(torch.tensor([3, 4]), 4)
    assert shipped(x, mask).influence is None
    out = shipped(x, mask, influence=True)
    assert out.influence.dtype == torch.float64 and out.influence[0, 3] == 0
    assert not out.prediction.requires_grad
    torch.testing.assert_close(out.prediction, shipped(x, mask).prediction)


def test_generic_path_agrees_with_autograd_for_a_model_without_the_keyword():
    model = tiny_model("transformer", "next-value")
    x = torch.tensor([[1.0, 2.0, 4.0, 3.0, 5.0]], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(model(x).prediction.sum(), x)
    out = forward_with_influence(model, x.detach(), method="gradient")
    torch.testing.assert_close(out.influence, grad)
    rules = forward_with_influence(model, x.detach())  # the transformer's head holds its rules the same way
    assert not torch.allclose(rules.influence, out.influence, atol=1e-3)  # the generic path froze them
    torch.testing.assert_close(rules.prediction, out.prediction)
    torch.testing.assert_close(rules.influence.sum(1), torch.ones(1, dtype=torch.float64))
    torch.testing.assert_close((rules.influence * x.detach()).sum(1), rules.prediction)
    with pytest.raises(ValueError, match="next-value"):
        forward_with_influence(tiny_model("pooling", "classify"), torch.randn(1, 5, 3))


def test_contributions_ignore_padding():
    w = torch.tensor([[0.5, 0.5, 9.0]], dtype=torch.float64)
    x = torch.tensor([[1.0, 3.0, 100.0]], dtype=torch.float64)
    c = contributions(w, x, valid_mask(torch.tensor([2]), 3))
    assert c.tolist() == [[-0.5, 0.5, 0.0]]


def test_predict_next_carries_the_recipe(shipped):
    p = predict_next([2, 4, 6, 8, 10], model=shipped)
    assert len(p.influence) == len(p.contributions) == 5
    assert abs(sum(w * v for w, v in zip(p.influence, [2, 4, 6, 8, 10], strict=True)) - p.prediction) < 1e-9
    assert abs(sum(p.contributions) - (p.prediction - 6.0)) < 1e-9
    assert format_recipe(p.prediction, p.influence, [2, 4, 6, 8, 10]).startswith("12 = ")


def test_the_lstms_own_path_agrees_with_the_generic_one():
    model = load_pretrained("next-value").double()
    x = torch.tensor([LISTED["sin t"], LISTED["flat then jump"][:7]], dtype=torch.float64)
    mask = torch.ones_like(x, dtype=torch.bool)
    for method in ("rules", "gradient"):
        own = model(x, mask, influence=True, method=method).influence
        frozen = structural.frozen_rules() if method == "rules" else contextlib.nullcontext()
        xg = x.clone().requires_grad_(True)
        with frozen:
            (generic,) = torch.autograd.grad(model(xg, mask).prediction.sum(), xg)
        torch.testing.assert_close(own, generic)


def test_padding_does_not_change_the_rules_recipe():
    """The AR means under the rules recipe are taken over the fitted rows only: a padded batch gives each row
    the recipe it gets alone (float64 model, so to 1e-9)."""
    model = load_pretrained("next-value").double()
    rows = [LISTED["sin t"], LISTED["line"], [1.0, 3.0, 2.0, 5.0, 4.0, 7.0, 6.5, 9.0, 8.0, 11.0]]
    t = max(map(len, rows))
    x = torch.zeros(len(rows), t, dtype=torch.float64)
    for i, r in enumerate(rows):
        x[i, : len(r)] = torch.tensor(r, dtype=torch.float64)
    mask = valid_mask(torch.tensor([len(r) for r in rows]), t)
    batched = recipe(model, x, mask).weights
    for i, r in enumerate(rows):
        alone = recipe(model, torch.tensor([r], dtype=torch.float64)).weights[0]
        torch.testing.assert_close(batched[i, : len(r)], alone, rtol=0, atol=1e-9)
        assert torch.all(batched[i, len(r):] == 0)


def test_frozen_rules_ends_with_its_block_even_on_an_error():
    with pytest.raises(RuntimeError), structural.frozen_rules():
        assert structural.rules_frozen()
        raise RuntimeError("inside")
    assert not structural.rules_frozen()


def test_recipe_arrays_batches_windows_and_refuses_classifiers():
    import numpy as np

    from seqattn.api import recipe_arrays
    from seqattn.errors import BadInput

    model = load_pretrained("next-value")
    rng = np.random.default_rng(0)
    lengths = np.array([5, 40, 3, 12])
    values = np.zeros((4, 40))
    for i, n in enumerate(lengths):
        values[i, :n] = rng.normal(size=n).cumsum() + 10
    one = recipe_arrays(model, values, lengths, batch_size=1)
    many = recipe_arrays(model, values, lengths)
    for a, b in zip(one, many, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    prediction, _, weights, contrib = many
    np.testing.assert_allclose((weights * values).sum(1), prediction, rtol=1e-9)
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-9)
    window = model.config.max_len
    assert np.all(weights[1, : 40 - window] == 0) and np.all(weights[2, 3:] == 0)
    np.testing.assert_allclose(contrib[1].sum(), prediction[1] - values[1, 40 - window :].mean(), rtol=1e-9)
    with pytest.raises(ValueError, match="rules, gradient"):
        recipe_arrays(model, values, lengths, method="shap")
    with pytest.raises(BadInput, match="next-value"):
        recipe_arrays(load_pretrained("signal"), rng.normal(size=(2, 10, 4)), np.array([10, 10]))
