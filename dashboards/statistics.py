"""Inequality statistics as OHID (formerly PHE) computes them for Fingertips.

Pure functions over numbers and numpy arrays: no Django, no database. Each follows the public
reference implementation, the R package PHEindicatormethods, and its Fingertips technical
guidance; tests/dashboards/test_statistics.py checks them against that package's published test
values.

- **Proportions**: Wilson score interval, (2x + z² ± z·√(z² + 4x(1 − x/n))) / (2(n + z²)).
- **Counts and rates**: Byar's approximation for x ≥ 10; below 10 the exact Poisson interval
  [χ²(α/2; 2x)/2, χ²(1 − α/2; 2x + 2)/2] (PHEindicatormethods ``phe_rate``). The χ² quantiles
  come from inverting the regularised incomplete gamma function, implemented here with the
  standard library (series / continued fraction, then bisection) rather than adding scipy for
  two quantiles; it agrees with R's ``qchisq`` to well beyond the published six decimals.
- **Funnel plots for proportions** (PHEindicatormethods ``calculate_funnel_limits`` and
  ``assign_funnel_significance``, the Fingertips method): Wilson-based limits. The limit at
  denominator n is the observed proportion whose Wilson interval just touches the average π; the
  Wilson interval is the set of π with (p − π)² ≤ z²·π(1 − π)/n, so that proportion is exactly
  π ± z·√(π(1 − π)/n). 95% limits use z = Φ⁻¹(0.975) and 99.8% limits z = Φ⁻¹(0.999).
- **SII / RII** (PHEindicatormethods ``phe_sii``): quantiles ordered most → least deprived,
  population share aᵢ, relative rank bᵢ = midpoint of the cumulative share, weighted least
  squares of Y on b with weights a (fitted as √a·Y on √a and b·√a, no intercept); SII = slope,
  RII = (intercept + SII) / intercept. Confidence intervals by simulation: each quantile's value
  is drawn from a normal distribution with its standard error (on the log scale for rates, the
  logit scale for proportions, then transformed back), the regression is refitted for every
  draw, and the interval is read from the sorted draws at the same positions as
  PHEindicatormethods. A seeded numpy generator makes results reproducible; they match the
  published values to Monte Carlo precision, not digit for digit (R's generator differs).
- **Quintile gap and ratio**: Q1 (most deprived) minus / divided by Q5 (least deprived), with
  Newcombe's hybrid score interval for a gap between two proportions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist

import numpy as np

#: Fingertips' two funnel levels: the two-sided confidence and the one-sided probability they use.
FUNNEL_LEVELS = {"95": 0.975, "99.8": 0.999}
DEFAULT_SII_SEED = 20_240_601
_NORMAL = NormalDist()


def z_for(confidence: float) -> float:
    """Two-sided critical value of the standard normal for a confidence level in (0, 1)."""
    _check_confidence(confidence)
    return _NORMAL.inv_cdf(confidence + (1 - confidence) / 2)


def _check_confidence(confidence):
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be a fraction between 0 and 1, got {confidence!r}")


def _out(value):
    """Return a Python float for 0-d input, else the array."""
    arr = np.asarray(value, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


@dataclass(frozen=True)
class Interval:
    lower: float | np.ndarray
    upper: float | np.ndarray
    method: str


# --- Proportions -----------------------------------------------------------------------------


def wilson_interval(x, n, confidence: float = 0.95) -> Interval:
    """Wilson score interval for x of n (proportion scale, 0-1). Scalars or array-likes."""
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(x < 0) or np.any(n <= 0) or np.any(x > n):
        raise ValueError("Wilson interval needs 0 <= x <= n and n > 0")
    z = z_for(confidence)
    centre = 2 * x + z**2
    spread = z * np.sqrt(z**2 + 4 * x * (1 - x / n))
    denom = 2 * (n + z**2)
    return Interval(_out((centre - spread) / denom), _out((centre + spread) / denom), "Wilson")


# --- Counts and rates ------------------------------------------------------------------------


def byars_interval(x, confidence: float = 0.95) -> Interval:
    """Byar's approximation to the Poisson interval for an observed count (good for x >= 10).

    As in PHEindicatormethods, a negative lower limit (tiny x, very high confidence) is NaN.
    """
    x = np.asarray(x, dtype=float)
    if np.any(x < 0):
        raise ValueError("counts must be >= 0")
    z = z_for(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3
    lower = np.where((x > 0) & (lower >= 0), lower, np.nan)
    upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * np.sqrt(x + 1))) ** 3
    return Interval(_out(lower), _out(upper), "Byars")


def exact_poisson_interval(x, confidence: float = 0.95) -> Interval:
    """Exact Poisson interval for an observed count: [χ²(α/2; 2x)/2, χ²(1−α/2; 2x+2)/2]."""
    _check_confidence(confidence)
    alpha = 1 - confidence
    xs = np.atleast_1d(np.asarray(x, dtype=float))
    if np.any(xs < 0):
        raise ValueError("counts must be >= 0")
    lower = np.array([gamma_ppf(alpha / 2, v) if v > 0 else 0.0 for v in xs])
    upper = np.array([gamma_ppf(1 - alpha / 2, v + 1) for v in xs])
    shape = np.shape(x)
    return Interval(_out(lower.reshape(shape)), _out(upper.reshape(shape)), "Exact")


def count_interval(x: float, confidence: float = 0.95) -> Interval:
    """Interval for one count as Fingertips does it: exact below 10, Byar's from 10 upwards."""
    return exact_poisson_interval(x, confidence) if x < 10 else byars_interval(x, confidence)


def rate_interval(x: float, denominator: float, confidence: float = 0.95, multiplier: float = 1) -> Interval:
    """Crude rate interval (x per denominator × multiplier), exact below 10 events, else Byar's."""
    if denominator <= 0:
        raise ValueError("denominator must be > 0")
    counts = count_interval(x, confidence)
    scale = multiplier / denominator
    return Interval(counts.lower * scale, counts.upper * scale, counts.method)


def chi2_ppf(p: float, df: float) -> float:
    """Quantile of the χ² distribution (R's qchisq), via the gamma distribution."""
    return 2 * gamma_ppf(p, df / 2)


def gamma_ppf(p: float, shape: float) -> float:
    """Quantile of the Gamma(shape, scale 1) distribution, by bisection on the regularised
    lower incomplete gamma function (monotone, so bisection always converges)."""
    if not 0 <= p < 1:
        raise ValueError("p must be in [0, 1)")
    if shape <= 0:
        raise ValueError("shape must be > 0")
    if p == 0:
        return 0.0
    lo, hi = 0.0, max(1.0, shape)
    while _gamma_p(shape, hi) < p:
        lo, hi = hi, hi * 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if _gamma_p(shape, mid) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    return (lo + hi) / 2


def _gamma_p(a: float, x: float) -> float:
    """Regularised lower incomplete gamma P(a, x): a power series below a + 1, otherwise one
    minus the continued fraction for Q(a, x) (modified Lentz)."""
    if x <= 0:
        return 0.0
    log_prefix = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        k = a
        while abs(term) > abs(total) * 1e-17:
            k += 1
            term *= x / k
            total += term
        return total * math.exp(log_prefix)
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16:
            break
    return 1 - math.exp(log_prefix) * h


# --- Funnel plots (proportions) --------------------------------------------------------------


def funnel_limit(denominator, average: float, probability: float, side: str):
    """Funnel limit (proportion scale) at a denominator for an average proportion.

    ``probability`` is one-sided: 0.975 for the 95% funnel, 0.999 for the 99.8% funnel. Not
    clipped: callers clip to [0, 1] for display (PHEindicatormethods does the same).
    """
    if side not in ("low", "high"):
        raise ValueError("side must be 'low' or 'high'")
    n = np.asarray(denominator, dtype=float)
    z = _NORMAL.inv_cdf(probability)
    half_width = z * np.sqrt(average * (1 - average) / n)
    return _out(average - half_width if side == "low" else average + half_width)


def funnel_limits(denominators, average: float, multiplier: float = 100):
    """DataFrame of funnel limits at the given denominators, clipped to [0, multiplier].

    Columns: denominator, lower_95, upper_95, lower_99_8, upper_99_8, average — the layout of
    PHEindicatormethods' ``calculate_funnel_limits`` (Lower2s/Upper2s = 95%, 3s = 99.8%).
    """
    import pandas as pd

    n = np.asarray(denominators, dtype=float)
    frame = {"denominator": n}
    for label, probability in FUNNEL_LEVELS.items():
        key = label.replace(".", "_")
        for side in ("low", "high"):
            limit = np.asarray(funnel_limit(n, average, probability, side)) * multiplier
            name = f"{'lower' if side == 'low' else 'upper'}_{key}"
            frame[name] = np.clip(limit, 0, multiplier)
    frame["average"] = np.full(n.shape, average * multiplier)
    return pd.DataFrame(frame)


def funnel_denominators(min_denominator: float, max_denominator: float, points: int = 100) -> list[int]:
    """The denominators at which to draw funnel lines, spaced geometrically so the curve is
    smooth where it bends, over an axis rounded outwards (PHEindicatormethods' axis rule: start
    at zero when the largest denominator is more than twice the smallest)."""
    axis_min = 0 if max_denominator > 2 * min_denominator else _floor_neat(min_denominator)
    axis_max = _ceiling_neat(max_denominator)
    values = [max(1, axis_min)]
    for j in range(2, points + 1):
        previous = values[-1]
        step = round((axis_max / previous) ** (1 / (points + 1 - j)) * previous)
        values.append(max(step, previous + 1))
    return values


def _floor_neat(x: float) -> int:
    scaled = x * 0.95
    digits = len(str(math.floor(scaled))) - 1
    return math.floor(scaled / 10**digits) * 10**digits if x else 0


def _ceiling_neat(x: float) -> int:
    scaled = x * 1.05
    digits = len(str(math.ceil(scaled))) - 2
    return math.ceil(scaled / 10**digits) * 10**digits if x else 0


class FunnelSignificance(StrEnum):
    HIGH_99_8 = "High (outside 99.8%)"
    HIGH_95 = "High (outside 95%)"
    NOT_SIGNIFICANT = "Within 95% limits"
    LOW_95 = "Low (outside 95%)"
    LOW_99_8 = "Low (outside 99.8%)"


def funnel_significance(x, n, average: float | None = None) -> list[FunnelSignificance]:
    """Classify each x/n against the funnel around ``average`` (default Σx/Σn), as
    PHEindicatormethods' ``assign_funnel_significance``; the 99.8% test takes precedence."""
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(n <= 0) or np.any(x < 0) or np.any(x > n):
        raise ValueError("funnel proportions need 0 <= x <= n and n > 0")
    if average is None:
        average = float(x.sum() / n.sum())
    p = x / n
    result = []
    low3, low2 = funnel_limit(n, average, 0.999, "low"), funnel_limit(n, average, 0.975, "low")
    high3, high2 = funnel_limit(n, average, 0.999, "high"), funnel_limit(n, average, 0.975, "high")
    for i, value in enumerate(np.atleast_1d(p)):
        if value < np.atleast_1d(low3)[i]:
            result.append(FunnelSignificance.LOW_99_8)
        elif value < np.atleast_1d(low2)[i]:
            result.append(FunnelSignificance.LOW_95)
        elif value > np.atleast_1d(high3)[i]:
            result.append(FunnelSignificance.HIGH_99_8)
        elif value > np.atleast_1d(high2)[i]:
            result.append(FunnelSignificance.HIGH_95)
        else:
            result.append(FunnelSignificance.NOT_SIGNIFICANT)
    return result


# --- Slope and relative index of inequality --------------------------------------------------


class ValueType(StrEnum):
    OTHER = "other"  # simulated on the natural scale (e.g. life expectancy)
    RATE = "rate"  # simulated on the log scale
    PROPORTION = "proportion"  # simulated on the logit scale (values 0-1)


@dataclass(frozen=True)
class SIIResult:
    sii: float
    rii: float
    intercept: float
    sii_lower: float
    sii_upper: float
    rii_lower: float
    rii_upper: float
    confidence: float
    repetitions: int
    seed: int
    shares: tuple[float, ...]  # a_i, most -> least deprived
    ranks: tuple[float, ...]  # b_i, midpoint of the cumulative share


def relative_ranks(populations: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Population shares a and relative ranks b (midpoints of the cumulative share), in the
    order given (most deprived first)."""
    pops = np.asarray(populations, dtype=float)
    if pops.ndim != 1 or np.any(~np.isfinite(pops)) or np.any(pops <= 0):
        raise ValueError("every quantile needs a positive population")
    a = pops / pops.sum()
    b = np.cumsum(a) - a / 2
    return a, b


def slope_index_of_inequality(
    values: Sequence[float],
    populations: Sequence[float],
    *,
    se: Sequence[float] | None = None,
    lower_cl: Sequence[float] | None = None,
    upper_cl: Sequence[float] | None = None,
    value_type: ValueType | str = ValueType.OTHER,
    confidence: float = 0.95,
    repetitions: int = 100_000,
    multiplier: float = 1,
    seed: int = DEFAULT_SII_SEED,
) -> SIIResult:
    """SII and RII of ``values`` across quantiles ordered most → least deprived.

    Uncertainty comes from ``se`` (on the simulation scale: natural for OTHER, log for RATE,
    logit for PROPORTION) or from 95% ``lower_cl``/``upper_cl`` on the natural scale, from which
    the standard error is derived on the simulation scale, as in phe_sii. A negative
    ``multiplier`` flips the polarity: SII is multiplied by it and RII inverted.
    """
    value_type = ValueType(value_type)
    _check_confidence(confidence)
    if repetitions < 1000:
        raise ValueError("use at least 1,000 repetitions")
    y = np.asarray(values, dtype=float)
    a, b = relative_ranks(populations)
    if y.shape != a.shape or not 5 <= len(y) <= 100:
        raise ValueError("SII needs one value per quantile and between 5 and 100 quantiles")
    if np.any(~np.isfinite(y)):
        raise ValueError("every quantile needs a value")
    if value_type is ValueType.PROPORTION and np.any((y <= 0) | (y >= 1)):
        raise ValueError("proportions must lie strictly between 0 and 1")
    if value_type is ValueType.RATE and np.any(y <= 0):
        raise ValueError("rates must be positive")

    transform, untransform = _scales(value_type)
    if se is not None:
        se_sim = np.asarray(se, dtype=float)
    elif lower_cl is not None and upper_cl is not None:
        lo, hi = transform(np.asarray(lower_cl, dtype=float)), transform(np.asarray(upper_cl, dtype=float))
        se_sim = (hi - lo) / _NORMAL.inv_cdf(0.975) / 2
    else:
        raise ValueError("give standard errors (se) or 95% confidence limits (lower_cl, upper_cl)")
    if se_sim.shape != y.shape or np.any(~np.isfinite(se_sim)) or np.any(se_sim < 0):
        raise ValueError("standard errors must be non-negative, one per quantile")

    sqrt_a = np.sqrt(a)
    design = np.column_stack([sqrt_a, b * sqrt_a])  # k x 2
    solve = np.linalg.solve(design.T @ design, design.T)  # 2 x k: (XᵀX)⁻¹Xᵀ
    intercept, slope = solve @ (sqrt_a * y)

    rng = np.random.default_rng(seed)
    draws = rng.normal(transform(y)[:, None], se_sim[:, None], size=(len(y), repetitions))
    params = solve @ (untransform(draws) * sqrt_a[:, None])
    sim_sii = np.sort(params[1] * multiplier)
    sim_rii = (params[1] + params[0]) / params[0]
    if multiplier < 0:
        sim_rii = 1 / sim_rii
    sim_rii = np.sort(sim_rii)
    upper_q = confidence + (1 - confidence) / 2
    # Same order statistics as PHEindicatormethods (1-based positions, R rounds half to even).
    pos_lower = round(repetitions * (1 - upper_q)) - 1
    pos_upper = round(repetitions * upper_q) - 1

    rii = (intercept + slope) / intercept
    return SIIResult(
        sii=float(slope * multiplier),
        rii=float(1 / rii if multiplier < 0 else rii),
        intercept=float(intercept),
        sii_lower=float(sim_sii[pos_lower]),
        sii_upper=float(sim_sii[pos_upper]),
        rii_lower=float(sim_rii[pos_lower]),
        rii_upper=float(sim_rii[pos_upper]),
        confidence=confidence,
        repetitions=repetitions,
        seed=seed,
        shares=tuple(float(v) for v in a),
        ranks=tuple(float(v) for v in b),
    )


def sii_for_proportions(x, n, **kwargs) -> SIIResult:
    """SII/RII of proportions x/n by quantile (most → least deprived), uncertainty from 95%
    Wilson intervals on the logit scale — what phe_sii does for value_type = 2 with limits."""
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    limits = wilson_interval(x, n, 0.95)
    return slope_index_of_inequality(
        x / n,
        n,
        lower_cl=limits.lower,
        upper_cl=limits.upper,
        value_type=ValueType.PROPORTION,
        **kwargs,
    )


def _scales(value_type):
    if value_type is ValueType.RATE:
        return np.log, np.exp
    if value_type is ValueType.PROPORTION:
        return (lambda p: np.log(p / (1 - p))), (lambda v: 1 / (1 + np.exp(-v)))
    return (lambda v: v), (lambda v: v)


# --- Gap and ratio between the most and least deprived quintiles -----------------------------


@dataclass(frozen=True)
class QuintileGap:
    most_deprived: float  # Q1
    least_deprived: float  # Q5
    gap: float  # Q1 - Q5
    ratio: float | None  # Q1 / Q5 (None when Q5 is zero)
    gap_lower: float | None = None
    gap_upper: float | None = None


def quintile_gap(values_by_quintile: Sequence[float]) -> QuintileGap:
    """Gap and ratio between quintile 1 (most deprived) and quintile 5 (least deprived)."""
    values = list(values_by_quintile)
    if len(values) != 5:
        raise ValueError("give exactly five values, quintile 1 (most deprived) first")
    q1, q5 = float(values[0]), float(values[-1])
    return QuintileGap(q1, q5, q1 - q5, q1 / q5 if q5 else None)


def quintile_gap_for_proportions(x: Sequence[float], n: Sequence[float], confidence=0.95) -> QuintileGap:
    """Gap (with Newcombe's hybrid score interval, his method 10) and ratio between the
    proportions in quintile 1 and quintile 5."""
    if len(x) != 5 or len(n) != 5:
        raise ValueError("give five numerators and five denominators, quintile 1 first")
    x1, n1, x5, n5 = float(x[0]), float(n[0]), float(x[-1]), float(n[-1])
    p1, p5 = x1 / n1, x5 / n5
    lower, upper = newcombe_difference_interval(x1, n1, x5, n5, confidence)
    return QuintileGap(p1, p5, p1 - p5, p1 / p5 if p5 else None, lower, upper)


def newcombe_difference_interval(x1, n1, x2, n2, confidence=0.95) -> tuple[float, float]:
    """Newcombe (1998) hybrid score interval for p1 − p2 from two Wilson intervals."""
    p1, p2 = x1 / n1, x2 / n2
    w1, w2 = wilson_interval(x1, n1, confidence), wilson_interval(x2, n2, confidence)
    d = p1 - p2
    lower = d - math.sqrt((p1 - w1.lower) ** 2 + (w2.upper - p2) ** 2)
    upper = d + math.sqrt((w1.upper - p1) ** 2 + (p2 - w2.lower) ** 2)
    return lower, upper
