"""Scale-free inputs and closed-form candidate forecasts for the next-value models.

Every sequence is normalised by its own last value and mean absolute step (in float64), so 2, 4, 6 and
2000, 4000, 6000 look the same to the network. In those units the module computes K classical one-step
forecasts — naive, last step, three-point quadratic, least-squares line and parabola, and AR(1)–AR(3)
with intercept fitted to the sequence itself (ridge, batched) — plus each rule's in-sample error. The
network's head mixes them and adds a bounded correction; linear, quadratic, exponential and pure or
damped sinusoids are exact under one of the rules, so the learned part only has to choose.

Everything after the normalisation works in z units, so the forecast is shift-equivariant and positively
1-homogeneous, and its gradient is an exact recipe (``seqattn.influence``): Σ_t ∂pred/∂x_t = 1 and
Σ_t x_t·∂pred/∂x_t = pred (the default "rules" recipe differentiates it inside :func:`frozen_rules`, with
the data-chosen coefficients held). For that gradient to be finite and readable the module is smooth where
it used to have a square root of zero (exact fits, agreeing candidates), ridges the AR fits in proportion to their
residual (exact fits stay exact, near-collinear ones stay well-conditioned) and never fits an AR order the
sequence cannot determine.

Dimension legend: B batch, T time, K candidate rules.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar

import torch

CANDIDATES = ("naive", "last_step", "quadratic3", "ls_line", "ls_parabola", "ar1", "ar2", "ar3")
K = len(CANDIDATES)
NUM_STEP_FEATURES = 3
NUM_CANDIDATE_FEATURES = 3 * K + 2
_CLAMP = 64.0  # candidate forecasts are clipped to this many mean steps from the last value
_TINY = 1e-12  # smoothing of square roots at 0, in normalised units (scale-free, so exactness is kept)
AR_PENALTY = 1.0  # ridge on the AR lag coefficients, relative to an unpenalised fit's residual
ENVELOPE = 3.0  # a forecast stays within this many input ranges of the input's min and max
EVIDENCE = 1.0  # gate prior: + EVIDENCE · (−log in-sample error) for every rule fitted with ≥ 1 spare row

# Inside `with frozen_rules():` every coefficient the forecast chose from the data (the gate over the rules,
# the correction's coefficient relative to the candidates' spread, the AR lag coefficients) is held fixed
# for autograd: the forecast's value is unchanged and its gradient is that of the rules as chosen ("rules"
# recipe, seqattn.influence). Scoped to the block and the current thread/task, like
# heads.attention_override: a forward run in another thread inside the block is not frozen.
_FROZEN: ContextVar[bool] = ContextVar("seqattn_frozen_rules", default=False)


@contextlib.contextmanager
def frozen_rules():
    """Inside the block, the next-value forecast's data-chosen coefficients carry no gradient."""
    token = _FROZEN.set(True)
    try:
        yield
    finally:
        _FROZEN.reset(token)


RECIPES = ("rules", "gradient")  # seqattn.influence's recipes; "rules" runs inside frozen_rules()


def check_recipe(method: str) -> str:
    """``method`` if it names a recipe, else a ValueError listing them."""
    if method not in RECIPES:
        raise ValueError(f"recipe method must be one of {', '.join(RECIPES)}; got {method!r}")
    return method


def rules_frozen() -> bool:
    """True inside a :func:`frozen_rules` block."""
    return _FROZEN.get()


def normalise(x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return ``(z, last, scale)``: z = (x − last) / scale on valid steps (0 on padding), float64.

    ``scale`` is the mean absolute first difference (plus a tiny floor so constant sequences stay exact).
    """
    x = x.to(torch.float64) * mask
    lengths = mask.sum(1)
    last = x.gather(1, (lengths - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
    pair = mask[:, 1:] & mask[:, :-1]
    step = (x[:, 1:] - x[:, :-1]).abs() * pair
    scale = step.sum(1) / pair.sum(1).clamp(min=1)
    # the floor is 1-homogeneous (no absolute term that a 1e-6-scale input would feel), so Σ_t x_t·∂pred/∂x_t
    # = pred holds at every scale; 1e-300 only keeps an all-zero sequence finite (z = 0 there)
    scale = scale + 1e-9 * last.abs() + 1e-300
    z = (x - last.unsqueeze(1)) / scale.unsqueeze(1) * mask
    return z, last, scale


def step_features(z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-step network input ``[B, T, 3]``: level, first difference, steps-from-the-end (0 on padding)."""
    dz = torch.zeros_like(z)
    dz[:, 1:] = (z[:, 1:] - z[:, :-1]) * (mask[:, 1:] & mask[:, :-1])
    lengths = mask.sum(1, keepdim=True)
    t = torch.arange(z.shape[1], device=z.device).unsqueeze(0)
    from_end = ((lengths - 1 - t).clamp(min=0) / 16.0) * mask
    return torch.stack([z / 4.0, dz, from_end.to(z.dtype)], -1)


def envelope(z: torch.Tensor, mask: torch.Tensor, width: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(low, high)`` [B]: the input's min and max over valid steps, widened by ``width`` input ranges."""
    big = torch.finfo(z.dtype).max
    high = z.masked_fill(~mask, -big).amax(1)
    low = z.masked_fill(~mask, big).amin(1)
    span = (high - low) * (ENVELOPE if width is None else width)
    return low - span, high + span


def _lagged(z: torch.Tensor, k: int) -> torch.Tensor:
    """z shifted right by k steps (z_{t-k} at position t), zero-filled."""
    return torch.nn.functional.pad(z, (k, 0))[:, : z.shape[1]]


def _rms(v: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Root mean square over ``valid`` steps, smooth at 0 (an exact fit has a finite, zero gradient there)."""
    return ((v.pow(2) * valid).sum(1) / valid.sum(1).clamp(min=1) + _TINY**2).sqrt()


def _ridge_forecast(design: torch.Tensor, target: torch.Tensor, rows: torch.Tensor, next_row: torch.Tensor,
                    penalty: torch.Tensor | None = None):
    """Batched ridge least squares over the valid ``rows``; returns (forecast [B], rms residual [B], dof [B]).

    design [B, T, P], target [B, T], rows [B, T] bool, next_row [B, P]; ``penalty`` [P]: if given, the fit is
    repeated with ``penalty`` × (the first fit's residual sum of squares) added to the Gram diagonal.
    """
    w = rows.to(design.dtype).unsqueeze(-1)
    xw = design * w
    p = design.shape[-1]
    n = rows.sum(1)
    gram = xw.transpose(1, 2) @ design
    # a ridge relative to the Gram diagonal keeps under-determined fits finite without biasing exact ones
    ridge = 1e-9 * gram.diagonal(dim1=1, dim2=2).mean(-1, keepdim=True) + 1e-12
    ridge = ridge.expand(-1, p)
    xy = xw.transpose(1, 2) @ target.unsqueeze(-1)
    beta = torch.linalg.solve(gram + torch.diag_embed(ridge), xy).squeeze(-1)
    resid = ((design @ beta.unsqueeze(-1)).squeeze(-1) - target) * rows
    if penalty is not None:
        # refit with a ridge proportional to the first fit's residual: an exact fit keeps its exact
        # coefficients, a poor or collinear one is shrunk (so its recipe weights stay small)
        ridge = ridge + penalty * resid.pow(2).sum(1, keepdim=True)
        beta = torch.linalg.solve(gram + torch.diag_embed(ridge), xy).squeeze(-1)
        resid = ((design @ beta.unsqueeze(-1)).squeeze(-1) - target) * rows
    forecast = (next_row * beta).sum(-1)
    if penalty is not None and rules_frozen():
        # the same value, with the lag coefficients held fixed and the intercept (the last design column,
        # unpenalised) written as mean(target) − Σ_k β_k·mean(lag_k) over the fitted rows, so the recipe
        # reads "β_k times each lag's distance from its mean, plus the mean"
        lag = beta[:, :-1].detach()
        count = n.clamp(min=1).to(design.dtype).unsqueeze(-1)
        mean_lags = xw[..., :-1].sum(1) / count
        mean_target = (target * rows).sum(1, keepdim=True) / count
        live = (lag * (next_row[:, :-1] - mean_lags)).sum(-1) + mean_target.squeeze(-1)
        forecast = forecast.detach() + live - live.detach()
    return forecast, _rms(resid, rows), (n - p).to(design.dtype)


def candidates(z: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Candidate forecasts ``[B, K]`` (in normalised units, relative to the last value) and the head's
    candidate features ``[B, 3K + 2]`` (forecasts, log in-sample errors, degrees of freedom, length)."""
    b, t = z.shape
    lengths = mask.sum(1)
    rows_idx = torch.arange(t, device=z.device).unsqueeze(0)
    one = torch.ones_like(z)
    dz = (z - _lagged(z, 1)) * (mask & _lagged(mask, 1))
    d2 = (dz - _lagged(dz, 1)) * (mask & _lagged(mask, 2))
    d3 = (d2 - _lagged(d2, 1)) * (mask & _lagged(mask, 3))

    def at(v: torch.Tensor, back: int) -> torch.Tensor:
        return v.gather(1, (lengths - 1 - back).clamp(min=0).unsqueeze(1)).squeeze(1)

    zero = torch.zeros(b, dtype=z.dtype, device=z.device)
    valid1, valid2, valid3 = mask & _lagged(mask, 1), mask & _lagged(mask, 2), mask & _lagged(mask, 3)
    forecasts = [zero, at(dz, 0), 2 * at(dz, 0) - at(dz, 1)]
    errors = [_rms(dz, valid1), _rms(d2, valid2), _rms(d3, valid3)]
    dofs = [(valid1.sum(1)).to(z.dtype), (valid2.sum(1)).to(z.dtype), (valid3.sum(1)).to(z.dtype)]

    # least-squares polynomials in time, centred on the next step for conditioning
    tau = ((rows_idx - lengths.unsqueeze(1)).to(z.dtype)) / 8.0
    for degree in (1, 2):
        design = torch.stack([tau**k for k in range(degree + 1)], -1)
        next_row = torch.zeros(b, degree + 1, dtype=z.dtype, device=z.device)
        next_row[:, 0] = 1.0  # tau = 0 at the next step
        f, e, d = _ridge_forecast(design, z, mask, next_row)
        forecasts.append(f), errors.append(e), dofs.append(d)

    # AR(p) with intercept fitted to the sequence itself. The lag coefficients carry a ridge (a near-flat or
    # collinear history otherwise gives an ill-conditioned fit whose recipe weights cancel at ±1e7), and an
    # order the sequence cannot determine (fewer rows than parameters) falls back to the order below it,
    # down to the last step: an under-determined fit is exact on any input and says nothing.
    fallback = (forecasts[1], errors[1], dofs[1])
    for p in (1, 2, 3):
        lags = [_lagged(z, k) for k in range(1, p + 1)]
        design = torch.stack([*lags, one], -1)
        rows = mask & _lagged(mask, p)
        next_row = torch.stack([at(z, k) for k in range(p)] + [torch.ones_like(zero)], -1)
        penalty = torch.tensor([AR_PENALTY] * p + [0.0], dtype=z.dtype, device=z.device)
        fit = _ridge_forecast(design, z, rows, next_row, penalty)
        determined = lengths >= 2 * p + 1
        fallback = tuple(torch.where(determined, new, old) for new, old in zip(fit, fallback, strict=True))
        forecasts.append(fallback[0]), errors.append(fallback[1]), dofs.append(fallback[2])

    cand = torch.stack(forecasts, -1).clamp(-_CLAMP, _CLAMP)
    err = torch.stack(errors, -1)
    dof = torch.stack(dofs, -1)
    feats = torch.cat(
        [cand / 8.0, torch.log(err + 1e-6) / 8.0, dof.clamp(-4, 32) / 16.0,
         (lengths.to(z.dtype) / 16.0).unsqueeze(1), torch.log(lengths.to(z.dtype)).unsqueeze(1)], -1
    )
    return cand, feats


def evidence(feats: torch.Tensor) -> torch.Tensor:
    """Gate prior ``[B, K]`` from the candidate features: −EVIDENCE·log(in-sample error + 1e-6) for rules
    with at least one degree of freedom, 0 for the others.

    A rule that reproduces the whole history it was fitted to (an alternating 1 −1 1 −1 under AR(1), a line
    under the last step) is preferred unless the network learned otherwise for inputs like this one; an
    interpolating fit (no spare row) is exact on any input, so it earns no prior.
    """
    log_error = feats[:, K : 2 * K] * 8.0
    spare = feats[:, 2 * K : 3 * K] * 16.0 >= 1.0
    return torch.where(spare, -EVIDENCE * log_error, torch.zeros_like(log_error))
