"""Statistical process control for outcome measures: NHS England "Making Data Count" XmR charts.

Pure Python, no database: ``analyse(points, improvement=...)`` takes ``(period, value)`` pairs in
period order and returns an :class:`SPCResult` with per-point flags and plain-English text.

The method (DESIGN §5, following NHS England's Making Data Count and NHSRplotthedots):

- **Mean and moving ranges.** Within each segment (see rebasing) the centre line is the mean of
  the recorded values; the moving range MRᵢ = |xᵢ − xᵢ₋₁| is taken between *adjacent* periods
  that both have a value; MR̄ is their mean. Limits are not screened for outlying moving ranges
  (the Making Data Count Excel tools do not screen either).
- **Process limits** x̄ ± 2.66·MR̄ and **2-sigma lines** x̄ ± (2/3)·2.66·MR̄.
- **Missing periods.** Pass ``(period, None)`` (or NaN) for a period without a value. It is left
  out of the mean and median; the moving ranges on either side of it are not formed (a moving
  range spans one period, never a gap), so a gap does not inflate MR̄. The run rules look at the
  recorded values in order: a missing period neither breaks nor extends a run. A period absent
  from the input altogether is not detected: the caller inserts ``(period, None)`` for it.
- **Special-cause rules** (run lengths configurable; the defaults are DESIGN's 7, NHS England's
  current engine uses 6):
  1. a point above the upper or below the lower process limit;
  2. a shift: ``shift_length`` or more consecutive values on the same side of the mean (a value
     exactly on the mean ends the run, as in NHSRplotthedots);
  3. a trend: ``trend_length`` or more consecutive values each higher (or each lower) than the
     one before (an equal value ends the run);
  4. two of three consecutive values beyond the same 2-sigma line (a value beyond the process
     limit is also beyond the 2-sigma line), which also puts the pair on the same side of the
     mean. The values beyond the line are flagged.
  Every value in a qualifying run is flagged. When rules disagree on direction, the value takes
  the direction of the first of: outside a limit, trend, two of three, shift.
- **Direction of improvement** turns a high or low special cause into improvement or concern.
- **Rebasing.** ``rebase_at`` lists periods at which new limits start: each segment has its own
  mean, moving ranges and limits, and runs do not cross a rebase.
- **Too few values.** Limits are shown only when a segment has at least ``min_points_for_limits``
  (12) recorded values. Before that the segment is a *run chart* around its median, with the two
  run rules that need no limits: the shift (values exactly on the median are skipped, the usual
  run-chart convention) and the trend. With fewer than two values no moving range exists.
- **Icons.** Variation comes from the latest recorded value: common cause, special cause
  improvement (high or low) or special cause concern (high or low). Assurance compares the
  target with the latest segment's process limits: a target outside the limits on the side the
  process beats always passes, on the other side always fails, inside the limits is hit and
  missed at random; no target, or no limits yet, gives no assurance.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

LIMIT_FACTOR = 2.66
NEAR_LIMIT_FACTOR = 2 * LIMIT_FACTOR / 3
DEFAULT_SHIFT_LENGTH = 7
DEFAULT_TREND_LENGTH = 7
MIN_POINTS_FOR_LIMITS = 12


class Improvement(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"

    @property
    def sign(self) -> int:
        return 1 if self is Improvement.HIGHER else -1


class ChartType(StrEnum):
    XMR = "xmr"
    RUN = "run"


class Variation(StrEnum):
    COMMON_CAUSE = "common_cause"
    IMPROVEMENT_HIGH = "improvement_high"
    IMPROVEMENT_LOW = "improvement_low"
    CONCERN_HIGH = "concern_high"
    CONCERN_LOW = "concern_low"
    NOT_ENOUGH_DATA = "not_enough_data"

    @property
    def label(self) -> str:
        return {
            "common_cause": "Common cause variation",
            "improvement_high": "Special cause variation: improvement (higher values)",
            "improvement_low": "Special cause variation: improvement (lower values)",
            "concern_high": "Special cause variation: concern (higher values)",
            "concern_low": "Special cause variation: concern (lower values)",
            "not_enough_data": "No values recorded yet",
        }[self.value]

    @property
    def is_special_cause(self) -> bool:
        return self not in (Variation.COMMON_CAUSE, Variation.NOT_ENOUGH_DATA)

    @property
    def is_improvement(self) -> bool:
        return self in (Variation.IMPROVEMENT_HIGH, Variation.IMPROVEMENT_LOW)

    @property
    def is_concern(self) -> bool:
        return self in (Variation.CONCERN_HIGH, Variation.CONCERN_LOW)


class Assurance(StrEnum):
    CONSISTENTLY_PASS = "consistently_pass"  # noqa: S105 - not a password
    CONSISTENTLY_FAIL = "consistently_fail"
    INCONSISTENT = "inconsistent"
    NO_TARGET = "no_target"
    NOT_ENOUGH_DATA = "not_enough_data"

    @property
    def label(self) -> str:
        return {
            "consistently_pass": "The target will consistently be met",
            "consistently_fail": "The target will consistently be missed unless the process changes",
            "inconsistent": "The target will be met and missed at random",
            "no_target": "No target set",
            "not_enough_data": "Not enough values yet to assess the target against process limits",
        }[self.value]


@dataclass(frozen=True)
class SPCSegment:
    """One stretch of the series with its own centre line and limits."""

    index: int
    start_period: Any
    end_period: Any
    n_values: int
    chart_type: ChartType
    mean: float | None
    median: float | None
    average_moving_range: float | None
    lower_limit: float | None
    upper_limit: float | None
    lower_two_sigma: float | None
    upper_two_sigma: float | None

    @property
    def centre(self) -> float | None:
        return self.mean if self.chart_type is ChartType.XMR else self.median

    @property
    def limits_shown(self) -> bool:
        return self.chart_type is ChartType.XMR


@dataclass(frozen=True)
class SPCPoint:
    period: Any
    value: float | None
    segment: int
    moving_range: float | None
    outside_limits: bool
    shift: bool
    trend: bool
    two_of_three: bool
    direction: int  # +1 special cause high, -1 special cause low, 0 none
    variation: Variation
    explanation: str

    @property
    def special_cause(self) -> bool:
        return self.direction != 0


@dataclass(frozen=True)
class SPCResult:
    points: tuple[SPCPoint, ...]
    segments: tuple[SPCSegment, ...]
    improvement: Improvement
    target: float | None
    variation: Variation
    assurance: Assurance
    summary: str
    shift_length: int
    trend_length: int

    @property
    def latest_segment(self) -> SPCSegment | None:
        return self.segments[-1] if self.segments else None

    @property
    def recorded_points(self) -> list[SPCPoint]:
        return [p for p in self.points if p.value is not None]

    def rows(self, label: Callable[[Any], str] | None = None) -> list[dict]:
        """The data table behind the chart, one row per period."""
        label = label or period_label
        out = []
        for point in self.points:
            segment = self.segments[point.segment]
            out.append(
                {
                    "period": label(point.period),
                    "value": point.value,
                    "centre_line": segment.centre,
                    "lower_process_limit": segment.lower_limit if segment.limits_shown else None,
                    "upper_process_limit": segment.upper_limit if segment.limits_shown else None,
                    "variation": point.variation.label if point.value is not None else "",
                    "explanation": point.explanation,
                }
            )
        return out


def period_label(period: Any) -> str:
    if isinstance(period, date):
        return f"{period.day} {period:%b %Y}"
    return str(period)


def format_number(value: float) -> str:
    """Thousands separators, at most two decimals, no trailing zeros."""
    text = f"{value:,.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def analyse(
    points: Iterable[tuple[Any, float | None]],
    *,
    improvement: Improvement | str,
    target: float | None = None,
    rebase_at: Iterable[Any] = (),
    shift_length: int = DEFAULT_SHIFT_LENGTH,
    trend_length: int = DEFAULT_TREND_LENGTH,
    min_points_for_limits: int = MIN_POINTS_FOR_LIMITS,
    label: Callable[[Any], str] | None = None,
    fmt: Callable[[float], str] | None = None,
) -> SPCResult:
    """Analyse a series of ``(period, value)`` pairs (value None or NaN = missing period)."""
    improvement = Improvement(improvement)
    label = label or period_label
    fmt = fmt or format_number
    if shift_length < 2 or trend_length < 2 or min_points_for_limits < 2:
        raise ValueError("run lengths and the minimum for limits must be at least 2")
    series = [(period, _clean(value)) for period, value in points]
    periods = [period for period, _ in series]
    if any(b <= a for a, b in zip(periods, periods[1:], strict=False)):
        raise ValueError("periods must be unique and in increasing order")
    starts = _segment_starts(periods, rebase_at)

    segment_of = []
    segments = []
    flags = [None] * len(series)
    ends = [*starts[1:], len(series)] if starts else []
    for seg_index, (start, end) in enumerate(zip(starts, ends, strict=True)):
        segment, seg_flags = _analyse_segment(
            seg_index, series[start:end], shift_length, trend_length, min_points_for_limits
        )
        segments.append(segment)
        segment_of.extend([seg_index] * (end - start))
        flags[start:end] = seg_flags

    built = []
    for i, (period, value) in enumerate(series):
        segment = segments[segment_of[i]]
        f = flags[i]
        variation = (
            _variation(f["direction"], improvement) if value is not None else Variation.NOT_ENOUGH_DATA
        )
        built.append(
            SPCPoint(
                period=period,
                value=value,
                segment=segment.index,
                moving_range=f["moving_range"],
                outside_limits=f["outside"],
                shift=f["shift"],
                trend=f["trend"],
                two_of_three=f["two_of_three"],
                direction=f["direction"],
                variation=variation,
                explanation=_explain(
                    period, value, f, segment, variation, shift_length, trend_length, label, fmt
                ),
            )
        )

    recorded = [p for p in built if p.value is not None]
    variation = recorded[-1].variation if recorded else Variation.NOT_ENOUGH_DATA
    assurance = _assurance(segments[-1] if segments else None, target, improvement)
    result_points = tuple(built)
    summary = _summary(
        result_points, segments, improvement, target, variation, assurance, label, fmt, min_points_for_limits
    )
    return SPCResult(
        points=result_points,
        segments=tuple(segments),
        improvement=improvement,
        target=target,
        variation=variation,
        assurance=assurance,
        summary=summary,
        shift_length=shift_length,
        trend_length=trend_length,
    )


# --- internals -------------------------------------------------------------------------------


def _clean(value):
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    if math.isinf(value):
        raise ValueError("values must be finite")
    return value


def _segment_starts(periods, rebase_at):
    starts = [0] if periods else []
    for period in sorted(set(rebase_at)):
        if period not in periods:
            raise ValueError(f"cannot rebase at {period!r}: no such period in the series")
        position = periods.index(period)
        if position > 0:
            starts.append(position)
    return sorted(set(starts))


def _analyse_segment(seg_index, series, shift_length, trend_length, min_points):
    values = [value for _, value in series]
    recorded = [i for i, v in enumerate(values) if v is not None]
    xs = [values[i] for i in recorded]
    moving = [None] * len(values)
    for i in range(1, len(values)):
        if values[i] is not None and values[i - 1] is not None:
            moving[i] = abs(values[i] - values[i - 1])
    ranges = [mr for mr in moving if mr is not None]

    mean = statistics.fmean(xs) if xs else None
    median = statistics.median(xs) if xs else None
    mr_bar = statistics.fmean(ranges) if ranges else None
    has_limits = mean is not None and mr_bar is not None
    chart_type = ChartType.XMR if has_limits and len(xs) >= min_points else ChartType.RUN
    segment = SPCSegment(
        index=seg_index,
        start_period=series[0][0],
        end_period=series[-1][0],
        n_values=len(xs),
        chart_type=chart_type,
        mean=mean,
        median=median,
        average_moving_range=mr_bar,
        lower_limit=mean - LIMIT_FACTOR * mr_bar if has_limits else None,
        upper_limit=mean + LIMIT_FACTOR * mr_bar if has_limits else None,
        lower_two_sigma=mean - NEAR_LIMIT_FACTOR * mr_bar if has_limits else None,
        upper_two_sigma=mean + NEAR_LIMIT_FACTOR * mr_bar if has_limits else None,
    )

    n = len(xs)
    outside = [0] * n
    two_of_three = [0] * n
    if chart_type is ChartType.XMR:
        sides = [_sign(x - mean) for x in xs]
        shift = _runs(sides, shift_length)
        for k, x in enumerate(xs):
            outside[k] = 1 if x > segment.upper_limit else -1 if x < segment.lower_limit else 0
        beyond = [1 if x > segment.upper_two_sigma else -1 if x < segment.lower_two_sigma else 0 for x in xs]
        for start in range(n - 2):
            window = range(start, start + 3)
            for side in (1, -1):
                hits = [k for k in window if beyond[k] == side]
                if len(hits) >= 2:
                    for k in hits:
                        two_of_three[k] = side
    else:
        # Run chart: values on the median are skipped, neither counting towards nor breaking a run.
        off_median = [k for k, x in enumerate(xs) if x != median]
        sub_shift = _runs([_sign(xs[k] - median) for k in off_median], shift_length)
        shift = [0] * n
        for k, side in zip(off_median, sub_shift, strict=True):
            shift[k] = side
    trend = _trends(xs, trend_length)

    flags = [
        {"moving_range": moving[i], "outside": False, "shift": False, "trend": False, "two_of_three": False}
        | {"direction": 0, "sides": {}}
        for i in range(len(values))
    ]
    for k, i in enumerate(recorded):
        f = flags[i]
        f["outside"], f["shift"], f["trend"], f["two_of_three"] = (
            bool(outside[k]),
            bool(shift[k]),
            bool(trend[k]),
            bool(two_of_three[k]),
        )
        f["sides"] = {
            "outside": outside[k],
            "trend": trend[k],
            "two_of_three": two_of_three[k],
            "shift": shift[k],
        }
        f["direction"] = next((s for s in (outside[k], trend[k], two_of_three[k], shift[k]) if s), 0)
    return segment, flags


def _sign(x):
    return (x > 0) - (x < 0)


def _runs(sides: Sequence[int], length: int) -> list[int]:
    """Mark every element of a run of at least ``length`` equal non-zero sides."""
    marks = [0] * len(sides)
    start = 0
    for end in range(1, len(sides) + 1):
        if end == len(sides) or sides[end] != sides[start]:
            if sides[start] != 0 and end - start >= length:
                marks[start:end] = [sides[start]] * (end - start)
            start = end
    return marks


def _trends(xs: Sequence[float], length: int) -> list[int]:
    """Mark every value in a run of ``length`` or more values each rising (+1) or each falling
    (-1). A turning point shared by a falling and a rising trend takes the later one."""
    marks = [0] * len(xs)
    steps = [_sign(b - a) for a, b in zip(xs, xs[1:], strict=False)]
    start = 0
    for end in range(1, len(steps) + 1):
        if end == len(steps) or steps[end] != steps[start]:
            # steps[start:end] all equal: values start .. end (inclusive) form the run
            if steps and steps[start] != 0 and end - start + 1 >= length:
                marks[start : end + 1] = [steps[start]] * (end - start + 1)
            start = end
    return marks


def _variation(direction: int, improvement: Improvement) -> Variation:
    if direction == 0:
        return Variation.COMMON_CAUSE
    good = direction * improvement.sign > 0
    if direction > 0:
        return Variation.IMPROVEMENT_HIGH if good else Variation.CONCERN_HIGH
    return Variation.IMPROVEMENT_LOW if good else Variation.CONCERN_LOW


def _assurance(segment: SPCSegment | None, target, improvement: Improvement) -> Assurance:
    if target is None:
        return Assurance.NO_TARGET
    if segment is None or not segment.limits_shown:
        return Assurance.NOT_ENOUGH_DATA
    if segment.lower_limit <= target <= segment.upper_limit:
        return Assurance.INCONSISTENT
    process_above_target = target < segment.lower_limit
    if process_above_target == (improvement is Improvement.HIGHER):
        return Assurance.CONSISTENTLY_PASS
    return Assurance.CONSISTENTLY_FAIL


def _explain(period, value, f, segment, variation, shift_length, trend_length, label, fmt):
    when = label(period)
    if value is None:
        return f"{when}: no value recorded."
    centre = "mean" if segment.chart_type is ChartType.XMR else "median"
    sides = f["sides"]
    reasons = []
    if sides["outside"] > 0:
        reasons.append(f"above the upper process limit ({fmt(segment.upper_limit)})")
    elif sides["outside"] < 0:
        reasons.append(f"below the lower process limit ({fmt(segment.lower_limit)})")
    if sides["trend"]:
        way = "rising" if sides["trend"] > 0 else "falling"
        reasons.append(f"part of a run of {trend_length} or more values each {way}")
    if sides["two_of_three"]:
        where = "upper" if sides["two_of_three"] > 0 else "lower"
        reasons.append(f"one of 2 out of 3 values in a row close to the {where} process limit")
    if sides["shift"]:
        where = "above" if sides["shift"] > 0 else "below"
        reasons.append(f"part of a run of {shift_length} or more values {where} the {centre}")
    if reasons:
        return f"{when}: {fmt(value)}, {'; '.join(reasons)}. {variation.label}."
    return f"{when}: {fmt(value)}. {variation.label}."


def _summary(points, segments, improvement, target, variation, assurance, label, fmt, min_points):
    recorded = [p for p in points if p.value is not None]
    if not recorded:
        return "No values have been recorded yet."
    better = "Higher" if improvement is Improvement.HIGHER else "Lower"
    missing = len(points) - len(recorded)
    parts = [
        f"{len(recorded)} values from {label(points[0].period)} to {label(points[-1].period)}"
        + (f" ({missing} period{'s' if missing != 1 else ''} without a value)." if missing else ".")
        + f" {better} values are better."
    ]
    for segment in segments:
        lead = f"From {label(segment.start_period)}: " if len(segments) > 1 else ""
        if segment.n_values == 0:
            parts.append(_capitalise(f"{lead}no values recorded."))
        elif segment.limits_shown:
            parts.append(
                _capitalise(
                    f"{lead}mean {fmt(segment.mean)}, process limits {fmt(segment.lower_limit)} "
                    f"to {fmt(segment.upper_limit)}."
                )
            )
        else:
            parts.append(
                _capitalise(
                    f"{lead}median {fmt(segment.median)}. With fewer than {min_points} values this is a "
                    f"run chart: process limits appear from {min_points} values."
                )
            )
    latest = recorded[-1]
    parts.append(f"Latest value {fmt(latest.value)} ({label(latest.period)}): {variation.label.lower()}.")
    special = [p for p in recorded if p.special_cause]
    if special:
        improving = sum(p.variation.is_improvement for p in special)
        concerning = len(special) - improving
        parts.append(f"Special cause values: {improving} of improvement, {concerning} of concern.")
    else:
        parts.append("No special cause values.")
    if target is not None:
        parts.append(f"Target {fmt(target)}: {assurance.label.lower()}.")
    return " ".join(parts)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]
