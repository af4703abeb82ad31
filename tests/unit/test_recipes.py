"""Recipes: typed presets shared by the shipped weights, `seqattn train`, notebook 05 and benchmarks."""

import dataclasses

import pytest
import torch

from seqattn.errors import BadInput
from seqattn.recipes import RECIPES, Recipe, get_recipe, recipe_for
from seqattn.train import TrainConfig


@pytest.mark.parametrize("name", sorted(RECIPES))
@pytest.mark.parametrize("fast", [True, False])
def test_every_recipe_is_typed_frozen_and_plain_when_recorded(name, fast, tmp_path):
    r = get_recipe(name, fast)
    assert isinstance(r, Recipe) and isinstance(r.train, TrainConfig) and r.name == name
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.batch_size = 1
    torch.save(r.to_dict(), tmp_path / "r.pt")
    assert torch.load(tmp_path / "r.pt", weights_only=True) == r.to_dict()


def test_train_transformer_gets_the_transformer_recipe():
    r = recipe_for("classify", "transformer", fast=False)
    assert r.name == "signal-transformer" and r.train.lr == 1e-3 and r.model_config["d_model"] == 32
    assert recipe_for("classify", "pooling").name == "signal"
    assert recipe_for("next-value", "lstm").name == "next-value"
    other = recipe_for("next-value", "transformer")
    assert other.model == "transformer" and other.model_config == {} and other.data is not None


def test_unknown_recipe_names_the_choices():
    with pytest.raises(BadInput, match="choose from"):
        get_recipe("nope")


def test_real_recipes_keep_the_notebook_tuple_shapes():
    from seqattn import real

    model_cfg, batch_size, cfg = real.forecast_recipe(True)
    assert model_cfg == {"hidden_size": 64, "num_layers": 1, "max_len": 32} and batch_size == 32
    assert (cfg.epochs, cfg.lr, cfg.patience, cfg.progress) == (6, 3e-3, 15, False)
    arch, cfg, tcfg = real.classify_recipe(1, 150)
    assert arch == "transformer" and cfg == {"num_features": 1, "max_len": 150, "d_model": 64, "num_layers": 2}
    assert tcfg.epochs == 150
