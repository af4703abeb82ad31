import pytest
import torch

from seqattn.masks import valid_mask
from seqattn.models import SeqOutput, build_model, model_name, structural
from tests.conftest import model_input, tiny_model


def test_output_contract_shapes(any_model):
    model, task = any_model
    x = model_input(task, 5, 12)
    mask = valid_mask(torch.tensor([12, 3, 7, 1, 12]), 12)
    out = model(x, mask)
    assert isinstance(out, SeqOutput)
    assert out.prediction.shape == ((5,) if task == "next-value" else (5, 2))
    assert out.attention.shape == (5, 12) and torch.equal(out.mask, mask)
    assert torch.all(out.attention[~mask] == 0)
    torch.testing.assert_close(out.attention.sum(1), torch.ones(5, dtype=out.attention.dtype))
    assert torch.isfinite(out.prediction).all()


def test_mask_none_means_all_valid(any_model):
    model, task = any_model
    x = model_input(task, 2, 9)
    a, b = model(x), model(x, torch.ones(2, 9, dtype=torch.bool))
    torch.testing.assert_close(a.prediction, b.prediction)


def test_next_value_is_scale_and_shift_equivariant():
    model = tiny_model("lstm", "next-value")
    x = torch.tensor([[2.0, 4.0, 7.0, 8.0, 13.0]], dtype=torch.float64)
    p = model(x).prediction
    torch.testing.assert_close(model(x * 1000 + 5).prediction, p * 1000 + 5, rtol=1e-6, atol=1e-6)


def test_exact_families_are_exact_for_the_candidates():
    # every candidate rule that applies reproduces a line, so any mixture does
    x = torch.tensor([[2.0, 4.0, 6.0, 8.0, 10.0]], dtype=torch.float64)
    z, last, scale = structural.normalise(x, torch.ones_like(x, dtype=torch.bool))
    cand, feats = structural.candidates(z, torch.ones_like(x, dtype=torch.bool))
    forecasts = last + scale * cand[0]
    exact = [structural.CANDIDATES.index(c) for c in ("last_step", "quadratic3", "ls_line", "ar1", "ar2")]
    torch.testing.assert_close(forecasts[exact], torch.full((len(exact),), 12.0, dtype=torch.float64))
    assert feats.shape == (1, structural.NUM_CANDIDATE_FEATURES) and torch.isfinite(feats).all()


def test_candidates_solve_a_sinusoid_and_a_constant():
    t = torch.arange(9, dtype=torch.float64)
    x = (3 + 2 * torch.sin(0.7 * t + 0.3)).unsqueeze(0)
    m = torch.ones_like(x, dtype=torch.bool)
    z, last, scale = structural.normalise(x[:, :8], m[:, :8])
    cand, _ = structural.candidates(z, m[:, :8])
    ar2 = last + scale * cand[0, structural.CANDIDATES.index("ar2")]
    torch.testing.assert_close(ar2, x[:, 8], rtol=1e-6, atol=1e-6)
    const = torch.full((1, 5), 7.5, dtype=torch.float64)
    model = tiny_model("lstm", "next-value")
    torch.testing.assert_close(model(const).prediction, torch.tensor([7.5], dtype=torch.float64))


def test_causal_mask_blocks_the_future():
    model = tiny_model("transformer", "classify", causal=True)
    x = model_input("classify", 1, 10)
    out = model(x)
    upper = torch.ones(10, 10, dtype=torch.bool).triu(1)
    assert torch.all(out.head_attention[..., upper] == 0)
    # changing the last step cannot change any earlier step's self-attention
    y = x.clone()
    y[0, -1] += 5.0
    torch.testing.assert_close(model(y).head_attention[..., :9, :9], out.head_attention[..., :9, :9])


def test_transformer_head_attention_rows_sum_to_one_on_valid_queries():
    model = tiny_model("transformer", "classify")
    mask = valid_mask(torch.tensor([6, 10]), 10)
    out = model(model_input("classify", 2, 10), mask)
    rows = out.head_attention.sum(-1)  # (B, L, H, T)
    torch.testing.assert_close(rows[0, ..., :6], torch.ones_like(rows[0, ..., :6]))
    assert torch.all(rows[0, ..., 6:] == 0) and torch.all(out.head_attention[0, ..., 6:] == 0)


@pytest.mark.parametrize(("task", "causal"), [("classify", False), ("classify", True), ("next-value", False)])
def test_transformer_prediction_only_is_the_same_prediction_without_the_weights(task, causal):
    """Inside prediction_only the Transformer mixes its steps with fused attention and returns no
    head_attention: the same prediction and pooling attention, with padding, a one-step and an empty row."""
    from seqattn.models.output import prediction_only

    model = tiny_model("transformer", task, causal=causal).eval()
    x = model_input(task, 4, 10)
    mask = valid_mask(torch.tensor([10, 6, 1, 0]), 10)
    full = model(x, mask)
    with prediction_only():
        fast = model(x, mask)
    assert fast.head_attention is None and full.head_attention is not None
    # an empty sequence has no next value (NaN either way); a classifier still scores it
    torch.testing.assert_close(fast.prediction, full.prediction, rtol=1e-5, atol=1e-5, equal_nan=True)
    torch.testing.assert_close(fast.attention, full.attention, rtol=1e-5, atol=1e-6)
    assert task != "classify" or torch.isfinite(fast.prediction).all()
    assert model(x, mask).head_attention is not None  # the context ended


@pytest.mark.parametrize("positional", ["sincos", "learned"])
def test_transformer_positional_options_and_too_long(positional):
    model = tiny_model("transformer", "classify", positional=positional)
    assert model(model_input("classify", 2, 24)).prediction.shape == (2, 2)
    with pytest.raises(ValueError, match="at most 24"):
        model(model_input("classify", 1, 25))


def test_feature_count_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="expects 3 features, got 5"):
        tiny_model("pooling", "classify")(torch.randn(1, 8, 5))
    with pytest.raises(ValueError, match="1 feature"):
        tiny_model("lstm", "next-value")(torch.randn(1, 8, 2))


def test_build_model_validates_names():
    with pytest.raises(ValueError, match="unknown task"):
        build_model("lstm", "regress")
    with pytest.raises(ValueError, match="does not do task 'classify'"):
        build_model("lstm", "classify")
    with pytest.raises(ValueError, match="unknown LSTMConfig field"):
        build_model("lstm", "next-value", {"hidden": 3})
    assert model_name(build_model("pooling", "classify")) == "pooling"


def test_all_masked_row_gives_zero_attention_not_nan():
    model = tiny_model("pooling", "classify")
    out = model(model_input("classify", 2, 6), torch.tensor([[1, 1, 1, 0, 0, 0], [0] * 6]).bool())
    assert torch.all(out.attention[1] == 0) and not torch.isnan(out.prediction).any()


def test_shipped_next_value_weights_load_and_match_their_exported_program():
    from seqattn.api import load_pretrained
    from seqattn.config import SAVED_MODELS_DIR
    from seqattn.export import load_exported

    model = load_pretrained("next-value")
    x = torch.tensor([[2.0, 4.0, 6.0, 8.0, 10.0, 0.0], [1.0, -1.0, 1.0, -1.0, 1.0, -1.0]], dtype=torch.float64)
    mask = valid_mask(torch.tensor([5, 6]), 6)
    program = load_exported(SAVED_MODELS_DIR / "next-value.ts")
    with torch.no_grad():
        prediction, attention = program(x, mask)
        out = model(x, mask)
    torch.testing.assert_close(prediction, out.prediction)
    torch.testing.assert_close(attention, out.attention)


def test_candidates_are_smooth_at_exact_fits_and_under_determined_orders_fall_back():
    # an exact line: every residual is 0, where a plain square root has an infinite derivative
    x = torch.tensor([[2.0, 4.0, 6.0, 8.0, 10.0], [1.0, -1.0, 1.0, -1.0, 0.0]], dtype=torch.float64,
                     requires_grad=True)
    mask = valid_mask(torch.tensor([5, 4]), 5)
    z, _, _ = structural.normalise(x, mask)
    cand, feats = structural.candidates(z, mask)
    (grad,) = torch.autograd.grad(cand.sum() + feats.sum(), x)
    assert torch.isfinite(grad).all()
    # four steps determine AR(1) (3 rows, 2 parameters) but not AR(2) or AR(3): those repeat AR(1)
    ar = [structural.CANDIDATES.index(c) for c in ("ar1", "ar2", "ar3")]
    torch.testing.assert_close(cand[1, ar], torch.ones(3, dtype=torch.float64))


def test_ar_ridge_keeps_a_flat_history_well_conditioned():
    # ten equal values then a jump: the lag column is constant, collinear with the intercept
    x = torch.tensor([[1.0] * 10 + [6.0]], dtype=torch.float64, requires_grad=True)
    mask = torch.ones_like(x, dtype=torch.bool)
    z, _, _ = structural.normalise(x, mask)
    cand, _ = structural.candidates(z, mask)
    (grad,) = torch.autograd.grad(cand[0, structural.CANDIDATES.index("ar3")], x)
    assert float(grad.abs().max()) < 100.0
