"""Tiny shared fixtures: small dimensions keep every model test fast."""

import pytest
import torch

from seqattn.models import build_model

TINY = {
    ("lstm", "next-value"): {"hidden_size": 8, "num_layers": 2},
    ("pooling", "classify"): {"hidden_size": 8, "num_features": 3, "kernel_size": 3},
    ("transformer", "classify"): {"d_model": 8, "num_heads": 2, "dim_feedforward": 16, "num_features": 3,
                                  "max_len": 24},
    ("transformer", "next-value"): {"d_model": 8, "num_heads": 2, "dim_feedforward": 16, "max_len": 24},
}


def tiny_model(name: str, task: str, seed: int = 0, **overrides):
    torch.manual_seed(seed)
    return build_model(name, task, {**TINY[(name, task)], "dropout": 0.0, **overrides}).eval()


def model_input(task: str, b: int, t: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if task == "classify":
        return torch.randn(b, t, 3, generator=g)
    return torch.randn(b, t, generator=g, dtype=torch.float64).cumsum(1) * 10


@pytest.fixture(params=list(TINY), ids=[f"{n}-{t}" for n, t in TINY])
def any_model(request):
    name, task = request.param
    return tiny_model(name, task), task
