"""seqattn.fit: training that adapts to the data it is given."""

import numpy as np
import pytest
import torch

from seqattn.config import SignalConfig
from seqattn.data import generate_signal
from seqattn.data.io import read_long, to_long
from seqattn.errors import BadInput
from seqattn.fit import fit, intra_op_threads, split_rows, training_threads
from seqattn.metrics import predict_proba_arrays
from seqattn.recipes import AUGMENT_BELOW, REFIT_BELOW, DataShape, recipe_for_data
from seqattn.tasks import get_task


def test_forty_sequences_with_default_settings_land_well_above_chance():
    """The failure this module exists for: a small labelled set used to train to chance."""
    train = generate_signal(SignalConfig(num_samples=40, seed=0))
    test = generate_signal(SignalConfig(num_samples=600, seed=1))
    result = fit(train, "classify", progress=False)
    probabilities, _ = predict_proba_arrays(result.model, test.values, test.mask)
    accuracy = (probabilities.argmax(1) == test.label).mean()
    assert accuracy > 0.75, accuracy
    assert result.recipe.refit and result.recipe.steps >= 1_000
    assert result.report["retrained_on_all"] and "majority" in result.summary


def _three_classes(n: int, seed: int):
    """Class k: a bump at one of three positions; lengths vary."""
    rng = np.random.default_rng(seed)
    label = np.arange(n) % 3
    lengths = rng.integers(20, 40, n)
    values = rng.normal(size=(n, 40, 2)) * 0.3
    for i, (k, n_i) in enumerate(zip(label, lengths, strict=True)):
        start = int(k * (n_i - 5) // 2)
        values[i, start : start + 5, 0] += 3
    mask = np.arange(40)[None, :] < lengths[:, None]
    names = np.array(["idle", "walk", "run"])[label]
    return to_long(values * mask[..., None], mask, ids=[f"s{i}" for i in range(n)]).assign(
        label=lambda d: names[d.sequence_id.str[1:].astype(int)])


def test_multi_class_string_labels_train_and_predict_k_probabilities():
    data = read_long(_three_classes(90, 0), task="classify")
    assert data.classes == ("idle", "run", "walk")
    result = fit(data, "classify", fast=True, progress=False)
    assert result.model.config.num_classes == 3
    probabilities, attention = predict_proba_arrays(result.model, data.values, data.mask)
    np.testing.assert_allclose(probabilities.sum(1), 1, rtol=1e-6)
    np.testing.assert_allclose(attention.sum(1), 1, rtol=1e-6)


def test_input_scaling_is_fitted_on_the_training_split_and_stored_in_the_config():
    train = generate_signal(SignalConfig(num_samples=60, num_features=2, seed=3))
    shifted = train.__class__(**{**train.__dict__, "values": train.values * 1000 + 50})
    result = fit(shifted, "classify", fast=True, progress=False)
    train_rows, _ = split_rows(get_task("classify"), shifted.label, result.recipe.val_fraction, 0)
    valid = shifted.values[train_rows][shifted.mask[train_rows]]
    np.testing.assert_allclose(result.model.config.input_mean, valid.mean(0), rtol=1e-6)
    np.testing.assert_allclose(result.model.config.input_std, valid.std(0), rtol=1e-6)


def test_stratified_split_keeps_every_class_on_both_sides():
    y = np.array([0] * 20 + [1] * 3 + [2] * 2)
    train, val = split_rows(get_task("classify"), y, 0.2, seed=0)
    assert set(y[train]) == set(y[val]) == {0, 1, 2}
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == len(y)


def test_a_single_class_is_refused():
    train = generate_signal(SignalConfig(num_samples=20, seed=0))
    one = train.__class__(**{**train.__dict__, "label": np.zeros_like(train.label)})
    with pytest.raises(BadInput, match="single class"):
        fit(one, "classify", fast=True, progress=False)


def test_next_value_fit_reports_the_naive_baseline():
    rng = np.random.default_rng(0)
    values = np.cumsum(rng.normal(1, 0.1, size=(80, 12)), axis=1)
    data = read_long(to_long(values[:, :-1], target=values[:, -1]), task="next-value")
    result = fit(data, "next-value", fast=True, progress=False)
    assert result.report["metric"] == "mae" and "naive last value" in result.report["baselines"]
    assert "naive last value" in result.summary


@pytest.mark.parametrize("n,length,stride,refit", [(50, 150, 2, True), (5_000, 64, 1, False),
                                                   (100, 1460, 12, True), (50_000, 64, 1, False)])
def test_the_recipe_follows_the_data_shape(n, length, stride, refit):
    recipe = recipe_for_data("classify", DataShape(n=n, max_len=length, num_features=2, num_classes=3))
    assert recipe.model_config["stride"] == stride and recipe.refit == refit == (n < REFIT_BELOW)
    assert recipe.model_config["heads"] == 4 and (recipe.augment is not None) == (n < AUGMENT_BELOW)
    assert recipe.to_dict()["augment"] == (None if recipe.augment is None else {"crop": 1.0, "scale": 0.1,
                                                                                  "noise": 0.03})
    assert recipe.steps >= 1_000 and 8 <= recipe.batch_size <= 128
    assert recipe_for_data("classify", DataShape(n, length, 2, 3), model="transformer").model == "transformer"


def test_small_training_steps_run_on_one_thread_and_the_count_is_restored():
    small = recipe_for_data("classify", DataShape(n=40, max_len=100, num_features=6, num_classes=4))
    big = recipe_for_data("classify", DataShape(n=50_000, max_len=64, num_features=4, num_classes=2))
    lstm = recipe_for_data("next-value", DataShape(n=1_600, max_len=32, num_features=1))
    assert (training_threads(small), training_threads(big), training_threads(lstm)) == (1, None, 1)
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), intra_op_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError
    assert torch.get_num_threads() == before


def test_multivariate_files_keep_the_kernels_when_they_beat_the_gradient_model_on_the_same_split(
        monkeypatch, tmp_path):
    import seqattn.fit as fit_module
    from seqattn.checkpoint import load_model
    from seqattn.models import build_model

    def untrained(task, recipe, values, mask, y, rows, val_rows, **kw):  # a gradient model that learnt nothing
        return build_model(recipe.model, task.name, recipe.model_config).eval(), None

    data = read_long(_three_classes(90, 0), task="classify")
    monkeypatch.setattr(fit_module, "_train", untrained)
    result = fit(data, "classify", fast=True, progress=False, checkpoint=str(tmp_path / "m.pt"))
    assert result.recipe.model == "kernels"
    assert result.report["chosen_over"]["pooling"] < result.report["value"]
    assert "chosen over pooling" in result.summary
    assert load_model(str(tmp_path / "m.pt")).__class__.__name__ == "KernelClassifier"

    def no_challenger(*args, **kwargs):
        raise AssertionError("an explicit --model or schedule must not be second-guessed")

    monkeypatch.setattr(fit_module, "_measure_kernels", no_challenger)
    assert fit(data, "classify", model="pooling", fast=True, progress=False).recipe.model == "pooling"
    assert fit(data, "classify", steps=5, fast=True, progress=False).recipe.model == "pooling"


def test_explicit_validation_rows_are_used_and_checked():
    from seqattn.config import DataConfig
    from seqattn.data import generate_next_value

    data = generate_next_value(DataConfig(num_samples=60, seed=0))
    result = fit(data, "next-value", fast=True, progress=False, val_rows=np.arange(50, 60))
    assert result.report["validation"] == 10 and result.report["train"] == 50
    with pytest.raises(ValueError, match="val_rows must index the 60 sequences"):
        fit(data, "next-value", fast=True, progress=False, val_rows=[59, 60])
