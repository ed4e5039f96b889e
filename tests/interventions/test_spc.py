"""XmR SPC on constructed series whose answers are worked out by hand in the comments."""

from datetime import date

import pytest

from interventions.spc import (
    LIMIT_FACTOR,
    Assurance,
    ChartType,
    Improvement,
    Variation,
    analyse,
)


def months(values, start=(2024, 1)):
    """Pair values with the first day of consecutive months."""
    year, month = start
    out = []
    for value in values:
        out.append((date(year, month, 1), value))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out


def flagged(result, attribute):
    return [i for i, point in enumerate(result.points) if getattr(point, attribute)]


# 12 values alternating 11, 9: mean 10, every moving range 2, so MR̄ = 2 and the process limits
# are 10 ± 2.66·2 = 4.68 to 15.32; the 2-sigma lines 10 ± (2/3)·2.66·2 = 6.453 to 13.547.
STABLE = [11, 9] * 6


# --- limits ----------------------------------------------------------------------------------


def test_limits_of_stable_series():
    segment = analyse(months(STABLE), improvement="higher").segments[0]
    assert segment.chart_type is ChartType.XMR
    assert segment.mean == 10
    assert segment.average_moving_range == 2
    assert segment.lower_limit == pytest.approx(4.68)
    assert segment.upper_limit == pytest.approx(15.32)
    assert segment.lower_two_sigma == pytest.approx(10 - 2 / 3 * 5.32)
    assert segment.upper_two_sigma == pytest.approx(10 + 2 / 3 * 5.32)


def test_limits_of_irregular_series():
    # Sum 138 over 12 values -> mean 11.5; moving ranges 2,1,2,1,1,1,2,1,2,1,1 sum 15 over 11.
    values = [10, 12, 11, 13, 12, 11, 10, 12, 11, 13, 12, 11]
    result = analyse(months(values), improvement="higher")
    segment = result.segments[0]
    assert segment.mean == pytest.approx(11.5)
    assert segment.average_moving_range == pytest.approx(15 / 11)
    assert segment.upper_limit == pytest.approx(11.5 + 2.66 * 15 / 11)
    assert segment.lower_limit == pytest.approx(11.5 - 2.66 * 15 / 11)
    assert [p.moving_range for p in result.points] == [None, 2, 1, 2, 1, 1, 1, 2, 1, 2, 1, 1]
    assert not any(p.special_cause for p in result.points)
    assert result.variation is Variation.COMMON_CAUSE


# --- special-cause rules ---------------------------------------------------------------------


def test_point_above_upper_limit_is_special_cause():
    # 8,16 x6 then 40: mean 184/13 = 14.15; MRs eleven 8s and 24 -> MR̄ 112/12 = 9.33;
    # upper limit 14.15 + 2.66·9.33 = 38.98, so 40 is outside; nothing else fires.
    result = analyse(months([8, 16] * 6 + [40]), improvement="higher")
    assert result.segments[0].upper_limit == pytest.approx(184 / 13 + 2.66 * 112 / 12)
    assert flagged(result, "outside_limits") == [12]
    assert flagged(result, "special_cause") == [12]
    assert result.points[12].direction == 1
    assert result.variation is Variation.IMPROVEMENT_HIGH
    assert "above the upper process limit (38.98)" in result.points[12].explanation


def test_point_below_lower_limit_when_lower_is_better_is_improvement():
    # 8,16 x6 then -20: mean 124/13 = 9.54; MR̄ (88 + 36)/12 = 10.33; lower limit -17.95.
    result = analyse(months([8, 16] * 6 + [-20]), improvement="lower")
    assert flagged(result, "outside_limits") == [12]
    assert result.variation is Variation.IMPROVEMENT_LOW
    higher = analyse(months([8, 16] * 6 + [-20]), improvement="higher")
    assert higher.variation is Variation.CONCERN_LOW


# Baseline 11,9 x6 then seven values just above the mean: mean (120 + 4·10.5 + 3·11)/19 = 10.263,
# so the 11s and 9s of the baseline alternate about it and the last seven are all above it.
# MR̄ = (11·2 + 7·0.5)/18 = 1.417; upper 2-sigma line 10.263 + 2.512 = 12.78: no other rule fires.
SHIFT = STABLE + [10.5, 11, 10.5, 11, 10.5, 11, 10.5]


def test_shift_of_seven_above_mean():
    result = analyse(months(SHIFT), improvement="lower")
    assert result.segments[0].mean == pytest.approx(195 / 19)
    assert flagged(result, "shift") == list(range(12, 19))
    assert flagged(result, "special_cause") == list(range(12, 19))
    assert not flagged(result, "trend") and not flagged(result, "two_of_three")
    assert result.variation is Variation.CONCERN_HIGH
    assert "part of a run of 7 or more values above the mean" in result.points[18].explanation


def test_shift_of_six_needs_nhs_england_run_length():
    six = STABLE + [10.5, 11, 10.5, 11, 10.5, 11]
    assert flagged(analyse(months(six), improvement="higher"), "shift") == []
    assert flagged(analyse(months(six), improvement="higher", shift_length=6), "shift") == list(range(12, 18))


def test_value_on_the_mean_breaks_a_shift():
    # 4, then 12,8 x6, then 11,11,11,10,11,11,11: sum 4 + 120 + 76 = 200 over 20 values, so the
    # mean is exactly 10 and the 10 splits the 11s into two runs of three.
    values = [4] + [12, 8] * 6 + [11, 11, 11, 10, 11, 11, 11]
    assert analyse(months(values), improvement="higher").segments[0].mean == 10
    assert flagged(analyse(months(values), improvement="higher", shift_length=4), "shift") == []
    three = analyse(months(values), improvement="higher", shift_length=3)
    assert flagged(three, "shift") == [13, 14, 15, 17, 18, 19]


def test_trend_of_seven_rising():
    # 4,6 x4 then 4.5 rising by 0.2 to 5.7 (7 values): mean 5.047, MR̄ 1.193, 2-sigma lines
    # 2.93 and 7.16, and the rising values straddle the mean: only the trend rule fires.
    values = [4, 6] * 4 + [4.5, 4.7, 4.9, 5.1, 5.3, 5.5, 5.7]
    result = analyse(months(values), improvement="higher")
    assert flagged(result, "trend") == list(range(8, 15))
    assert flagged(result, "special_cause") == list(range(8, 15))
    assert all(result.points[i].direction == 1 for i in range(8, 15))
    assert result.variation is Variation.IMPROVEMENT_HIGH
    assert "7 or more values each rising" in result.points[14].explanation


def test_trend_of_seven_falling_is_concern_when_higher_is_better():
    values = [6, 4] * 4 + [5.7, 5.5, 5.3, 5.1, 4.9, 4.7, 4.5]
    result = analyse(months(values), improvement="higher")
    assert flagged(result, "trend") == list(range(8, 15))
    assert result.variation is Variation.CONCERN_LOW


def test_trend_is_broken_by_an_equal_value():
    values = [4, 6] * 4 + [4.5, 4.7, 4.9, 4.9, 5.1, 5.3, 5.5, 5.7]
    assert flagged(analyse(months(values), improvement="higher"), "trend") == []


def test_two_of_three_beyond_upper_two_sigma():
    # 10,11 x7 then 12.9, 11, 12.9: mean 10.81, MR̄ 1.169, upper 2-sigma 12.88, upper limit
    # 13.92: the two 12.9s lie between them, within three values.
    values = [10, 11] * 7 + [12.9, 11, 12.9]
    result = analyse(months(values), improvement="higher")
    segment = result.segments[0]
    assert segment.upper_two_sigma < 12.9 < segment.upper_limit
    assert flagged(result, "two_of_three") == [14, 16]
    assert flagged(result, "special_cause") == [14, 16]
    assert result.variation is Variation.IMPROVEMENT_HIGH
    assert "2 out of 3 values in a row close to the upper process limit" in result.points[16].explanation


def test_two_beyond_two_sigma_but_four_apart_is_common_cause():
    # Same idea but with two values between them: never two in any three.
    values = [10, 11] * 7 + [12.9, 11, 11, 12.9]
    result = analyse(months(values), improvement="higher")
    assert result.segments[0].upper_two_sigma < 12.9
    assert flagged(result, "two_of_three") == []
    assert result.variation is Variation.COMMON_CAUSE


def test_two_beyond_opposite_two_sigma_lines_is_common_cause():
    # 10, 11 x7 then 12.9 and 8.0: one beyond each 2-sigma line is not the rule.
    values = [10, 11] * 7 + [12.9, 8.0]
    result = analyse(months(values), improvement="higher")
    segment = result.segments[0]
    assert segment.upper_two_sigma < 12.9 < segment.upper_limit
    assert segment.lower_limit < 8.0 < segment.lower_two_sigma
    assert flagged(result, "two_of_three") == []


# --- edge cases ------------------------------------------------------------------------------


def test_constant_series_has_zero_moving_range_and_no_signal():
    result = analyse(months([5] * 15), improvement="higher", target=5)
    segment = result.segments[0]
    assert segment.average_moving_range == 0
    assert segment.lower_limit == segment.upper_limit == segment.mean == 5
    assert not flagged(result, "special_cause")
    assert result.variation is Variation.COMMON_CAUSE
    assert result.assurance is Assurance.INCONSISTENT  # target on the (zero-width) limits


def test_constant_series_then_change_is_outside_zero_width_limits():
    # 14 fives then a 6: MR̄ = 1/14, limits 5.0667 ± 0.19; 6 is above the upper limit.
    result = analyse(months([5] * 14 + [6]), improvement="higher")
    assert flagged(result, "outside_limits") == [14]


def test_no_values_gives_no_chart():
    result = analyse([], improvement="higher", target=3)
    assert result.points == () and result.segments == ()
    assert result.variation is Variation.NOT_ENOUGH_DATA
    assert result.assurance is Assurance.NOT_ENOUGH_DATA
    assert result.summary == "No values have been recorded yet."


def test_one_value_is_a_run_chart_without_moving_range():
    result = analyse(months([7]), improvement="lower")
    segment = result.segments[0]
    assert segment.chart_type is ChartType.RUN
    assert segment.median == 7 and segment.average_moving_range is None
    assert segment.upper_limit is None
    assert result.variation is Variation.COMMON_CAUSE
    assert "run chart" in result.summary


def test_only_missing_values():
    result = analyse(months([None, None]), improvement="lower")
    assert result.variation is Variation.NOT_ENOUGH_DATA
    assert result.segments[0].n_values == 0
    assert result.points[0].explanation == "1 Jan 2024: no value recorded."


def test_missing_period_breaks_moving_ranges_and_is_left_out_of_mean():
    # Recorded: 10,12,10,10,12,10,12,10,12,10,12,10 -> mean 130/12. Moving ranges are not formed
    # across the gap, so all ten are 2 (bridging the gap would add a 0 and give MR̄ = 20/11).
    values = [10, 12, 10, None, 10, 12, 10, 12, 10, 12, 10, 12, 10]
    result = analyse(months(values), improvement="higher")
    segment = result.segments[0]
    assert segment.n_values == 12
    assert segment.mean == pytest.approx(130 / 12)
    assert [p.moving_range for p in result.points][2:6] == [2, None, None, 2]
    assert segment.average_moving_range == 2
    assert segment.chart_type is ChartType.XMR


def test_missing_period_does_not_break_a_shift():
    with_gap = STABLE + [10.5, 11, 10.5, None, 11, 10.5, 11, 10.5]
    result = analyse(months(with_gap), improvement="higher")
    assert flagged(result, "shift") == [12, 13, 14, 16, 17, 18, 19]
    assert result.points[15].variation is Variation.NOT_ENOUGH_DATA
    assert "(1 period without a value)" in result.summary


def test_nan_counts_as_missing():
    result = analyse(months([1.0, float("nan"), 2.0]), improvement="higher")
    assert result.points[1].value is None


def test_periods_must_increase():
    with pytest.raises(ValueError, match="increasing"):
        analyse([(date(2024, 2, 1), 1), (date(2024, 1, 1), 2)], improvement="higher")


# --- run chart before 12 values --------------------------------------------------------------


def test_fewer_than_twelve_values_is_a_run_chart_around_the_median():
    # 1,2,1,2,5,6,5,6: median 3.5, four below then four above: runs of 4.
    result = analyse(months([1, 2, 1, 2, 5, 6, 5, 6]), improvement="higher", shift_length=4)
    segment = result.segments[0]
    assert segment.chart_type is ChartType.RUN
    assert segment.centre == 3.5
    assert not segment.limits_shown
    assert flagged(result, "shift") == list(range(8))
    assert not flagged(result, "outside_limits") and not flagged(result, "two_of_three")
    assert result.variation is Variation.IMPROVEMENT_HIGH
    assert "above the median" in result.points[7].explanation


def test_run_chart_skips_values_on_the_median():
    # 1,2,3,1,2,5,6,5,6: median 3 (the third value), which neither breaks nor joins the run below.
    result = analyse(months([1, 2, 3, 1, 2, 5, 6, 5, 6]), improvement="higher", shift_length=4)
    assert result.segments[0].median == 3
    assert flagged(result, "shift") == [0, 1, 3, 4, 5, 6, 7, 8]


def test_run_chart_trend():
    result = analyse(months([1, 2, 3, 4, 5, 6, 7]), improvement="lower")
    assert result.segments[0].chart_type is ChartType.RUN
    assert flagged(result, "trend") == list(range(7))
    assert result.variation is Variation.CONCERN_HIGH


def test_limits_appear_at_the_configured_number_of_values():
    assert analyse(months(STABLE[:11]), improvement="higher").segments[0].chart_type is ChartType.RUN
    assert analyse(months(STABLE), improvement="higher").segments[0].chart_type is ChartType.XMR
    assert analyse(months(STABLE[:6]), improvement="higher", min_points_for_limits=6).segments[0].limits_shown


# --- rebasing --------------------------------------------------------------------------------

STEP = [9, 11] * 6 + [19, 21] * 6  # a step change from mean 10 to mean 20 at value 13


def test_step_change_without_rebase_is_a_shift():
    result = analyse(months(STEP), improvement="higher")
    assert result.segments[0].mean == 15
    assert flagged(result, "shift") == list(range(24))


def test_rebase_gives_each_segment_its_own_limits():
    rebase = months(STEP)[12][0]
    result = analyse(months(STEP), improvement="higher", rebase_at=[rebase])
    first, second = result.segments
    assert (first.mean, second.mean) == (10, 20)
    assert first.average_moving_range == second.average_moving_range == 2
    assert second.lower_limit == pytest.approx(20 - LIMIT_FACTOR * 2)
    assert result.points[12].moving_range is None  # not formed across the rebase
    assert result.points[12].segment == 1
    assert not flagged(result, "special_cause")
    assert "From 1 Jan 2025: mean 20" in result.summary


def test_rebase_at_unknown_period_is_rejected():
    with pytest.raises(ValueError, match="rebase"):
        analyse(months(STEP), improvement="higher", rebase_at=[date(1999, 1, 1)])


def test_rebase_at_first_period_changes_nothing():
    points = months(STEP)
    assert len(analyse(points, improvement="higher", rebase_at=[points[0][0]]).segments) == 1


def test_unknown_improvement_direction_is_rejected():
    with pytest.raises(ValueError):
        analyse(months(STABLE), improvement="sideways")


def test_runs_do_not_cross_a_rebase():
    # Six above the mean before the rebase and one after would be seven without it.
    before = STABLE + [10.5, 11, 10.5, 11, 10.5, 11]
    after = [10.5] + [9, 11] * 6
    points = months(before + after)
    assert flagged(analyse(points, improvement="higher"), "shift") == list(range(12, 19))
    result = analyse(points, improvement="higher", rebase_at=[points[len(before)][0]])
    assert flagged(result, "shift") == []


# --- icons -----------------------------------------------------------------------------------


def test_variation_icon_comes_from_the_latest_value():
    # 8,16 x6, 50, 16: mean 210/14 = 15, MR̄ (88 + 34 + 34)/13 = 12, upper limit 46.92: the 50
    # is special cause, but the latest value (16) is common cause.
    result = analyse(months([8, 16] * 6 + [50, 16]), improvement="higher")
    assert result.points[12].variation is Variation.IMPROVEMENT_HIGH
    assert result.variation is Variation.COMMON_CAUSE


def test_latest_missing_value_uses_latest_recorded_value():
    result = analyse(months([8, 16] * 6 + [40, None]), improvement="lower")
    assert result.variation is Variation.CONCERN_HIGH


@pytest.mark.parametrize(
    ("improvement", "target", "assurance"),
    [
        # STABLE limits are 4.68 to 15.32
        ("higher", 4, Assurance.CONSISTENTLY_PASS),
        ("higher", 16, Assurance.CONSISTENTLY_FAIL),
        ("higher", 10, Assurance.INCONSISTENT),
        ("lower", 4, Assurance.CONSISTENTLY_FAIL),
        ("lower", 16, Assurance.CONSISTENTLY_PASS),
        ("lower", 15.32, Assurance.INCONSISTENT),
        ("higher", None, Assurance.NO_TARGET),
    ],
)
def test_assurance_from_target_against_limits(improvement, target, assurance):
    assert analyse(months(STABLE), improvement=improvement, target=target).assurance is assurance


def test_assurance_needs_limits():
    result = analyse(months(STABLE[:11]), improvement="higher", target=4)
    assert result.assurance is Assurance.NOT_ENOUGH_DATA


def test_assurance_uses_the_latest_segment():
    rebase = months(STEP)[12][0]
    result = analyse(months(STEP), improvement="higher", target=12, rebase_at=[rebase])
    assert result.assurance is Assurance.CONSISTENTLY_PASS  # second segment: 14.68 to 25.32


# --- text equivalent -------------------------------------------------------------------------


def test_summary_reads_as_plain_english():
    result = analyse(months([8, 16] * 6 + [40]), improvement="higher", target=20)
    assert result.summary == (
        "13 values from 1 Jan 2024 to 1 Jan 2025. Higher values are better. "
        "Mean 14.15, process limits -10.67 to 38.98. "
        "Latest value 40 (1 Jan 2025): special cause variation: improvement (higher values). "
        "Special cause values: 1 of improvement, 0 of concern. "
        "Target 20: the target will be met and missed at random."
    )


def test_rows_give_the_data_table():
    result = analyse(months([8, 16] * 6 + [40]), improvement=Improvement.HIGHER, label=lambda d: f"{d:%b %Y}")
    rows = result.rows(label=lambda d: f"{d:%b %Y}")
    assert len(rows) == 13
    assert rows[0]["period"] == "Jan 2024"
    assert rows[12]["value"] == 40
    assert rows[12]["upper_process_limit"] == pytest.approx(38.98, abs=0.01)
    assert rows[12]["explanation"].startswith("Jan 2025: 40, above the upper process limit")
