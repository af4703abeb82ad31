import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import seqattn
from seqattn.api import check_values, detect, load_pretrained, predict_next
from seqattn.config import SignalConfig
from seqattn.data import generate_signal


def test_predict_next_with_shipped_weights_is_exact_on_a_line_at_any_scale():
    for scale in (1, 1000, 0.001):
        p = predict_next([2 * scale * k for k in range(1, 6)])
        assert p.prediction == pytest.approx(12 * scale, rel=1e-3)
        assert len(p.attention) == 5 and sum(p.attention) == pytest.approx(1)


def test_detect_names_steps_inside_the_planted_event():
    d = generate_signal(SignalConfig(num_samples=40, amplitude=3.0, seed=11))
    i = int(np.flatnonzero(d.label == 1)[0])
    r = detect(d.values[i, : d.lengths[i]])
    assert r.prediction > 0.5 and d.salient[i, r.top(1)[0][0]]
    assert len(r.top(3)) == 3 and r.top(3)[0][1] >= r.top(3)[1][1]


@pytest.mark.parametrize("values, message", [
    (["1", "x"], "value 1 is not a number: 'x'"),
    ([1, float("nan")], "value 1 is nan"),
    ([1, "inf"], "value 1 is 'inf'"),
    ([], "need at least 1"),
    ([1.0] * 40, "at most 32"),
])
def test_bad_values_are_value_errors(values, message):
    with pytest.raises(ValueError, match=message):
        check_values(values, max_len=32)


def test_wrong_model_for_the_call_and_unknown_name():
    with pytest.raises(ValueError, match="needs a next-value model"):
        predict_next([1, 2, 3], load_pretrained("signal"))
    with pytest.raises(ValueError, match="unknown pretrained model 'nope'"):
        load_pretrained("nope")
    with pytest.raises(TypeError, match="not a number"):
        check_values([1, None])
    with pytest.raises(ValueError, match=r"expects \[T, 4\] input"):
        detect(np.zeros((10, 3)))


def test_every_shipped_model_loads_for_its_task():
    from seqattn.api import PRETRAINED

    for name in PRETRAINED:
        model = load_pretrained(name)
        assert model.task == ("next-value" if name == "next-value" else "classify") and not model.training


def test_package_exports_are_lazy_and_complete():
    for name in seqattn.__all__:
        assert getattr(seqattn, name) is not None
    with pytest.raises(AttributeError):
        seqattn.nope  # noqa: B018


def test_any_length_next_value_reads_the_most_recent_max_len_steps():
    model = load_pretrained("next-value")
    w = model.config.max_len
    values = [3.0 * k for k in range(w + 25)]
    p = predict_next(values, model)
    assert len(p.attention) == len(values) and not any(p.attention[:25])
    assert sum(p.attention) == pytest.approx(1, abs=1e-5)
    assert p.prediction == pytest.approx(predict_next(values[25:], model).prediction)


def test_values_are_read_as_a_csv_reads_them_and_float32_range_is_checked():
    from seqattn.api import check_float32

    with pytest.raises(ValueError, match="'1_000'"):
        check_values(["1_000", "2"])
    with pytest.raises(ValueError, match="1e\\+39 .*float32"):
        detect(np.array([[1e39, 0, 0, 0]] + [[0.0] * 4] * 5))
    check_float32(np.array([3e38, -3e38]))
    with pytest.raises(ValueError, match="overflow"):
        predict_next([1e308, -1e308, 1e308])


@given(lengths=st.lists(st.integers(1, 20), min_size=1, max_size=6), limit=st.integers(1, 12))
@settings(max_examples=40, deadline=None)
def test_recent_window_keeps_each_rows_last_steps(lengths, limit):
    from seqattn.api import place_attention, recent_window

    lengths = np.array(lengths)
    t = int(lengths.max())
    values = np.where(np.arange(t)[None, :] < lengths[:, None], np.arange(t)[None, :] + 1.0, 0)[..., None]
    windowed, kept, starts = recent_window(values, lengths, limit)
    for i, n in enumerate(lengths):
        k = min(n, limit)
        assert kept[i] == k and starts[i] == n - k
        np.testing.assert_array_equal(windowed[i, :k, 0], np.arange(n - k, n) + 1.0)
        assert not windowed[i, k:].any()
    back = place_attention(np.ones((len(lengths), windowed.shape[1])), kept, starts, t)
    assert (back.sum(1) == kept).all() and not back[np.arange(t)[None, :] >= lengths[:, None]].any()


def test_explain_arrays_and_top_step_features_follow_the_window_policy():
    """A Transformer classifier reads the most recent max_len steps: the map is 0 before them and sums to 1
    over them; a chosen step before the window gets zero feature effects; attention pooling reads it all."""
    from seqattn.api import explain_arrays, top_step_features
    from tests.conftest import tiny_model

    pytest.importorskip("captum")
    rng = np.random.default_rng(0)
    for name in ("transformer", "pooling"):
        model = tiny_model(name, "classify")
        max_len = int(model.config.max_len)
        lengths = np.array([max_len + 5, 4])
        values = rng.standard_normal((2, max_len + 5, 3)) * (np.arange(max_len + 5) < lengths[:, None])[..., None]
        shares = explain_arrays(model, values, lengths, "occlusion", target=np.array([1, 0]), reduce=None)
        assert shares.shape == values.shape and np.allclose(shares.sum((1, 2)), 1)
        per_step = explain_arrays(model, values, lengths, "occlusion", target=np.array([1, 0]))
        assert np.allclose(per_step, shares.sum(-1))
        assert np.all(shares[1, 4:] == 0)
        before = name == "transformer"
        assert np.all(shares[0, :5] == 0) == before
        effects = top_step_features(model, values, lengths, [np.array([0, max_len + 4]), np.array([3])],
                                    target=np.array([1, 0]))
        assert effects[0].shape == (2, 3) and effects[1].shape == (1, 3)
        assert np.all(effects[0][0] == 0) == before and np.any(effects[0][1] != 0)
