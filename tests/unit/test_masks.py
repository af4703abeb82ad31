import torch

from seqattn.masks import check_mask, lengths_from_mask, masked_softmax, valid_mask


def test_valid_mask_and_lengths_round_trip():
    lengths = torch.tensor([3, 1, 4])
    m = valid_mask(lengths)
    assert m.shape == (3, 4) and torch.equal(lengths_from_mask(m), lengths)
    assert valid_mask(lengths, 6).shape == (3, 6)


def test_masked_softmax_zero_on_padding_sums_to_one_and_all_masked_row_is_zero():
    scores = torch.randn(3, 5)
    mask = torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=torch.bool)
    w = masked_softmax(scores, mask)
    assert torch.all(w[~mask] == 0)
    torch.testing.assert_close(w[:2].sum(-1), torch.ones(2))
    assert torch.all(w[2] == 0) and not torch.isnan(w).any()


def test_masked_softmax_safe_in_half_precision():
    w = masked_softmax(torch.randn(2, 4, dtype=torch.bfloat16), torch.tensor([[1, 0, 1, 0], [0, 0, 0, 0]]).bool())
    assert not torch.isnan(w).any() and float(w[0].sum()) == 1.0


def test_check_mask():
    x = torch.zeros(2, 3, 4)
    assert check_mask(x, None).all()
    try:
        check_mask(x, torch.ones(2, 4, dtype=torch.bool))
    except ValueError as e:
        assert "expected (2, 3)" in str(e)
    else:
        raise AssertionError("mismatched mask accepted")
