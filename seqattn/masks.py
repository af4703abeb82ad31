"""The one mask convention: boolean ``valid_mask`` of shape (B, T), True = real step.

Dimension legend: B batch, T time, H heads.
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import BadInput


def valid_mask(lengths, max_len: int | None = None):
    """Boolean (B, T) mask, True where ``t < lengths[b]``: the one place seqattn builds a mask from
    lengths. A NumPy ``lengths`` array gives a NumPy mask (the generators), anything else a tensor.

    >>> valid_mask(torch.tensor([2, 3]), 4)
    tensor([[ True,  True, False, False],
            [ True,  True,  True, False]])
    """
    if isinstance(lengths, np.ndarray):
        t = int(lengths.max(initial=0)) if max_len is None else max_len
        return np.arange(t)[None, :] < lengths[:, None]
    lengths = torch.as_tensor(lengths)
    t = int(lengths.max()) if max_len is None else max_len
    return torch.arange(t, device=lengths.device) < lengths.unsqueeze(-1)


def lengths_from_mask(mask: torch.Tensor) -> torch.Tensor:
    """Number of valid steps per row of a (B, T) mask, as int64."""
    return mask.sum(-1, dtype=torch.int64)


def check_mask(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Return a boolean (B, T) mask for input ``x`` of shape (B, T) or (B, T, D); all-True when None."""
    b, t = x.shape[0], x.shape[1]
    if mask is None:
        return torch.ones(b, t, dtype=torch.bool, device=x.device)
    if mask.shape != (b, t):
        raise BadInput(f"mask has shape {tuple(mask.shape)}, expected {(b, t)} to match x")
    return mask.to(torch.bool)


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax over valid positions: exactly 0 where ``mask`` is False, and an all-masked row gives zeros.

    Masked scores are filled with the dtype's most negative value rather than -1e9, which overflows
    in float16/bfloat16.
    """
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=dim)
    # An all-masked row softmaxes to uniform over padding: zero it (and any NaN) explicitly.
    return weights.masked_fill(~mask, 0.0)


def sliding_windows(t: int, window: int, stride: int, device=None):
    """The windows Captum's ``Occlusion`` slides over ``t`` steps: P = ⌈(t − window) / stride⌉ + 1 windows
    starting every ``stride`` steps, the last cut at ``t``. Returns their starts and ends ``(P,)`` and the
    steps each covers ``(P, t)``.

    >>> starts, ends, covered = sliding_windows(6, 3, 2)
    >>> starts.tolist(), ends.tolist(), covered[2].tolist()
    ([0, 2, 4], [3, 5, 6], [False, False, False, False, True, True])
    """
    starts = torch.arange(-(-(t - window) // stride) + 1, device=device) * stride
    ends = (starts + window).clamp(max=t)
    steps = torch.arange(t, device=device)
    return starts, ends, (steps >= starts[:, None]) & (steps < ends[:, None])
