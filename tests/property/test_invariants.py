"""Hypothesis over random lengths, batch sizes and padding: the contract every model keeps."""

from unittest import mock

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqattn.masks import valid_mask
from seqattn.models import lstm as lstm_module
from tests.conftest import TINY, model_input, tiny_model

MODELS = {key: tiny_model(*key) for key in TINY}
KEYS = st.sampled_from(sorted(MODELS))


@settings(max_examples=40, deadline=None)
@given(key=KEYS, lengths=st.lists(st.integers(1, 16), min_size=1, max_size=6), extra=st.integers(1, 8),
       seed=st.integers(0, 10_000))
def test_extra_padding_never_changes_a_prediction(key, lengths, extra, seed):
    model, task = MODELS[key], key[1]
    t = max(lengths)
    x = model_input(task, len(lengths), t, seed)
    mask = valid_mask(torch.tensor(lengths), t)
    x = x * (mask if x.dim() == 2 else mask.unsqueeze(-1))
    pad = torch.zeros(len(lengths), extra, *x.shape[2:], dtype=x.dtype)
    garbage = torch.randn_like(pad) * 100  # whatever sits in padded slots must not matter
    a = model(x, mask)
    b = model(torch.cat([x, pad], 1), valid_mask(torch.tensor(lengths), t + extra))
    c = model(torch.cat([x, garbage], 1), valid_mask(torch.tensor(lengths), t + extra))
    for other in (b, c):
        torch.testing.assert_close(other.prediction, a.prediction, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(other.attention[:, :t], a.attention, rtol=1e-4, atol=1e-6)
        assert torch.all(other.attention[:, t:] == 0)


@settings(max_examples=40, deadline=None)
@given(key=KEYS, lengths=st.lists(st.integers(1, 20), min_size=1, max_size=8), seed=st.integers(0, 10_000))
def test_attention_sums_to_one_over_valid_steps_and_is_zero_on_padding(key, lengths, seed):
    model, task = MODELS[key], key[1]
    t = max(lengths)
    mask = valid_mask(torch.tensor(lengths), t)
    out = model(model_input(task, len(lengths), t, seed), mask)
    assert torch.all(out.attention[~mask] == 0)
    assert torch.all(out.attention >= 0)
    torch.testing.assert_close(out.attention.sum(1), torch.ones(len(lengths), dtype=out.attention.dtype))


@settings(max_examples=30, deadline=None)
@given(lengths=st.lists(st.integers(1, 16), min_size=2, max_size=6), seed=st.integers(0, 10_000))
def test_packed_and_unpacked_lstm_paths_agree(lengths, seed):
    """A ragged batch, packed or run padded, and one sequence at a time give the same answer."""
    model = MODELS[("lstm", "next-value")]
    t = max(lengths)
    x = model_input("next-value", len(lengths), t, seed)
    for pack_above in (0, 10**9):  # always pack / never pack
        with mock.patch.object(lstm_module, "PACK_ABOVE", pack_above):
            batch = model(x, valid_mask(torch.tensor(lengths), t))
        for i, n in enumerate(lengths):
            alone = model(x[i : i + 1, :n])
            torch.testing.assert_close(alone.prediction, batch.prediction[i : i + 1], rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(alone.attention[0], batch.attention[i, :n], rtol=1e-4, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(key=KEYS, lengths=st.lists(st.integers(2, 12), min_size=1, max_size=4), extra=st.integers(1, 5),
       seed=st.integers(0, 10_000))
def test_shapley_values_sum_exactly_ignore_padding_and_their_batch(key, lengths, extra, seed):
    """Every sampled order telescopes: a sequence's Shapley values sum to score(x) − score(baseline); padding
    gets 0; extra padding columns, or the other sequences of the batch, change nothing."""
    from seqattn.explain import feature_time_map
    from seqattn.tasks import task_of

    model, task = MODELS[key], key[1]
    t = max(lengths)
    mask = valid_mask(torch.tensor(lengths), t)
    x = model_input(task, len(lengths), t, seed)
    x = x * (mask if x.dim() == 2 else mask.unsqueeze(-1))
    values = feature_time_map(model, x, mask, "shapley", signed=True)
    tk = task_of(model)
    base = tk.baseline(x.to(tk.dtype), mask)
    with torch.no_grad():
        change = (tk.score(model(x.to(tk.dtype), mask)) - tk.score(model(base, mask))).double()
    torch.testing.assert_close(values.sum((1, 2)), change, rtol=1e-4, atol=1e-5)
    assert torch.all(values[~mask] == 0)
    pad = torch.zeros(len(lengths), extra, *x.shape[2:], dtype=x.dtype)
    wider = feature_time_map(model, torch.cat([x, pad], 1), valid_mask(torch.tensor(lengths), t + extra), "shapley",
                             signed=True)
    torch.testing.assert_close(wider[:, :t], values, rtol=1e-4, atol=1e-5)
    last = len(lengths) - 1  # the last sequence alone, cut to its own length
    alone = feature_time_map(model, x[last:, : lengths[last]], mask[last:, : lengths[last]], "shapley", signed=True)
    torch.testing.assert_close(alone[0], values[last, : lengths[last]], rtol=1e-4, atol=1e-5)
