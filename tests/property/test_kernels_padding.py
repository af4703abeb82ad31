"""The random-kernel classifier keeps the model contract: padding never changes a result, the class
activation share is 0 on padding and sums to 1."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqattn.masks import valid_mask
from seqattn.models.kernels import KernelClassifier, KernelConfig, fit_kernels

rng = np.random.default_rng(0)
MODEL = KernelClassifier(KernelConfig(num_features=2, num_classes=3, max_len=40, features=168,
                                      input_mean=(1.0, -2.0), input_std=(2.0, 0.5)))
fit_kernels(MODEL, rng.normal(size=(30, 40, 2)), np.ones((30, 40), bool), np.arange(30) % 3)


@settings(max_examples=30, deadline=None)
@given(lengths=st.lists(st.integers(1, 50), min_size=1, max_size=5), extra=st.integers(1, 20),
       seed=st.integers(0, 10_000))
def test_padding_never_changes_a_result_and_the_map_stays_a_distribution(lengths, extra, seed):
    t = max(lengths)
    g = torch.Generator().manual_seed(seed)
    mask = valid_mask(torch.tensor(lengths), t)
    x = torch.randn(len(lengths), t, 2, generator=g) * 3 * mask.unsqueeze(-1)
    garbage = torch.randn(len(lengths), extra, 2, generator=g) * 100
    with torch.no_grad():
        a = MODEL(x, mask)
        b = MODEL(torch.cat([x, garbage], 1), valid_mask(torch.tensor(lengths), t + extra))
    torch.testing.assert_close(b.prediction, a.prediction, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(b.attention[:, :t], a.attention, rtol=1e-4, atol=1e-5)
    assert torch.all(b.attention[:, t:] == 0) and torch.all(a.attention[~mask] == 0)
    torch.testing.assert_close(a.attention.sum(1), torch.ones(len(lengths)))
