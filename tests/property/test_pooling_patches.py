"""The file-trained classifier's extras keep the model contract: patches for long inputs, dilated blocks,
K classes and input scaling never let padding change a result, and the map stays a distribution."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqattn.masks import valid_mask
from seqattn.models import build_model

torch.manual_seed(0)
MODELS = {
    stride: build_model("pooling", "classify", {"num_features": 2, "hidden_size": 8, "kernel_size": 3,
                                                "blocks": 2, "stride": stride, "num_classes": 5, "dropout": 0.0,
                                                "input_mean": (1.0, -2.0), "input_std": (2.0, 0.5)}).eval()
    for stride in (1, 3, 8)
}


@settings(max_examples=40, deadline=None)
@given(stride=st.sampled_from(sorted(MODELS)), lengths=st.lists(st.integers(1, 40), min_size=1, max_size=5),
       extra=st.integers(1, 20), seed=st.integers(0, 10_000))
def test_padding_never_changes_a_result_and_maps_stay_distributions(stride, lengths, extra, seed):
    model = MODELS[stride]
    t = max(lengths)
    g = torch.Generator().manual_seed(seed)
    mask = valid_mask(torch.tensor(lengths), t)
    x = torch.randn(len(lengths), t, 2, generator=g) * 3 * mask.unsqueeze(-1)
    garbage = torch.randn(len(lengths), extra, 2, generator=g) * 100
    a = model(x, mask)
    b = model(torch.cat([x, garbage], 1), valid_mask(torch.tensor(lengths), t + extra))
    torch.testing.assert_close(b.prediction, a.prediction, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(b.attention[:, :t], a.attention, rtol=1e-4, atol=1e-6)
    assert torch.all(b.attention[:, t:] == 0) and torch.all(a.attention[~mask] == 0)
    torch.testing.assert_close(a.attention.sum(1), torch.ones(len(lengths)))
    assert a.prediction.shape == (len(lengths), 5)
