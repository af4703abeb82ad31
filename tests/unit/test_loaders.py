import numpy as np
import torch
from torch.utils.data import DataLoader

from seqattn.config import DataConfig
from seqattn.data import generate_next_value
from seqattn.data.loaders import BucketLoader, NextValueStream, SequenceDataset, collate_padded


def data():
    return generate_next_value(DataConfig(num_samples=300, max_len=12, seed=0))


def test_collate_trims_to_longest_and_keeps_mask():
    d = data()
    loader = DataLoader(SequenceDataset(d.values, d.mask, d.target), batch_size=4, collate_fn=collate_padded)
    b = next(iter(loader))
    assert b.x.shape[1] == int(d.lengths[:4].max()) and b.mask.shape == b.x.shape
    assert b.index.tolist() == [0, 1, 2, 3]


def test_bucket_loader_one_length_per_batch_covers_all_rows_once():
    d = data()
    loader = BucketLoader(d.values, d.mask, d.target, batch_size=16, seed=1)
    seen = []
    for b in loader:
        assert b.mask.all()  # same length: no padding at all
        seen.extend(b.index.tolist())
    assert sorted(seen) == list(range(300))


def test_bucket_loader_epochs_are_seeded():
    d = data()
    loader = BucketLoader(d.values, d.mask, d.target, batch_size=16, seed=1)
    first = [b.index.tolist() for b in loader]
    loader.set_epoch(1)
    second = [b.index.tolist() for b in loader]
    loader.set_epoch(0)
    assert first == [b.index.tolist() for b in loader] and first != second


def test_bucket_loader_shards_for_distributed_ranks():
    d = data()
    shards = [BucketLoader(d.values, d.mask, d.target, 16, seed=1, rank=r, world=2) for r in range(2)]
    rows = [[i for b in s for i in b.index.tolist()] for s in shards]
    assert sorted(rows[0] + rows[1]) == list(range(300)) and len(rows[0]) == len(rows[1])
    for s in shards:  # DistributedSampler: a new shuffle, and a new split between ranks, every epoch
        s.set_epoch(1)
    again = [[i for b in s for i in b.index.tolist()] for s in shards]
    assert set(again[0]) != set(rows[0]) and sorted(again[0] + again[1]) == list(range(300))
    odd = [BucketLoader(d.values[:7], d.mask[:7], d.target[:7], 4, rank=r, world=2) for r in range(2)]
    assert [sum(len(b) for b in s) for s in odd] == [4, 4]  # padded to equal shares, like DistributedSampler
    val = [BucketLoader(d.values[:7], d.mask[:7], d.target[:7], 4, shuffle=False, rank=r, world=2) for r in range(2)]
    assert sorted(i for s in val for b in s for i in b.index.tolist()) == list(range(7))  # exact, no padding


def test_next_value_stream_is_fresh_per_epoch_and_reproducible():
    s = NextValueStream(DataConfig(num_samples=100, max_len=8, seed=0), batch_size=32)
    a = torch.cat([b.y for b in s])
    s.set_epoch(1)
    b = torch.cat([b.y for b in s])
    s.set_epoch(0)
    assert torch.equal(a, torch.cat([b.y for b in s])) and not torch.equal(a, b)
    assert len(s) == 4 and np.isfinite(a.numpy()).all()


def test_step_loader_gives_a_fixed_number_of_batches_per_round_and_replays_rounds():
    from seqattn.data.loaders import BucketLoader, StepLoader

    values = np.arange(10 * 4, dtype=float).reshape(10, 4)
    base = BucketLoader(values, np.ones((10, 4), bool), np.arange(10), batch_size=3, seed=1)
    steps = StepLoader(base, batches_per_round=5)  # 4 batches per epoch: rounds cross epochs
    rounds = []
    for r in range(3):
        steps.set_epoch(r)
        rounds.append([b.index.tolist() for b in steps])
    assert all(len(batches) == len(steps) == 5 for batches in rounds)
    steps.set_epoch(1)
    assert [b.index.tolist() for b in steps] == rounds[1]
    seen = [i for batches in rounds for b in batches for i in b]
    assert set(seen) == set(range(10))


def _signal_batch():
    from seqattn.data.loaders import Batch

    x = torch.randn(6, 20, 3, dtype=torch.float64) * 5 + 10
    lengths = torch.tensor([20, 20, 12, 7, 3, 1])
    mask = torch.arange(20)[None] < lengths[:, None]
    return Batch(x * mask[..., None], mask, torch.arange(6), torch.arange(6))


def test_augment_keeps_a_contiguous_crop_masks_the_rest_and_keeps_labels():
    from seqattn.data.loaders import Augment, augment_batch

    b = _signal_batch()
    out = augment_batch(b, Augment(crop=0.8, scale=0.0, noise=0.0), torch.Generator().manual_seed(0))
    lengths, kept = b.mask.sum(1), out.mask.sum(1)
    assert torch.equal(out.y, b.y) and out.x.shape == b.x.shape
    assert ((kept >= (0.8 * lengths).ceil()) & (kept <= lengths)).all()
    assert (out.x[~out.mask] == 0).all() and torch.equal(out.mask, torch.arange(20)[None] < kept[:, None])
    for i in range(6):  # the kept steps are one contiguous stretch of the original valid steps
        k, seq = int(kept[i]), b.x[i, : int(lengths[i])]
        starts = [s for s in range(int(lengths[i]) - k + 1) if torch.equal(seq[s : s + k], out.x[i, :k])]
        assert starts


def test_augment_is_reproducible_and_the_identity_when_switched_off():
    from seqattn.data.loaders import Augment, AugmentLoader, augment_batch

    b = _signal_batch()
    same = augment_batch(b, Augment(crop=1.0, scale=0.0, noise=0.0), torch.Generator().manual_seed(3))
    assert torch.equal(same.x, b.x) and torch.equal(same.mask, b.mask)
    loader = AugmentLoader([b, b], Augment(crop=0.8), seed=4)
    first, second = [x.x for x in loader], [x.x for x in loader]
    assert all(torch.equal(p, q) for p, q in zip(first, second, strict=True))
    assert not torch.equal(first[0], first[1])  # each batch draws its own changes
    assert all(torch.isfinite(x).all() for x in first)
