import numpy as np
import pytest
import torch

pytest.importorskip("captum")

from seqattn.config import SignalConfig  # noqa: E402
from seqattn.data import generate_signal  # noqa: E402
from seqattn.data.loaders import BucketLoader  # noqa: E402
from seqattn.explain import (  # noqa: E402
    METHODS,
    deletion_insertion,
    explain_report,
    influence_map,
    influence_maps,
    kendall_tau,
    localisation,
    override_attention,
)
from seqattn.masks import valid_mask  # noqa: E402
from seqattn.train import TrainConfig, train_model  # noqa: E402
from tests.conftest import model_input, tiny_model  # noqa: E402


def test_localisation_known_answers():
    rng = np.random.default_rng(0)
    salient = np.zeros((400, 20), dtype=bool)
    salient[:, 5:8] = True
    mask = np.ones_like(salient)
    perfect = localisation(salient.astype(float), salient, mask)
    assert perfect["pointing_game"] == perfect["precision_at_k"] == perfect["auroc"] == perfect["auprc"] == 1.0
    rand = localisation(rng.random(salient.shape), salient, mask)
    assert rand["base_rate"] == pytest.approx(0.15)
    assert abs(rand["precision_at_k"] - 0.15) < 0.03 and abs(rand["auroc"] - 0.5) < 0.05
    assert abs(rand["pointing_game"] - 0.15) < 0.05 and rand["auprc"] < 0.3
    with pytest.raises(ValueError, match="no sample"):
        localisation(salient.astype(float), np.zeros_like(salient), mask)


@pytest.mark.parametrize("name, task", [("pooling", "classify"), ("lstm", "next-value"), ("transformer", "classify")])
def test_every_map_is_a_distribution_over_valid_steps(name, task):
    model = tiny_model(name, task)
    mask = valid_mask(torch.tensor([9, 5, 7]), 9)
    x = model_input(task, 3, 9) * (mask if task == "next-value" else mask.unsqueeze(-1))
    maps = influence_maps(model, x, mask)
    assert ("rollout" in maps) == (name == "transformer")
    assert set(maps) <= set(METHODS)
    for method, m in maps.items():
        assert m.shape == (3, 9), method
        assert torch.all(m[~mask] == 0) and torch.all(m >= 0), method
        torch.testing.assert_close(m.sum(1), torch.ones(3, dtype=m.dtype), msg=method)
    with pytest.raises(ValueError, match="rollout needs a Transformer"):
        influence_map(tiny_model("pooling", "classify"), model_input("classify", 1, 5), method="rollout")
    with pytest.raises(ValueError, match="unknown method"):
        influence_map(model, x, mask, method="shap")


def test_every_map_works_on_a_patch_model():
    """A pooling model that reads patches of 3 steps (long inputs) attends over patches; every map still has
    one weight per input step (attention_norm once multiplied patch weights by step norms: a shape error)."""
    model = tiny_model("pooling", "classify", stride=3)
    mask = valid_mask(torch.tensor([11, 7]), 11)
    x = model_input("classify", 2, 11) * mask.unsqueeze(-1)
    for method, m in influence_maps(model, x, mask).items():
        assert m.shape == (2, 11), method
        assert torch.all(m[~mask] == 0), method
        torch.testing.assert_close(m.sum(1), torch.ones(2, dtype=m.dtype), msg=method)


def test_override_attention_uniform_and_permute():
    model = tiny_model("pooling", "classify")
    mask = valid_mask(torch.tensor([6, 4]), 6)
    x = model_input("classify", 2, 6)
    base = model(x, mask).attention
    with override_attention(model, "uniform"):
        uni = model(x, mask).attention
    torch.testing.assert_close(uni[1], torch.tensor([0.25] * 4 + [0, 0]))
    with override_attention(model, "permute", seed=1):
        perm = model(x, mask).attention
    for i in range(2):
        assert torch.allclose(perm[i].sort().values, base[i].sort().values)
        assert torch.all(perm[i][~mask[i]] == 0)
    assert torch.equal(model(x, mask).attention, base)  # restored


@pytest.fixture(scope="module")
def trained():
    cfg = dict(max_len=24, min_len=24, num_features=3, amplitude=3.0, distractor_prob=0.0)
    d = generate_signal(SignalConfig(num_samples=1200, seed=0, **cfg))
    v = generate_signal(SignalConfig(num_samples=300, seed=1, **cfg))
    model = tiny_model("pooling", "classify", hidden_size=16)
    model, _ = train_model(model, BucketLoader(d.values, d.mask, d.label, 64, bucket=False),
                           BucketLoader(v.values, v.mask, v.label, 300, shuffle=False),
                           TrainConfig(epochs=8, lr=5e-3, progress=False))
    return model, v.subset(np.flatnonzero(v.label == 1))


def test_deleting_the_planted_event_drops_faster_than_random(trained):
    model, pos = trained
    x, mask = torch.as_tensor(pos.values), torch.as_tensor(pos.mask)
    truth = torch.as_tensor(pos.salient, dtype=torch.float64)
    rand = influence_map(model, x, mask, "random")
    d_truth, i_truth = deletion_insertion(model, x, mask, truth)
    d_rand, i_rand = deletion_insertion(model, x, mask, rand)
    assert d_truth[0] == pytest.approx(d_rand[0]) and d_truth[0] > 0.8  # nothing removed yet
    assert d_truth.mean() < d_rand.mean() - 0.2 and i_truth.mean() > i_rand.mean()


def test_report_scores_every_map_and_gradients_agree_with_each_other(trained):
    model, pos = trained
    report = explain_report(model, pos, n=64)
    assert set(report.index) == {"attention", "attention_norm", "grad_input", "integrated_gradients",
                                 "occlusion", "shapley", "consensus", "random"}
    assert {"pointing_game", "precision_at_k", "auroc", "auprc", "deletion_auc", "kendall_tau_vs_ig"} <= set(report)
    assert report.loc["integrated_gradients", "kendall_tau_vs_ig"] == pytest.approx(1.0)
    for m in ("attention", "integrated_gradients", "occlusion", "consensus"):
        assert report.loc[m, "auprc"] > report.loc["random", "auprc"] + 0.3
        assert report.loc[m, "deletion_auc"] < report.loc["random", "deletion_auc"]
    tests = report.attrs["attention_tests"]
    assert tests["accuracy"] > 0.9 and tests["accuracy_uniform"] < tests["accuracy"]
    assert len(report.attrs["curves"]["attention"]["deletion"]) == 11


def test_kendall_tau_identical_and_reversed():
    a = np.arange(10.0)[None, :]
    mask = np.ones((1, 10), dtype=bool)
    assert kendall_tau(a, a, mask) == pytest.approx(1.0) and kendall_tau(a, -a, mask) == pytest.approx(-1.0)


def test_consensus_is_the_mean_of_its_parts_and_the_default():
    from seqattn.explain import DEFAULT_MAP, explain

    model = tiny_model("pooling", "classify")
    x = model_input("classify", 2, 10)
    parts = [influence_map(model, x, None, m) for m in ("integrated_gradients", "occlusion", "attention_norm")]
    torch.testing.assert_close(influence_map(model, x, None, "consensus"), sum(parts) / 3)
    torch.testing.assert_close(explain(model, x), influence_map(model, x, None, DEFAULT_MAP))


def test_consensus_cells_share_each_step_as_integrated_gradients_does():
    """Per cell, each step's consensus (unchanged) is split among its features in IG's proportions."""
    model = tiny_model("pooling", "classify")
    x = model_input("classify", 2, 10)
    cells = influence_map(model, x, None, "consensus", reduce=None)
    ig = influence_map(model, x, None, "integrated_gradients", reduce=None)
    torch.testing.assert_close(cells.sum(-1), influence_map(model, x, None, "consensus"))
    expected = cells.sum(-1, keepdim=True) * ig / ig.sum(-1, keepdim=True)
    torch.testing.assert_close(cells, expected)
    signed = influence_map(model, x, None, "consensus", reduce=None, signed=True)  # signed: the plain mean
    parts = [influence_map(model, x, None, m, reduce=None, signed=True) for m in
             ("integrated_gradients", "occlusion", "attention_norm")]
    mean = sum(parts) / 3
    torch.testing.assert_close(signed, mean / mean.abs().sum((1, 2), keepdim=True))


def test_head_maps_one_distribution_per_layer_and_head():
    from seqattn.explain import head_maps

    model = tiny_model("transformer", "classify")
    mask = valid_mask(torch.tensor([10, 6]), 10)
    maps = head_maps(model, model_input("classify", 2, 10), mask)
    assert maps.shape == (2, 2, 2, 10) and torch.all(maps[1, ..., 6:] == 0)
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 2, 2, dtype=maps.dtype))
    with pytest.raises(ValueError, match="need a Transformer"):
        head_maps(tiny_model("pooling", "classify"), model_input("classify", 1, 5))


@pytest.mark.parametrize("name, task", [("pooling", "classify"), ("lstm", "next-value")])
def test_feature_time_maps_and_their_reductions_agree(name, task):
    model = tiny_model(name, task)
    mask = valid_mask(torch.tensor([8, 5]), 8)
    x = model_input(task, 2, 8) * (mask if task == "next-value" else mask.unsqueeze(-1))
    d = 1 if task == "next-value" else 3
    for method in ("attention", "grad_input", "occlusion", "consensus"):
        full = influence_map(model, x, mask, method, reduce=None)
        assert full.shape == (2, 8, d) and torch.all(full >= 0) and torch.all(full[~mask] == 0), method
        torch.testing.assert_close(full.sum(2), influence_map(model, x, mask, method), msg=method)
        torch.testing.assert_close(full.sum(1), influence_map(model, x, mask, method, reduce="feature"))
        signed = influence_map(model, x, mask, method, reduce=None, signed=True)
        torch.testing.assert_close(signed.abs().sum((1, 2)), torch.ones(2, dtype=signed.dtype), msg=method)
        if method != "consensus":  # (the consensus of signed parts is their signed mean: parts may cancel)
            torch.testing.assert_close(signed.abs(), full, msg=method)  # the same shares, with their sign
    # a time-only map keeps its weights per step; its cells follow |x - baseline| over the features
    attention = model(x, mask).attention.double()
    torch.testing.assert_close(influence_map(model, x, mask, "attention"), attention / attention.sum(1, keepdim=True))
    if task == "classify":
        cells = influence_map(model, x, mask, "attention", reduce=None)
        share = x.abs().double() / x.abs().double().sum(-1, keepdim=True)
        torch.testing.assert_close(cells[mask], (attention.unsqueeze(-1) * share)[mask])
    with pytest.raises(ValueError, match="reduce must be"):
        influence_map(model, x, mask, "attention", reduce="steps")


def test_a_nan_map_raises_and_an_empty_map_is_never_silently_uniform(monkeypatch):
    import seqattn.explain as explain

    model = tiny_model("pooling", "classify")
    x, mask = model_input("classify", 3, 6), valid_mask(torch.tensor([6, 6, 4]), 6)
    nan = torch.zeros(3, 6, 3, dtype=torch.float64)
    nan[1, 2, 0] = float("nan")
    monkeypatch.setitem(explain.MAPS, "broken", lambda *a, **k: nan)
    with pytest.raises(ValueError, match=r"broken map is not finite .* sequence\(s\) 1"):
        influence_map(model, x, mask, "broken")
    nan[1, 2, 0] = 0.0
    nan[0, 1, 2] = -2.0  # sequence 0 has evidence; 1 and 2 are all zero
    monkeypatch.setitem(explain.MAPS, "flat", lambda *a, **k: nan)
    with pytest.raises(ValueError, match=r"zero on every valid step of sequence\(s\) 1, 2"):
        influence_map(model, x, mask, "flat")
    zeros = influence_map(model, x, mask, "flat", empty="zeros", signed=True)
    assert zeros[0, 1] == -1.0 and torch.all(zeros[1:] == 0)
    uniform = influence_map(model, x, mask, "flat", empty="uniform")
    torch.testing.assert_close(uniform[2], torch.tensor([0.25] * 4 + [0, 0], dtype=torch.float64))


def test_consensus_leaves_out_a_part_that_is_empty_for_a_sequence():
    """On a constant next-value sequence IG and occlusion from the mean baseline are zero everywhere:
    the consensus is the attention_norm map alone there, not an average with a fake uniform map."""
    from seqattn.explain import consensus_map, feature_time_map

    model = tiny_model("lstm", "next-value")
    x = torch.stack([torch.full((7,), 3.0, dtype=torch.float64), model_input("next-value", 1, 7)[0]])
    mask = torch.ones(2, 7, dtype=torch.bool)
    parts = {m: feature_time_map(model, x, mask, m) for m in ("integrated_gradients", "occlusion", "attention_norm")}
    parts["integrated_gradients"][0] = 0.0  # (its gradients may not be finite on a constant: model-dependent)
    with pytest.raises(ValueError, match="zero on every valid step of sequence"):
        influence_map(model, x[:1], mask[:1], "occlusion")
    consensus = consensus_map(model, x, mask, parts=parts).squeeze(-1)
    norm = influence_map(model, x, mask, "attention_norm")
    torch.testing.assert_close(consensus[0], norm[0])
    three = [parts[m].squeeze(-1)[1].abs() / parts[m].abs()[1].sum() for m in parts]
    torch.testing.assert_close(consensus[1], sum(three) / 3)


ISSUE_SEQUENCES = {"line": [2.0, 4, 6, 8, 10], "constant": [5.0] * 8, "ten ones then a 6": [1.0] * 10 + [6.0]}


@pytest.mark.parametrize("name", list(ISSUE_SEQUENCES))
@pytest.mark.parametrize("method", [m for m in METHODS if m != "rollout"])
def test_shipped_next_value_model_maps_on_the_issue_sequences(method, name):
    """Every map is a finite distribution (the gradients were NaN on a line and on constants, ±4e8 on ten
    1s then a 6); on a constant the maps measured against the mean baseline are empty and say so."""
    from seqattn.api import load_pretrained

    model = load_pretrained("next-value")
    x = torch.tensor([ISSUE_SEQUENCES[name]], dtype=torch.float64)
    if name == "constant" and method in ("integrated_gradients", "occlusion", "shapley", "contributions"):
        with pytest.raises(ValueError, match="zero on every valid step"):
            influence_map(model, x, method=method)
        assert torch.all(influence_map(model, x, method=method, empty="zeros") == 0)
        return
    for signed in (False, True):
        m = influence_map(model, x, method=method, signed=signed)
        assert torch.isfinite(m).all() and (signed or torch.all(m >= 0))
        torch.testing.assert_close(m.abs().sum(1), torch.ones(1, dtype=m.dtype))  # Σ|m| = 1 either way


def test_integrated_gradients_from_the_mean_are_the_gradient_recipes_contributions():
    from seqattn.api import load_pretrained
    from seqattn.explain import feature_time_map

    model = load_pretrained("next-value")
    x = torch.tensor([ISSUE_SEQUENCES["ten ones then a 6"], [0, 0.84, 0.91, 0.14, -0.76, -0.96, -0.28, 0, 0, 0, 0]],
                     dtype=torch.float64)
    mask = valid_mask(torch.tensor([11, 7]), 11)
    ig = feature_time_map(model, x, mask, "integrated_gradients")
    from seqattn.influence import recipe

    gradient = recipe(model, x, mask, method="gradient").contributions.unsqueeze(-1)
    torch.testing.assert_close(ig, gradient, rtol=1e-5, atol=1e-6)
    rules = feature_time_map(model, x, mask, "contributions")  # the default recipe holds the rule choice
    assert not torch.allclose(rules, gradient, rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(rules.sum((1, 2)), gradient.sum((1, 2)))  # both sum to prediction − mean


def test_top_steps_names_the_step_and_its_feature():
    from seqattn.explain import top_steps

    cells = torch.zeros(6, 3, dtype=torch.float64)
    cells[4, 2], cells[1, 0], cells[1, 1] = -0.5, 0.2, 0.1
    assert top_steps(cells, k=2) == [(4, pytest.approx(0.625), 2), (1, pytest.approx(0.375), 0)]
    assert top_steps(cells[:, 0], k=1)[0][:1] == (1,)
    assert len(top_steps(cells, k=10, mask=torch.arange(6) < 3)) == 3
    with pytest.raises(ValueError, match="NaN"):
        top_steps(torch.full((3, 2), float("nan")))


def test_target_picks_the_class_a_map_explains():
    """target=k explains log P(class k): occlusion with window 1 equals zeroing each step by hand and watching
    log P(class k), on a binary and a 3-class model; per-row targets; a bad target is refused."""
    from seqattn.explain import feature_time_map

    x = model_input("classify", 2, 7)
    mask = torch.ones(2, 7, dtype=torch.bool)
    for num_classes in (2, 3):
        model = tiny_model("pooling", "classify", num_classes=num_classes)
        for k in range(num_classes):
            cells = feature_time_map(model, x, mask, "occlusion", window=1, signed=True, target=k)
            with torch.no_grad():
                logp = torch.log_softmax(model(x, mask).prediction, -1)[:, k]
                for t in range(7):
                    xo = x.clone()
                    xo[:, t] = 0
                    expected = logp - torch.log_softmax(model(xo, mask).prediction, -1)[:, k]
                    # the step's cells share the occluded window's effect (by |x − baseline|)
                    torch.testing.assert_close(cells[:, t].sum(-1), expected.double(), atol=1e-5, rtol=1e-4)
                    share = x[:, t].abs() / x[:, t].abs().sum(-1, keepdim=True)
                    torch.testing.assert_close(cells[:, t], expected.double()[:, None] * share.double(),
                                               atol=1e-5, rtol=1e-4)
    per_row = feature_time_map(model, x, mask, "occlusion", window=1, target=torch.tensor([0, 2]))
    torch.testing.assert_close(per_row[1], feature_time_map(model, x, mask, "occlusion", window=1, target=2)[1])
    with pytest.raises(ValueError, match="target must be"):
        influence_map(model, x, mask, "occlusion", target=3)
    with pytest.raises(ValueError, match="predicts values"):
        influence_map(tiny_model("lstm", "next-value"), model_input("next-value", 1, 6), None, "occlusion", target=0)


def test_step_features_is_the_score_change_of_one_cell_at_the_baseline():
    from seqattn.explain import step_features

    model = tiny_model("pooling", "classify", num_classes=3)
    x = model_input("classify", 2, 8)
    mask = valid_mask(torch.tensor([8, 5]), 8)
    steps = torch.tensor([[2, 6], [4, 0]])
    effects = step_features(model, x, mask, steps, target=torch.tensor([1, 2]))
    assert effects.shape == (2, 2, 3)
    with torch.no_grad():
        for b, k in ((0, 1), (1, 2)):
            full = torch.log_softmax(model(x[b:b + 1], mask[b:b + 1]).prediction, -1)[0, k]
            for j in range(2):
                for f in range(3):
                    xo = x[b:b + 1].clone()
                    xo[0, steps[b, j], f] = 0
                    cut = torch.log_softmax(model(xo, mask[b:b + 1]).prediction, -1)[0, k]
                    assert float(effects[b, j, f]) == pytest.approx(float(full - cut), abs=1e-5)


def forwarded(model, call):
    """``call()``'s result and the batch size of every forward pass of ``model`` during it."""
    calls = []
    handle = model.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    try:
        return call(), calls
    finally:
        handle.remove()


def test_occlusion_cost_is_bounded_on_long_sequences():
    """Beyond OCCLUSION_POSITIONS steps the window slides by ceil(T / OCCLUSION_POSITIONS): at most that many
    forward passes per sequence, and the map is still finite, 0 on padding and a distribution."""
    from seqattn import explain

    model = tiny_model("pooling", "classify")
    t = 3 * explain.OCCLUSION_POSITIONS
    mask = valid_mask(torch.tensor([t, t - 100]), t)
    x = model_input("classify", 2, t) * mask.unsqueeze(-1)
    m, calls = forwarded(model, lambda: influence_map(model, x, mask, "occlusion", empty="zeros"))
    assert sum(calls) <= 2 * (explain.OCCLUSION_POSITIONS + 1)  # sequences forwarded, + the unperturbed pass
    assert torch.all(m[~mask] == 0) and torch.allclose(m.sum(1), torch.ones(2, dtype=m.dtype))


def test_shapley_values_sum_exactly_to_the_score_change_and_are_zero_on_padding():
    """Every sampled order telescopes: a sequence's values sum to score(x) − score(baseline) (next value:
    prediction − mean), with or without a target class; padded steps get 0; the same seed gives the same
    map, another seed another sample of it."""
    from seqattn.api import load_pretrained
    from seqattn.explain import feature_time_map
    from seqattn.tasks import task_of

    model = load_pretrained("next-value")
    x = torch.tensor([[2.0, 4, 6, 8, 10, 0, 0], [1, 1, 1, 1, 1, 1, 6]], dtype=torch.float64)
    mask = valid_mask(torch.tensor([5, 7]), 7)
    values = feature_time_map(model, x, mask, "shapley")[..., 0]
    mean = (x * mask).sum(1) / mask.sum(1)
    torch.testing.assert_close(values.sum(1), model(x, mask).prediction.detach() - mean, rtol=1e-6, atol=1e-6)
    assert torch.all(values[~mask] == 0) and values[0, 4] == values[0].abs().max()  # the line's last step leads
    torch.testing.assert_close(values, feature_time_map(model, x, mask, "shapley")[..., 0], rtol=0, atol=0)
    assert not torch.equal(values, feature_time_map(model, x, mask, "shapley", seed=1)[..., 0])

    classifier = load_pretrained("signal")
    xs = torch.randn(3, 30, 4, generator=torch.Generator().manual_seed(0))
    ms = valid_mask(torch.tensor([30, 20, 25]), 30)
    xs = xs * ms.unsqueeze(-1)
    task, zero = task_of(classifier), torch.zeros_like(xs)
    cells = feature_time_map(classifier, xs, ms, "shapley", signed=True)
    expected = task.score(classifier(xs, ms)) - task.score(classifier(zero, ms))
    torch.testing.assert_close(cells.sum((1, 2)), expected.detach().double(), rtol=1e-5, atol=1e-6)
    assert torch.all(cells[~ms] == 0)
    cells = feature_time_map(classifier, xs, ms, "shapley", signed=True, target=0)
    logp = lambda v: torch.log_softmax(classifier(v, ms).prediction.float(), -1)[:, 0]  # noqa: E731
    torch.testing.assert_close(cells.sum((1, 2)), (logp(xs) - logp(zero)).detach().double(), rtol=1e-5, atol=1e-5)


def test_shapley_cost_is_bounded_and_padding_never_changes_it():
    """Beyond SHAPLEY_PLAYERS valid steps, stretches of steps are the players: at most permutations ×
    (players + 1) sequences forwarded per sequence, and the values still sum to the score change. Extra
    padding columns change nothing."""
    from seqattn import explain
    from seqattn.explain import feature_time_map

    model = tiny_model("pooling", "classify")
    t = 3 * explain.SHAPLEY_PLAYERS
    mask = valid_mask(torch.tensor([t, t - 50]), t)
    x = model_input("classify", 2, t) * mask.unsqueeze(-1)
    cells, calls = forwarded(model, lambda: feature_time_map(model, x, mask, "shapley", signed=True))
    assert sum(calls) == 2 * explain.SHAPLEY_PERMUTATIONS * (explain.SHAPLEY_PLAYERS + 1)
    assert torch.all(cells[~mask] == 0)
    wider = torch.cat([x, torch.zeros(2, 7, x.shape[2])], 1)
    more = feature_time_map(model, wider, valid_mask(mask.sum(1), t + 7), "shapley", signed=True)
    torch.testing.assert_close(more[:, :t], cells, rtol=1e-5, atol=1e-6)
    alone = feature_time_map(model, x[1:, : t - 50], mask[1:, : t - 50], "shapley", signed=True)
    torch.testing.assert_close(alone[0], cells[1, : t - 50], rtol=1e-5, atol=1e-6)  # its batch changes nothing


def test_feature_pointing_needs_the_step_and_the_feature():
    from seqattn.explain import feature_pointing

    truth = np.zeros((3, 5, 2), dtype=bool)
    truth[:, 2, 1] = True
    mask = np.ones((3, 5), dtype=bool)
    cells = np.zeros((3, 5, 2))
    cells[0, 2, 1] = 1.0  # right step, right feature
    cells[1, 2, 0] = 1.0  # right step, wrong feature
    cells[2, 4, 1] = 1.0  # wrong step
    score = feature_pointing(cells, truth, mask)
    assert score["pointing_game_feature"] == pytest.approx(1 / 3) and score["feature_right"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no sample"):
        feature_pointing(cells, np.zeros_like(truth), mask)


def test_report_scores_the_top_feature_only_where_the_truth_names_features():
    """Cell truth that marks every feature of a true step says nothing about features (every top feature would
    be "right"): the report leaves the feature columns out there, and fills them where the truth picks features."""
    from types import SimpleNamespace

    from seqattn.config import BoxConfig
    from seqattn.data import generate_box

    model = tiny_model("pooling", "classify")
    box = generate_box(BoxConfig(num_samples=40, max_len=20, num_features=3, box_len=4, box_features=1, seed=0))
    box = SimpleNamespace(values=box.values, mask=box.mask, label=box.label, salient=box.salient,
                          salient_cells=box.salient_cells)
    report = explain_report(model, box, methods=["integrated_gradients", "random"], n=16)
    assert {"pointing_game_feature", "pointing_game_infer", "feature_right"} <= set(report)
    assert (report["pointing_game_feature"] <= report["pointing_game"]).all()
    assert (report["pointing_game_infer"] <= report["pointing_game"]).all()
    every = SimpleNamespace(**{**vars(box), "salient_cells": np.repeat(box.salient[:, :, None], 3, 2)})
    assert "feature_right" not in explain_report(model, every, methods=["random"], n=16)


@pytest.mark.parametrize("name", ["transformer", "kernels"])
def test_a_models_own_pass_size_changes_the_batching_never_the_map(name, monkeypatch):
    """``steps_per_pass`` takes the model's ``explain_steps`` (capped by STEP_BUDGET); Integrated Gradients
    and occlusion then forward fewer sequences per pass, and their maps stay the same to float rounding."""
    from seqattn import explain
    from seqattn.explain import feature_time_map, steps_per_pass

    t = 20
    if name == "kernels":
        from seqattn.models import build_model

        torch.manual_seed(0)
        model = build_model("kernels", "classify", {"num_features": 3, "max_len": t}).eval()
        with torch.no_grad():
            model.readout.weight.normal_(0, 0.1)  # an unfitted read-out (all zero) explains nothing
    else:
        model = tiny_model(name, "classify")
    mask = valid_mask(torch.tensor([t, t - 9, t - 3]), t)
    x = model_input("classify", 3, t) * mask.unsqueeze(-1)
    monkeypatch.setattr(model, "explain_steps", {"forward": 2 * t, "gradient": 5 * t}, raising=False)
    assert (steps_per_pass(model), steps_per_pass(model, gradient=True)) == (2 * t, 5 * t)
    small = {}
    for method in ("integrated_gradients", "occlusion"):
        small[method], calls = forwarded(model, lambda method=method: feature_time_map(model, x, mask, method))
        assert max(calls) <= (5 if method == "integrated_gradients" else 3)  # occlusion: whole batch, 1 window
    monkeypatch.setattr(model, "explain_steps", {}, raising=False)
    assert steps_per_pass(model) == steps_per_pass(model, gradient=True) == explain.STEP_BUDGET
    for method, cells in small.items():
        torch.testing.assert_close(cells, feature_time_map(model, x, mask, method), rtol=1e-5, atol=1e-7)
    monkeypatch.setattr(model, "explain_steps", {"forward": 10 * explain.STEP_BUDGET}, raising=False)
    assert steps_per_pass(model) == explain.STEP_BUDGET  # never above the memory bound


def test_occlusion_skips_windows_that_change_nothing_and_is_captums_map(any_model):
    """Occlusion runs only the windows that change a valid cell (not padding, not steps equal to the
    baseline) and gives Captum's Occlusion map, cell for cell, on sequences of different lengths (for a
    classifier also with a target class)."""
    model, task = any_model
    for target in (None, 1) if task == "classify" else (None,):
        _check_skipping_occlusion(model, task, target)


def _check_skipping_occlusion(model, task, target):
    from seqattn.explain import MAPS

    x = model_input(task, 4, 14)
    mask = valid_mask(torch.tensor([14, 9, 3, 1]), 14)
    x = torch.where(mask if x.dim() == 2 else mask[..., None], x, torch.zeros_like(x))
    if task == "classify":
        x[0, 5] = 0.0  # a step equal to the baseline
    runs = []
    real = model.forward
    for local in (True, False):
        calls = []
        model.forward = lambda xs, m, calls=calls: (calls.append(len(xs)), real(xs, m))[1]
        try:
            runs.append((MAPS["occlusion"](model, x, mask, target=target, local=local), sum(calls)))
        finally:
            model.forward = real
    (ours, ours_rows), (captum, captum_rows) = runs
    torch.testing.assert_close(ours, captum.double(), rtol=1e-5, atol=1e-6 * float(captum.abs().max()) + 1e-9)
    assert ours_rows < captum_rows  # the padded windows were not run


def test_maps_that_batch_copies_in_their_own_order_say_which_sequence_each_row_copies():
    """A wrapper with per-sequence state (here a class bias per sequence) reads ``input_rows()`` inside
    occlusion's and Shapley's passes, and Captum's layout (k copies of the batch) elsewhere: occlusion
    then gives Captum's map, though it runs copies of different sequences in one pass."""
    from seqattn.explain import MAPS
    from seqattn.models import SeqOutput
    from seqattn.models.output import input_rows

    inner = tiny_model("pooling", "classify")
    bias = torch.tensor([[2.0, -2.0], [-1.0, 1.0], [0.0, 0.5], [3.0, 0.0]])
    seen = []

    class PerSequence(torch.nn.Module):
        task, config = "classify", inner.config

        def forward(self, x, mask=None):
            rows = input_rows()
            seen.append(rows is not None)
            out = inner(x, mask)
            b = bias[rows] if rows is not None else bias.repeat(len(x) // len(bias), 1)
            return SeqOutput(out.prediction + b, out.attention, out.mask)

    model = PerSequence().eval()
    x = model_input("classify", 4, 12)
    mask = valid_mask(torch.tensor([12, 7, 3, 12]), 12)
    ours = MAPS["occlusion"](model, x, mask)
    assert any(seen)
    torch.testing.assert_close(ours, MAPS["occlusion"](model, x, mask, local=False).double(), rtol=1e-5, atol=1e-7)
    assert input_rows() is None
