"""seqattn.models.kernels: the random-kernel classifier, its closed-form fit and its class activation map."""

import numpy as np
import pytest
import torch

from seqattn.checkpoint import load_model
from seqattn.data.io import read_long, to_long
from seqattn.explain import MAPS, influence_map
from seqattn.fit import fit
from seqattn.metrics import predict_proba_arrays
from seqattn.models import build_model
from seqattn.models.kernels import (
    INDICES,
    KernelClassifier,
    KernelConfig,
    dilation_plan,
    fit_kernels,
    ridge_loo,
)
from seqattn.recipes import KERNELS_BELOW, DataShape, recipe_for_data


def _shapes(n: int, seed: int, length: int = 60):
    """Univariate, three classes: a bump, a dip or a step, at a random place in noise (class from shape)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(size=(n, length)) * 0.3
    where = rng.integers(5, length - 15, n)
    for i, (k, s) in enumerate(zip(y, where, strict=True)):
        x[i, s : s + 8] += (3.0, -3.0, 0.0)[k]
        if k == 2:
            x[i, s:] += 1.5
    return x, y, where


def test_dilations_follow_minirocket_and_features_add_up():
    dilations, per = dilation_plan(150, 9_996, 32)
    assert dilations[0] == 1 and dilations[-1] <= (150 - 1) / 8 and sum(per) == 9_996 // len(INDICES)
    model = KernelClassifier(KernelConfig(max_len=150))
    assert model.num_pooled == 9_996 and len(INDICES) == 84


def test_fit_separates_shapes_and_the_map_points_at_the_event():
    x, y, where = _shapes(90, 0)
    model = KernelClassifier(KernelConfig(num_classes=3, max_len=60, features=840))
    info = fit_kernels(model, x, np.ones(x.shape, bool), y)
    xt, yt, wt = _shapes(150, 1)
    with torch.no_grad():
        out = model(torch.as_tensor(xt, dtype=torch.float32))
    accuracy = float((out.prediction.argmax(1).numpy() == yt).mean())
    assert accuracy > 0.9 and info["loo_accuracy"] > 0.8, (accuracy, info)
    # the class activation share is highest within reach of the event (a step reads ±4·dilation around it)
    top = out.attention.argmax(1).numpy()
    near = np.abs(top - (wt + 4)) <= 12
    assert near[yt != 2].mean() > 0.7, near.mean()


def test_logits_are_exactly_the_sum_of_the_class_evidence_over_steps():
    x, y, _ = _shapes(30, 2)
    model = KernelClassifier(KernelConfig(num_classes=3, max_len=60, features=168))
    fit_kernels(model, x, np.ones(x.shape, bool), y)
    xt = torch.as_tensor(x[:5], dtype=torch.float32)
    mask = torch.ones(5, 60, dtype=torch.bool)
    mask[1, 40:] = False
    with torch.no_grad():
        out = model(xt, mask)
        pooled = model.pooled(xt, mask)
        evidence = model._evidence(xt, mask)
    torch.testing.assert_close(out.prediction, model.readout(pooled), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(evidence.sum(-1), (pooled - model.center) @ model.readout.weight.T, rtol=1e-4,
                               atol=1e-4)
    assert torch.all(evidence[1, :, 40:] == 0) and torch.all(out.attention[1, 40:] == 0)


@pytest.mark.parametrize(("window", "stride"), [(3, 1), (1, 1), (2, 2), (5, 1), (5, 4), (8, 3), (50, 1)])
def test_local_occlusion_is_captums_occlusion_cell_for_cell(window, stride):
    """The kernels' occlusion recomputes only the steps a window reaches: the same map as Captum's Occlusion
    (the same windows, cut at T; each step the mean over the windows covering it), for the task's score and
    for a target class, with padding, a one-step sequence and a step equal to the baseline."""
    from captum.attr import Occlusion

    from seqattn.explain import _check_target, _local_occlusion, _score_fn
    from seqattn.masks import valid_mask

    rng = np.random.default_rng(3)
    model = KernelClassifier(KernelConfig(num_features=2, num_classes=3, max_len=50, features=420,
                                          input_mean=(0.5, -1.0), input_std=(2.0, 0.5)))
    y = np.arange(36) % 3
    values = rng.normal(size=(36, 50, 2))
    values[y == 1, 20:26, 0] += 3.0
    fit_kernels(model, values, np.ones((36, 50), bool), y)
    mask = valid_mask(torch.tensor([50, 47, 20, 6, 1]), 50)
    x = torch.randn(5, 50, 2, generator=torch.Generator().manual_seed(0)) * mask[..., None]
    x[0, 10] = 0.0
    for target in (None, 2):
        chosen = _check_target(model, x, target)
        with torch.no_grad():
            reference = Occlusion(_score_fn(model, chosen)).attribute(
                x, sliding_window_shapes=(window, 2), strides=(stride, 1), baselines=torch.zeros_like(x),
                target=chosen, additional_forward_args=(mask,), perturbations_per_eval=8)[..., 0]
        ours = _local_occlusion(model, x, mask, window, stride, target)
        scale = float(reference.abs().max())
        assert scale > 0
        torch.testing.assert_close(ours, reference.double(), rtol=0, atol=2e-5 * scale)
        assert torch.all(ours[4, window:] == 0)  # a window over padding alone changes nothing, exactly


def test_occluded_logits_that_disagree_with_forward_are_not_used():
    """A model whose ``occlusion_logits`` are another model's (a wrapper that changes the output but forwards
    the attribute) gets Captum's occlusion of what its ``forward`` returns."""
    rng = np.random.default_rng(4)
    values, y = rng.normal(size=(20, 30, 1)), np.arange(20) % 2
    values[y == 1, 10:14] += 3.0
    model, other = (KernelClassifier(KernelConfig(max_len=30, features=168)) for _ in range(2))
    fit_kernels(model, values, np.ones((20, 30), bool), y)
    fit_kernels(other, values, np.ones((20, 30), bool), 1 - y)
    x = torch.as_tensor(values[:4], dtype=torch.float32)
    reference = influence_map(model, x, method="occlusion")
    model.occlusion_logits = other.occlusion_logits
    torch.testing.assert_close(influence_map(model, x, method="occlusion"), reference, rtol=0, atol=1e-5)


def test_occlusion_of_sequences_shorter_than_the_window_occludes_them_whole():
    model = KernelClassifier(KernelConfig(max_len=20, features=168))
    torch.nn.init.normal_(model.readout.weight, generator=torch.Generator().manual_seed(0))
    for t in (1, 2):
        x = torch.randn(2, t, 1)
        m = influence_map(model, x, method="occlusion", empty="zeros")
        assert m.shape == (2, t) and torch.isfinite(m).all()
        captum = MAPS["occlusion"](model, x, torch.ones(2, t, dtype=torch.bool), local=False)  # any model's path
        torch.testing.assert_close(MAPS["occlusion"](model, x, torch.ones(2, t, dtype=torch.bool)),
                                   captum.double(), rtol=0, atol=1e-6)


def test_ridge_leave_one_out_matches_scikit_learn():
    from sklearn.linear_model import RidgeClassifierCV

    rng = np.random.default_rng(0)
    z = rng.normal(size=(40, 100))
    y = (z[:, 0] + 0.5 * rng.normal(size=40) > 0).astype(int)
    alphas = np.logspace(-3, 3, 10)
    alpha, coef, intercept, loo = ridge_loo(z, np.where(y[:, None] == 1, 1.0, -1.0), alphas)
    ref = RidgeClassifierCV(alphas=alphas).fit(z, y)
    assert alpha == pytest.approx(ref.alpha_)
    np.testing.assert_allclose(coef.ravel(), ref.coef_.ravel(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(intercept, ref.intercept_, rtol=1e-6, atol=1e-9)
    # leave-one-out predictions equal refitting without each row
    for i in (0, 7):
        keep = np.arange(40) != i
        _, c, b, _ = ridge_loo(z[keep], np.where(y[keep, None] == 1, 1.0, -1.0), [alpha])
        assert loo[i, 0] == pytest.approx(float(z[i] @ c.ravel() + b[0]), rel=1e-6)


def test_univariate_small_files_get_the_kernels_and_others_keep_the_pooling_classifier():
    assert recipe_for_data("classify", DataShape(200, 427, 1, 6)).model == "kernels"
    assert recipe_for_data("classify", DataShape(200, 427, 6, 6)).model == "pooling"
    assert recipe_for_data("classify", DataShape(KERNELS_BELOW, 64, 1, 2)).model == "pooling"
    assert recipe_for_data("classify", DataShape(200, 427, 1, 6), model="pooling").model == "pooling"
    assert recipe_for_data("classify", DataShape(200, 427, 1, 6), model="transformer").model == "transformer"
    for model in ("kernels", "pooling", "transformer"):  # any override, any shape, builds (--model on a CLI file)
        for shape in (DataShape(200, 50, 3, 2), DataShape(200, 427, 1, 6), DataShape(20_000, 64, 1, 2)):
            recipe = recipe_for_data("classify", shape, model=model)
            assert recipe.model == model
            built = build_model(recipe.model, "classify", recipe.model_config)
            assert built.config.num_features == shape.num_features


def test_fit_writes_one_model_file_that_loads_and_explains(tmp_path):
    x, y, _ = _shapes(60, 3)
    names = np.array(["bump", "dip", "step"])
    lengths = np.random.default_rng(0).integers(40, 61, len(y))
    mask = np.arange(60)[None, :] < lengths[:, None]
    frame = to_long(x * mask, mask, ids=[f"s{i}" for i in range(len(y))])
    frame["label"] = names[y[frame.sequence_id.str[1:].astype(int)]]
    data = read_long(frame, task="classify")
    out = tmp_path / "k.pt"
    result = fit(data, "classify", progress=False, fast=True, checkpoint=str(out))
    assert result.recipe.model == "kernels" and "majority" in result.summary
    model = load_model(out, task="classify")
    p1, _ = predict_proba_arrays(result.model, data.values, data.mask)
    p2, _ = predict_proba_arrays(model, data.values, data.mask)
    np.testing.assert_allclose(p1, p2, rtol=1e-6)
    np.testing.assert_allclose(p1.sum(1), 1.0, rtol=1e-6)
    xt = torch.as_tensor(data.values[:4], dtype=torch.float32)
    mt = torch.as_tensor(data.mask[:4])
    for method in ("consensus", "integrated_gradients", "occlusion", "attention"):
        m = influence_map(model, xt, mt, method)
        assert torch.isfinite(m).all() and torch.all(m[~mt] == 0)
        torch.testing.assert_close(m.sum(1), torch.ones(4, dtype=m.dtype))


def test_multivariate_subsets_and_config_checks():
    model = build_model("kernels", "classify", {"num_features": 3, "max_len": 20, "features": 168})
    assert model.channels.sum(-1).min() >= 1 and model.channels.shape[1:] == (84, 3)
    with pytest.raises(ValueError, match="features"):
        KernelClassifier(KernelConfig(features=10))
    with pytest.raises(ValueError, match="expects 3 features"):
        model(torch.randn(2, 20, 2))
