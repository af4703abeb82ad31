"""Random-kernel classifier: MiniRocket's fixed dilated kernels, soft proportion-of-positive-values pooling,
a ridge read-out fitted in closed form, and a class activation map as its free influence map.

Dimension legend: B batch, T time, D features, K classes, F pooled features, J kernels (84), N biases of
one (kernel, dilation).

The encoder is MiniRocket (Dempster, Schmidt & Webb 2021): the 84 length-9 kernels with weights −1 and
three 2s, each at several dilations (up to (max_len − 1) / 8) and several biases taken from quantiles of
the convolution output of training sequences; half the (kernel, dilation) pairs pool over every valid step
(zero padding), half only where the whole kernel lies inside the sequence. A multivariate input sums the
convolutions of a random subset of its features per (kernel, dilation). Pooling is the proportion of
positive values, made smooth: ``φ = sigmoid((c − b) / τ)`` with τ a thousandth of the 10–90 % spread of
the convolution output the bias came from, so gradients (Integrated Gradients, grad × input) are defined
while the pooled value stays MiniRocket's count. Softer indicators cost accuracy (one seed each, test
accuracy on GunPoint / ItalyPowerDemand / OSULeaf / ACSF1: a tenth of the spread 1.000 / 0.965 / 0.946 /
0.850, a hundredth 0.980 / 0.926 / 0.955 / 0.900, a thousandth 0.987 / 0.964 / 0.942 / 0.910).

The read-out is linear in the pooled features, so the logit of class k is exactly a sum over steps:
``logit_k = bias_k + Σ_t e_{k,t}``, ``e_{k,t} = (1/L) Σ_f W_{k,f} (φ_{f,t} − μ_f)`` (μ: the training
mean of the pooled features). This is the class activation map (Zhou et al. 2016; Wang et al. 2017 for
time series). ``SeqOutput.attention`` is its share per step for the predicted class against the mean of
the classes, |e_{k*,t} − mean_j e_{j,t}| normalised over valid steps: no extra pass, faithful by
construction (a step's share of the margin), 0 on padding. Each step's φ reads the ±4·dilation steps around it.

Parameters are not trained by gradient: :func:`fit_kernels` draws the biases from training sequences and
fits the read-out by ridge regression with leave-one-out choice of the penalty (scikit-learn
``RidgeClassifierCV``), then a temperature on the leave-one-out decision values so the softmax gives
calibrated probabilities.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BadInput
from ..masks import check_mask, sliding_windows
from .heads import check_input_scaling, register_input_scaling
from .output import SeqOutput
from .registry import register_model

KERNEL_LENGTH = 9
INDICES = tuple(itertools.combinations(range(KERNEL_LENGTH), 3))  # the 84 kernels: where the 2s sit
# floats of φ (per dilation, on average) held at once: the batch is processed in slices. Small enough for the
# CPU's caches: with it, a smaller pass inside an influence map gains little (0.93–1.28×, benchmarks/bench_passes.py)
ELEMENT_BUDGET = 1 << 21


@dataclass(frozen=True)
class KernelConfig:
    num_features: int = 1  # D
    num_classes: int = 2  # K
    max_len: int = 64  # longest training sequence: sets the dilations (longer inputs are accepted)
    features: int = 9_996  # pooled features F (a multiple of 84 is used: 84 × (features // 84))
    max_dilations: int = 32  # per kernel
    seed: int = 0  # draws the feature subsets of multivariate inputs
    input_mean: tuple[float, ...] = ()  # per-feature scaling applied in forward; () = none
    input_std: tuple[float, ...] = ()


def dilation_plan(max_len: int, features: int, max_dilations: int) -> tuple[list[int], list[int]]:
    """MiniRocket's dilations and biases per (kernel, dilation): exponentially spaced dilations up to
    (max_len − 1) / 8, the features spread over them."""
    per_kernel = max(1, features // len(INDICES))
    true_max = min(per_kernel, max_dilations)
    multiplier = per_kernel / true_max
    top = math.log2(max(1.0, (max_len - 1) / (KERNEL_LENGTH - 1)))
    raw = np.floor(np.logspace(0, top, true_max, base=2)).astype(np.int64)
    dilations, counts = np.unique(raw, return_counts=True)
    per_dilation = (counts * multiplier).astype(np.int64)
    per_dilation[: per_kernel - per_dilation.sum()] += 1
    return [int(d) for d in dilations], [int(n) for n in per_dilation]


def _kernel_weights() -> torch.Tensor:
    """(J, 9): −1 everywhere, 2 at each kernel's three indices. Built in numpy: a model file is first
    counted on the meta device (checkpoint.parameter_count), where indexing torch tensors imports sympy."""
    w = -np.ones((len(INDICES), KERNEL_LENGTH), dtype=np.float32)
    for j, idx in enumerate(INDICES):
        w[j, list(idx)] = 2.0
    return torch.tensor(w)


@register_model("kernels", KernelConfig, tasks=("classify",))
class KernelClassifier(nn.Module):
    """Classifier; ``forward(x [B, T, D], mask [B, T])`` → SeqOutput with logits ``[B, K]`` and the class
    activation share per step as ``attention``. Untrained (all-zero read-out) until :func:`fit_kernels`.

    >>> model = KernelClassifier(KernelConfig(num_features=2, max_len=30, features=168))
    >>> out = model(torch.randn(3, 30, 2))
    >>> tuple(out.prediction.shape), tuple(out.attention.shape)
    ((3, 2), (3, 30))
    """

    task = "classify"

    def __init__(self, config: KernelConfig = KernelConfig()):
        super().__init__()
        _check_config(config)
        self.config = config
        self.dilations, self.per_dilation = dilation_plan(config.max_len, config.features, config.max_dilations)
        j, d = len(INDICES), config.num_features
        total = j * sum(self.per_dilation)
        self.register_buffer("kernel_weight", _kernel_weights(), persistent=False)
        self.register_buffer("channels", _channel_subsets(len(self.dilations), j, d, config.seed),
                             persistent=False)  # (dilations, J, D) 0/1: features summed per (kernel, dilation)
        self.register_buffer("bias", torch.zeros(total))  # (F,) thresholds, (dilation, kernel, bias) order
        self.register_buffer("tau", torch.ones(total))  # (F,) softness of each indicator
        self.register_buffer("center", torch.zeros(total))  # (F,) training mean of the pooled features
        self.readout = nn.Linear(total, config.num_classes)
        nn.init.zeros_(self.readout.weight)
        nn.init.zeros_(self.readout.bias)
        register_input_scaling(self, config)

    @property
    def num_pooled(self) -> int:
        return self.bias.numel()

    def rows_per_pass(self, length: int) -> int:
        """Sequences of ``length`` steps per pass so that one dilation's φ holds at most ELEMENT_BUDGET floats."""
        return max(1, ELEMENT_BUDGET // max(1, self.num_pooled // len(self.dilations) * length))

    def _slices(self):
        """(dilation index, dilation, slice of F, biases per kernel) for each dilation."""
        start, j = 0, len(INDICES)
        for i, (dil, n) in enumerate(zip(self.dilations, self.per_dilation, strict=True)):
            yield i, dil, slice(start, start + j * n), n
            start += j * n

    def convolve(self, x: torch.Tensor, i: int, dil: int, padded: bool = True) -> torch.Tensor:
        """Scaled, masked input ``(B, D, T)`` → the 84 kernels' outputs at dilation ``dil``: ``(B, J, T)``
        zero-padded (``padded``), or ``(B, J, T − 8·dil)``, only where the whole kernel lies inside ``x``."""
        b, d, _ = x.shape
        w = self.kernel_weight.to(x.dtype).unsqueeze(1).repeat(d, 1, 1)  # (D·J, 1, 9)
        pad = dil * (KERNEL_LENGTH // 2) if padded else 0
        c = F.conv1d(x, w, padding=pad, dilation=dil, groups=d)  # (B, D·J, T')
        c = c.view(b, d, len(INDICES), c.shape[-1])
        return torch.einsum("bdjt,jd->bjt", c, self.channels[i].to(x.dtype))

    def _inputs(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(-1) if x.dim() == 2 else x
        x = (x - self.input_mean.to(x.dtype)) / self.input_std.to(x.dtype)
        return x.transpose(1, 2) * mask.unsqueeze(1).to(x.dtype)  # (B, D, T), zero on padding

    def _pool_masks(self, mask: torch.Tensor, dil: int) -> torch.Tensor:
        """(B, 2, T): pooling steps of padded (every valid step) and unpadded (whole kernel inside) pairs;
        a sequence too short for any unpadded step pools over every valid step."""
        t = torch.arange(mask.shape[1], device=mask.device)
        lengths = mask.sum(1, keepdim=True)
        inside = mask & (t >= 4 * dil) & (t + 4 * dil < lengths)
        inside = torch.where(inside.any(1, keepdim=True), inside, mask)
        return torch.stack([mask, inside], 1)

    def step_features(self, x: torch.Tensor, mask: torch.Tensor, i: int, dil: int, sl: slice, n: int):
        """φ of dilation ``i`` ``(J, N, B, T)`` and the two pooling weights ``(2, B, T)``: 1/L over the
        pooling steps of the padded (even) and unpadded (odd) kernel pairs, as MiniRocket alternates them;
        0 elsewhere."""
        phi = self._indicators(self.convolve(x, i, dil).transpose(0, 1), sl, n)
        pools = self._pool_masks(mask, dil).to(x.dtype)  # (B, 2, T)
        return phi, (pools / pools.sum(-1, keepdim=True).clamp(min=1)).transpose(0, 1)

    def _indicators(self, c: torch.Tensor, sl: slice, n: int) -> torch.Tensor:
        """φ = sigmoid((c − b) / τ) of the features ``sl``: convolution outputs ``(J, …)`` → ``(J, N, …)``."""
        c = c.contiguous().unsqueeze(1)
        shape = (-1, n) + (1,) * (c.dim() - 2)
        inverse = (1.0 / self.tau[sl]).view(shape).to(c.dtype)
        return torch.addcmul(-self.bias[sl].view(shape).to(c.dtype) * inverse, c, inverse).sigmoid_()

    def _weighted(self, phi: torch.Tensor, pools: torch.Tensor, sl: slice, n: int) -> torch.Tensor:
        """Σ_f W_{k,f} (φ_f − μ_f) · pool_f over the features ``sl``: φ ``(J, N, …)`` and the pooling weights
        ``(2, …)`` → class evidence ``(K, …)``. The kernels of one parity share their pooling weights, so the
        read-out sums each parity's evidence before weighting it (kernel 2q + parity)."""
        k, j = self.config.num_classes, len(INDICES)
        w = self.readout.weight[:, sl].view(k, -1, n).transpose(0, 1).to(phi.dtype)  # (J, K, N)
        summed = torch.bmm(w, phi.flatten(2)).view(j // 2, 2, k, -1).sum(0)  # (parity, K, rows): Σ W φ
        offset = (w @ self.center[sl].view(-1, n, 1).to(phi.dtype)).view(j // 2, 2, k, 1).sum(0)  # Σ W μ
        return ((summed - offset) * pools.reshape(2, 1, -1)).sum(0).view(k, *pools.shape[1:])

    def pooled(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The pooled features ``(B, F)``: each indicator's mean over its pooling steps."""
        xs = self._inputs(x, mask)
        parity = torch.arange(len(INDICES), device=xs.device) % 2
        out = []
        for i, dil, sl, n in self._slices():
            phi, pools = self.step_features(xs, mask, i, dil, sl, n)
            out.append((phi * pools[parity].unsqueeze(1)).sum(-1).permute(2, 0, 1).flatten(1))  # (B, J·N)
        return torch.cat(out, 1)

    def _evidence(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Class evidence per step ``(B, K, T)``: e_{k,t} = Σ_f W_{k,f} (φ_{f,t} − μ_f) · pool_{f,t}, so that
        Σ_t e_{k,t} = W_k·(pooled − μ). The kernels of one parity share their pooling weights, so the read-out
        sums each parity's evidence before weighting it (kernel 2q + parity)."""
        xs = self._inputs(x, mask)
        evidence = xs.new_zeros(self.config.num_classes, xs.shape[0], xs.shape[2])
        for i, dil, sl, n in self._slices():
            evidence = evidence + self._weighted(*self.step_features(xs, mask, i, dil, sl, n), sl, n)
        return evidence.transpose(0, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> SeqOutput:
        if x.dim() == 2:
            x = x.unsqueeze(-1)
        if x.shape[-1] != self.config.num_features:
            raise BadInput(f"model expects {self.config.num_features} features, got {x.shape[-1]}")
        mask = check_mask(x, mask)
        x = x.to(self.readout.weight.dtype)
        rows = self.rows_per_pass(x.shape[1])
        parts = [self._evidence(xb, mb) for xb, mb in zip(x.split(rows), mask.split(rows), strict=True)]
        evidence = torch.cat(parts) if parts else x.new_zeros(0, self.config.num_classes, x.shape[1])
        logits = self._logits(evidence)
        return SeqOutput(logits, class_activation_share(evidence, logits, mask), mask)

    def _logits(self, evidence: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, K)`` from the class evidence per step ``(B, K, T)``."""
        return evidence.sum(-1) + self.readout.bias + self.readout.weight @ self.center.to(evidence.dtype)

    def occlusion_logits(self, x: torch.Tensor, mask: torch.Tensor | None, base: torch.Tensor, window: int,
                         stride: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits of ``x`` ``(B, K)`` and of each occluded copy ``(B, P, K)``: window p, the steps
        [p·stride, p·stride + window) cut at T, replaced by ``base``, with P = ⌈(T − window) / stride⌉ + 1
        windows as Captum's ``Occlusion`` slides them. The same logits as P forward passes, to float rounding,
        for a fraction of their cost: φ at dilation d reads the ±4·d steps around it, so a window changes φ,
        and the class evidence, only on the steps within 4·d of it. Only those are recomputed, from the
        convolution outputs of ``x`` plus the convolution of the window's change (the convolution is linear).
        A window that changes no valid cell keeps the logits of ``x`` exactly."""
        x, base = (v.unsqueeze(-1) if v.dim() == 2 else v for v in (x, base))
        mask = check_mask(x, mask)
        x, base = x.to(self.readout.weight.dtype), base.to(self.readout.weight.dtype)
        t = x.shape[1]
        if not 1 <= stride <= window <= t:
            raise BadInput(f"occlusion needs 1 <= stride ({stride}) <= window ({window}) <= steps ({t})")
        windows = sliding_windows(t, window, stride, x.device)
        rows = self.rows_per_pass(t)
        parts = [self._occlusion_change(xb, bb, mb, *windows)
                 for xb, bb, mb in zip(x.split(rows), base.split(rows), mask.split(rows), strict=True)]
        if not parts:
            empty = x.new_zeros(0, self.config.num_classes)
            return empty, empty.unsqueeze(1).expand(0, len(windows[0]), -1)
        evidence, change = (torch.cat(v) for v in zip(*parts, strict=True))
        logits = self._logits(evidence)
        return logits, logits.unsqueeze(1) + change

    def _occlusion_change(self, x, base, mask, starts, ends, covered) -> tuple[torch.Tensor, torch.Tensor]:
        """The class evidence per step of ``x`` ``(B, K, T)`` and the change of the logits ``(B, P, K)`` when
        each window [starts_p, ends_p) (covering ``covered`` ``(P, T)``) of ``x`` is ``base``.

        At dilation d a window's change reaches the convolution outputs at s + (k − 4)·d + u (tap k, window
        step u): where d ≥ the window's width, 9 disjoint copies of the window, each reached by one tap only
        (its change is that tap's weight times the window's change), else the contiguous steps within 4·d of
        the window (its change convolved). Only those steps' φ and evidence are recomputed."""
        xs = self._inputs(x, mask)
        step = self._inputs(base, mask) - xs  # (B, D, T): the change a window makes where it covers a step
        b, d, t = xs.shape
        p, window = len(starts), int((ends - starts).max())
        k, j = self.config.num_classes, len(INDICES)
        dev, dtype = x.device, xs.dtype
        moved = (step != 0).any(1)  # (B, T)
        row, pos = torch.nonzero((moved[:, None, :] & covered).any(-1), as_tuple=True)  # windows that change x
        change = xs.new_zeros(len(row), k)
        total = xs.new_zeros(k, b * t)  # the evidence of x, over every dilation
        flat_step = step.transpose(0, 1).reshape(d, b * t)
        taps = self.kernel_weight.to(dtype).flip(1)  # (J, 9): the weight of tap 8 − k
        u = torch.arange(window, device=dev)
        for i, dil, sl, n in self._slices():
            phi, pools = self.step_features(xs, mask, i, dil, sl, n)
            evidence = self._weighted(phi, pools, sl, n).reshape(k, b * t)
            total = total + evidence
            del phi
            flat_c = self.convolve(xs, i, dil).transpose(0, 1).reshape(j, b * t)
            flat_pools = pools.reshape(2, b * t)
            sparse = dil >= window
            if sparse:  # 9 copies of the window, one tap each
                rel = ((torch.arange(9, device=dev)[:, None] - 4) * dil + u).flatten()  # (9·w,)
            else:  # the steps within 4·dil of the window, as a contiguous stretch inside [0, T)
                reach = min(window + 8 * dil, t)
                first = (starts - 4 * dil).clamp(0, t - reach)  # (P,)
                halo = torch.arange(reach + 8 * dil, device=dev) - 4 * dil  # the inputs those steps read
            size = len(rel) if sparse else reach
            chunk = max(1, ELEMENT_BUDGET // (j * n * size))
            for lo in range(0, len(row), chunk):
                r, q = row[lo : lo + chunk, None], pos[lo : lo + chunk, None]
                m = len(r)
                if sparse:
                    at = starts[q] + rel  # (m, 9·w)
                    valid = ((at >= 0) & (at < t)).to(dtype)
                    src = starts[q] + u  # (m, w): the window's steps
                    own = (src < ends[q]).to(dtype)
                    delta = flat_step[:, (r * t + src.clamp(max=t - 1)).flatten()].view(d, m, window) * own
                    summed = torch.einsum("dmu,jd->jmu", delta, self.channels[i].to(dtype))  # (J, m, w)
                    shift = (taps[:, :, None, None] * summed[:, None]).permute(0, 2, 1, 3).reshape(j, m, -1)
                else:
                    at = first[q] + torch.arange(reach, device=dev)  # (m, reach)
                    valid = torch.ones((), dtype=dtype, device=dev)
                    src = first[q] + halo  # (m, reach + 8·dil)
                    own = ((src >= starts[q]) & (src < ends[q])).to(dtype)
                    delta = flat_step[:, (r * t + src.clamp(0, t - 1)).flatten()].view(d, m, -1) * own
                    shift = self.convolve(delta.transpose(0, 1), i, dil, padded=False).transpose(0, 1)
                index = (r * t + at.clamp(0, t - 1)).flatten()
                shifted = flat_c[:, index].view(j, m, -1) + shift  # (J, m, steps): the occluded outputs
                pool_at = flat_pools[:, index].view(2, m, -1) * valid
                old = evidence[:, index].view(k, m, -1) * valid
                new_evidence = self._weighted(self._indicators(shifted, sl, n), pool_at, sl, n)
                change[lo : lo + m] += (new_evidence - old).sum(-1).T
        out = xs.new_zeros(b, p, k)
        out[row, pos] = change
        return total.view(k, b, t).transpose(0, 1), out


def class_activation_share(evidence: torch.Tensor, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T): |e_{k*,t} − mean_j e_{j,t}| for the predicted class k*, normalised over valid steps (uniform
    over them where the margin's evidence is exactly zero everywhere; all zero for an all-padding row)."""
    top = logits.detach().argmax(-1)
    margin = evidence.gather(1, top[:, None, None].expand(-1, 1, evidence.shape[-1])).squeeze(1)
    share = (margin - evidence.mean(1)).abs() * mask.to(evidence.dtype)
    total = share.sum(-1, keepdim=True)
    even = mask.to(evidence.dtype) / mask.sum(-1, keepdim=True).clamp(min=1)
    return torch.where(total > 0, share / total.clamp(min=torch.finfo(share.dtype).tiny), even)


def _channel_subsets(dilations: int, kernels: int, d: int, seed: int) -> torch.Tensor:
    """(dilations, J, D) 0/1: MiniRocket's random feature subsets (size 2^U(0, log2(min(D, 9) + 1)), floored)."""
    out = np.zeros((dilations, kernels, d), dtype=np.float32)
    if d == 1:
        return torch.tensor(out + 1)
    rng = np.random.default_rng(seed)
    top = math.log2(min(d, KERNEL_LENGTH) + 1)
    for i in range(dilations):
        for j in range(kernels):
            size = int(2 ** rng.uniform(0, top))
            out[i, j, rng.choice(d, size=max(1, min(d, size)), replace=False)] = 1.0
    return torch.tensor(out)


def _check_config(config: KernelConfig) -> None:
    if config.num_classes < 2:
        raise BadInput(f"num_classes must be >= 2, got {config.num_classes}")
    if config.features < len(INDICES):
        raise BadInput(f"features must be >= {len(INDICES)}, got {config.features}")
    if config.max_len < 1 or config.max_dilations < 1:
        raise BadInput(f"max_len and max_dilations must be >= 1, got {config.max_len} and {config.max_dilations}")
    check_input_scaling(config)


# ---- fitting: biases from training sequences, ridge read-out, calibrated temperature ----------------------

def _quantiles(n: int) -> np.ndarray:
    """MiniRocket's low-discrepancy quantiles: frac(i·golden ratio), i = 1..n."""
    return (np.arange(1, n + 1) * ((math.sqrt(5) + 1) / 2)) % 1


@torch.no_grad()
def fit_biases(model: KernelClassifier, x: torch.Tensor, mask: torch.Tensor, seed: int = 0) -> None:
    """Draw every (kernel, dilation)'s biases from quantiles of its output on one random training sequence
    (over that sequence's valid steps), and τ from the spread of that output."""
    rng = np.random.default_rng(seed)
    quantiles = torch.as_tensor(_quantiles(model.num_pooled), dtype=torch.float64)
    j = len(INDICES)
    for i, dil, sl, n in model._slices():
        rows = torch.as_tensor(rng.integers(0, len(x), size=j))
        xs = model._inputs(x[rows].double(), mask[rows])
        c = model.convolve(xs, i, dil)  # (J, J, T): row r is kernel r's example
        c = c[torch.arange(j), torch.arange(j)]  # (J, T)
        valid = mask[rows]
        q = quantiles[sl].view(j, n)
        for r in range(j):
            values = c[r][valid[r]]
            model.bias[sl].view(j, n)[r] = torch.quantile(values, q[r]).to(model.bias.dtype)
            spread = torch.quantile(values, torch.tensor([0.1, 0.9], dtype=values.dtype))
            model.tau[sl].view(j, n)[r] = float(max((spread[1] - spread[0]) / 1000, 1e-6))


def pooled_features(model: KernelClassifier, x: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    """The pooled features ``[N, F]`` (float64) of raw inputs ``x`` ``[N, T, D]``, in slices that bound memory."""
    rows = model.rows_per_pass(x.shape[1])
    with torch.no_grad():
        return torch.cat([model.pooled(xb, mb).double() for xb, mb in zip(x.split(rows), mask.split(rows),
                                                                            strict=True)]).numpy()


def fit_kernels(model: KernelClassifier, values: np.ndarray, mask: np.ndarray, y: np.ndarray, seed: int = 0,
                alphas=np.logspace(-3, 3, 10)) -> dict:
    """Fit ``model`` on training ``values`` ``[N, T(, D)]``, ``mask``, class codes ``y``: biases, then the
    ridge read-out (standardised features, penalty chosen by leave-one-out error), then a softmax temperature
    fitted on the leave-one-out decision values. Returns ``{"alpha", "temperature", "loo_accuracy"}``."""
    x = torch.as_tensor(values, dtype=torch.float32)
    x = x if x.dim() == 3 else x.unsqueeze(-1)
    m = torch.as_tensor(mask, dtype=torch.bool)
    fit_biases(model, x, m, seed)
    z = pooled_features(model, x, m)
    mu, sigma = z.mean(0), z.std(0)
    sigma = np.where(sigma > 1e-8, sigma, 1.0)
    k = model.config.num_classes
    y = np.asarray(y, dtype=np.int64)
    present = np.unique(y)
    codes = np.searchsorted(present, y)
    targets = -np.ones((len(y), len(present)))  # one-vs-rest ±1 (one column when two classes are present)
    targets[np.arange(len(y)), codes] = 1.0
    if len(present) == 2:
        targets = targets[:, 1:]
    alpha, coef, intercept, loo = ridge_loo((z - mu) / sigma, targets, alphas)
    coef = coef / sigma  # on the raw pooled features
    weight, bias, loo_logits = _as_logits(coef, intercept - coef @ mu, loo, present, k)
    temperature = _temperature(loo_logits, codes)
    with torch.no_grad():
        model.readout.weight.copy_(torch.as_tensor(weight * temperature))
        model.readout.bias.copy_(torch.as_tensor(bias * temperature))
        model.center.copy_(torch.as_tensor(mu))
    return {"alpha": alpha, "temperature": float(temperature),
            "loo_accuracy": float((loo_logits.argmax(1) == codes).mean())}


def ridge_loo(z: np.ndarray, targets: np.ndarray, alphas) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Ridge regression with an intercept, penalty chosen by the exact leave-one-out squared error (as
    scikit-learn's ``RidgeClassifierCV``), through one eigendecomposition of the N × N Gram matrix.

    Returns ``(alpha, coef [C, F], intercept [C], leave-one-out predictions [N, C])``."""
    zc, tc = z - z.mean(0), targets - targets.mean(0)
    eigval, eigvec = np.linalg.eigh(zc @ zc.T)
    eigval = np.clip(eigval, 0, None)
    qt = eigvec.T @ tc  # (N, C)
    best = None
    for alpha in alphas:
        shrink = eigval / (eigval + alpha)
        fitted = eigvec @ (shrink[:, None] * qt) + targets.mean(0)
        hat = (eigvec ** 2) @ shrink + 1.0 / len(z)  # diagonal of the hat matrix, intercept included
        loo = targets - (targets - fitted) / (1.0 - hat)[:, None]
        error = float(((loo - targets) ** 2).mean())
        if best is None or error < best[0]:
            best = (error, float(alpha), loo)
    _, alpha, loo = best
    dual = eigvec @ (qt / (eigval + alpha)[:, None])  # (N, C): coef = zcᵀ · dual
    coef = (zc.T @ dual).T
    return alpha, coef, targets.mean(0) - coef @ z.mean(0), loo


def _as_logits(coef, intercept, loo, present, k):
    """Ridge's decision functions as K logit rows (a binary ridge's one function d becomes (−d/2, d/2)); a
    class absent from the training rows gets no weight and a constant logit 10 below the lowest intercept."""
    if coef.shape[0] == 1:  # two classes present
        coef = np.concatenate([-coef / 2, coef / 2])
        intercept = np.concatenate([-intercept / 2, intercept / 2])
        loo = np.concatenate([-loo / 2, loo / 2], 1)
    weight = np.zeros((k, coef.shape[1]))
    bias = np.full(k, float(np.min(intercept)) - 10.0)
    weight[present], bias[present] = coef, intercept
    return weight, bias, loo


def _temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The scale s minimising the log-loss of softmax(s · logits) against labels smoothed by 1 / (N + 1)
    (golden-section search on log s). Without the smoothing, leave-one-out decisions that separate the
    classes send s to its bound and the probabilities to exactly 1 in float32, where no perturbation or
    gradient map can see anything move; with it, N sequences never claim more certainty than about 1 − 1/N."""
    z = torch.as_tensor(logits, dtype=torch.float64)
    target = torch.as_tensor(y)
    smoothing = 1.0 / (len(y) + 1)

    def loss(log_s: float) -> float:
        return float(F.cross_entropy(z * math.exp(log_s), target, label_smoothing=smoothing))

    lo, hi = math.log(0.01), math.log(1000.0)
    g = (math.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    for _ in range(60):
        if loss(a) < loss(b):
            hi, b = b, a
            a = hi - g * (hi - lo)
        else:
            lo, a = a, b
            b = lo + g * (hi - lo)
    return math.exp((lo + hi) / 2)
