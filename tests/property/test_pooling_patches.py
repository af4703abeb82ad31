"""The file-trained classifier's extras keep the model contract: patches for long inputs, dilated blocks,
several pooling heads, K classes and input scaling never let padding change a result, and the map stays a distribution."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqattn.masks import valid_mask
from seqattn.models import build_model

torch.manual_seed(0)
MODELS = {
    (stride, heads): build_model("pooling", "classify", {
        "num_features": 2, "hidden_size": 8, "kernel_size": 3, "blocks": 2, "stride": stride, "heads": heads,
        "num_classes": 5, "dropout": 0.0, "input_mean": (1.0, -2.0), "input_std": (2.0, 0.5)}).eval()
    for stride in (1, 3, 8) for heads in (1, 4)
}


@settings(max_examples=40, deadline=None)
@given(key=st.sampled_from(sorted(MODELS)), lengths=st.lists(st.integers(1, 40), min_size=1, max_size=5),
       extra=st.integers(1, 20), seed=st.integers(0, 10_000))
def test_padding_never_changes_a_result_and_maps_stay_distributions(key, lengths, extra, seed):
    model = MODELS[key]
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


@settings(max_examples=25, deadline=None)
@given(lengths=st.lists(st.integers(1, 30), min_size=1, max_size=4), seed=st.integers(0, 10_000))
def test_multi_head_context_is_exactly_the_reported_weights_times_the_values(lengths, seed):
    """Four heads: the pooled context is Σ_t a_{h,t}·v_{h,t} per head, and the reported attention is the
    heads' mean (so a step no head looks at gets 0)."""
    from seqattn.masks import masked_softmax

    pool = MODELS[(1, 4)].pool
    g = torch.Generator().manual_seed(seed)
    mask = valid_mask(torch.tensor(lengths), max(lengths))
    h = torch.randn(len(lengths), max(lengths), 8, generator=g) * mask.unsqueeze(-1)
    context, attention = pool(h, mask)
    keys, values = pool.key(h).view(*h.shape[:2], 4, 2), pool.value(h).view(*h.shape[:2], 4, 2)
    for head in range(4):
        a = masked_softmax(keys[:, :, head] @ pool.query[head] / 2 ** 0.5, mask)
        torch.testing.assert_close(context.view(-1, 4, 2)[:, head], torch.einsum("bt,btd->bd", a, values[:, :, head]))
    torch.testing.assert_close(attention.sum(1), torch.ones(len(lengths)))
    assert torch.all(attention[~mask] == 0)
