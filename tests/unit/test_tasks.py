"""Task objects: each owns its metric direction, score, baseline and loss; multi-class scores work for any K."""

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqattn.errors import BadInput
from seqattn.models.output import SeqOutput
from seqattn.tasks import TASKS, Task, get_task, register_task, task_of
from tests.conftest import tiny_model


def test_registry_and_unknown_task_names_the_choices():
    assert set(TASKS) == {"next-value", "classify"}
    assert get_task(get_task("classify")) is get_task("classify")
    with pytest.raises(BadInput, match="choose from next-value, classify"):
        get_task("regress")


def test_metric_direction_and_best_row_pick_the_saved_epoch():
    nv, cl = get_task("next-value"), get_task("classify")
    assert nv.improved(0.5, 0.6) and not nv.improved(0.7, 0.6) and nv.improved(9.0, None)
    assert cl.improved(0.9, 0.8) and not cl.improved(0.8, 0.8)
    history = pd.DataFrame({"val_loss": [0.3, 0.2, 0.25], "val_accuracy": [0.7, 0.6, 0.9],
                            "val_mae_scaled": [0.5, 0.4, 0.45]})
    assert cl.best_row(history).val_accuracy == 0.9  # not the lowest val_loss row
    assert nv.best_row(history).val_mae_scaled == 0.4


@settings(max_examples=25, deadline=None)
@given(b=st.integers(1, 5), k=st.integers(2, 6), seed=st.integers(0, 100))
def test_classify_probabilities_sum_to_one_for_any_k(b, k, seed):
    logits = torch.randn(b, k, generator=torch.Generator().manual_seed(seed)) * 5
    task = get_task("classify")
    p = task.probabilities(logits)
    torch.testing.assert_close(p.sum(-1), torch.ones(b))
    score = task.score(logits)
    assert score.shape == (b,)
    expected = p[:, 1] if k == 2 else p.max(-1).values
    torch.testing.assert_close(score, expected)
    out = SeqOutput(logits, torch.zeros(b, 3), torch.ones(b, 3, dtype=torch.bool))
    torch.testing.assert_close(task.score(out), expected)  # a SeqOutput works too


def test_loss_and_batch_metric_match_their_definitions():
    from seqattn.data.loaders import Batch
    from seqattn.train import TrainConfig

    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, -1.0]])
    y = torch.tensor([0, 1, 1])
    batch = Batch(torch.zeros(3, 4, 1), torch.ones(3, 4, dtype=torch.bool), y, torch.arange(3))
    out = SeqOutput(logits, torch.full((3, 4), 0.25), batch.mask)
    task = get_task("classify")
    assert task.batch_metric(out, batch) == (2.0, 3)
    torch.testing.assert_close(task.loss(out, batch, TrainConfig(), train=False),
                               torch.nn.functional.cross_entropy(logits, y))


def test_baselines():
    x = torch.tensor([[1.0, 3.0, 100.0]], dtype=torch.float64)
    mask = torch.tensor([[True, True, False]])
    assert torch.equal(get_task("classify").baseline(x, mask), torch.zeros_like(x))
    assert get_task("next-value").baseline(x, mask).tolist() == [[2.0, 2.0, 0.0]]


def test_models_keep_the_task_name_and_task_of_resolves_it(any_model):
    model, task = any_model
    assert model.task == task and task_of(model) is get_task(task)


def test_a_registered_task_is_found():
    @register_task
    class Echo(Task):
        name = "echo-test"

    try:
        assert isinstance(get_task("echo-test"), Echo)
    finally:
        del TASKS["echo-test"]


def test_model_values_squeezes_only_one_value_tasks():
    v = np.zeros((2, 5, 1))
    assert get_task("next-value").model_values(v).shape == (2, 5)
    assert get_task("classify").model_values(v).shape == (2, 5, 1)
    assert tiny_model("pooling", "classify").task == "classify"
