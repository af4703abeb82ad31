import numpy as np
import pytest

from seqattn.baselines import fit_threshold, linear_extrapolation, matched_filter_scores, naive_last_value
from seqattn.config import DataConfig, SignalConfig
from seqattn.data import generate_next_value, generate_signal, signal_pattern
from seqattn.data.loaders import BucketLoader
from seqattn.metrics import classification_metrics, evaluate, next_value_table, predict_arrays, test_model
from tests.conftest import tiny_model


def test_baselines_on_a_line():
    v = np.array([[1.0, 3.0, 5.0, 0.0], [2.0, 0, 0, 0]])
    lengths = np.array([3, 1])
    assert naive_last_value(v, lengths).tolist() == [5.0, 2.0]
    assert linear_extrapolation(v, lengths).tolist() == [7.0, 2.0]


def test_table_oracle_predictor_scores_zero_on_clean_families():
    d = generate_next_value(DataConfig(num_samples=400, max_len=10, families=("linear", "noisy")))
    table = next_value_table(d.oracle, d.values, d.lengths, d.target, d.family, d.oracle)
    assert table.loc["linear", "model_mae"] == 0 and table.loc["noisy", "mae_vs_oracle"] == pytest.approx(1)
    assert table.loc["all", "n"] == 400 and table.loc["linear", "linear_mae"] < 1e-9


def test_classification_metrics_known_answers():
    m = classification_metrics(np.array([0.9, 0.8, 0.2, 0.6]), np.array([1, 1, 0, 0]))
    assert m == {"accuracy": 0.75, "roc_auc": 1.0, "f1": pytest.approx(0.8), "n": 4}


def test_matched_filter_finds_the_planted_event():
    cfg = SignalConfig(num_samples=500, amplitude=3.0, seed=0)
    d = generate_signal(cfg)
    score, start = matched_filter_scores(d.values, d.mask, signal_pattern(6, 4, 3.0))
    pos = d.label == 1
    assert (start[pos] == d.event_start[pos]).mean() > 0.95
    th = fit_threshold(score, d.label)
    assert ((score > th) == d.label).mean() > 0.95


def test_predict_arrays_and_test_model_agree_in_row_order():
    d = generate_next_value(DataConfig(num_samples=100, max_len=9, seed=1))
    model = tiny_model("lstm", "next-value")
    pred, attention = predict_arrays(model, d.values, d.mask, batch_size=16)
    preds, targets, attentions = test_model(model, BucketLoader(d.values, d.mask, d.target, 16, seed=0))
    np.testing.assert_allclose(preds, pred, rtol=1e-5)
    np.testing.assert_array_equal(targets, d.target)
    np.testing.assert_allclose(attentions, attention[:, : attentions.shape[1]], atol=1e-6)
    np.testing.assert_allclose(attention.sum(1), 1.0, rtol=1e-5)


def test_evaluate_both_tasks():
    d = generate_next_value(DataConfig(num_samples=200, max_len=9, seed=1))
    table = evaluate(tiny_model("lstm", "next-value"), d)
    assert {"model_mae", "naive_mae", "linear_mae", "oracle_mae", "mae_vs_naive"} <= set(table.columns)
    s = generate_signal(SignalConfig(num_samples=100, max_len=24, min_len=12, num_features=3))
    row = evaluate(tiny_model("pooling", "classify"), s).iloc[0]
    assert 0 <= row.accuracy <= 1 and row.n == 100


def test_multiclass_metrics_confusion_recall_and_unseen_classes():
    from seqattn.metrics import multiclass_metrics

    p = np.eye(3)[[0, 1, 2, 2, 1]]
    m = multiclass_metrics(p, np.array([0, 1, 2, 1, -1]), classes=["a", "b", "c"])
    assert m["accuracy"] == 0.6 and m["n"] == 5 and m["unseen"] == 1
    assert m["per_class_recall"] == {"a": 1.0, "b": 0.5, "c": 1.0}
    assert m["confusion_matrix"]["matrix"] == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    one = multiclass_metrics(np.eye(2)[[1, 1]], np.array([1, 1]))
    assert one["roc_auc"] is None and "class" in one["roc_auc_note"]


def test_majority_and_one_nearest_neighbour_baselines():
    from seqattn.baselines import majority_class, one_nearest_neighbour

    assert majority_class(np.array([2, 1, 2, 0]), 3).tolist() == [2, 2, 2]
    train = np.array([[0.0, 0.0], [10.0, 10.0]])
    assert one_nearest_neighbour(train, np.array([5, 7]), np.array([[1.0, 0.0], [9.0, 9.0]])).tolist() == [5, 7]
