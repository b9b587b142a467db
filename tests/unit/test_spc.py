"""Unit tests for SPC (dashboard/analysis/spc.py and the CLI helpers in dashboard/spc_cli.py).

Expected values are worked out by hand in the comments (or with plain arithmetic in the test),
never taken from the function under test. Tests that mirror the reference package,
NHSRplotthedots, name its test file and case ("R: file > case").

Most rule tests use the same fixed baseline: 12 points alternating +25 / -25 around 0, fixed
with ``fix_after=12``. By hand: mean = 0; the 11 moving ranges are all 50, so mean(mR) = 50
(none screened: 50 < 3.267 x 50); process limits 0 -/+ 2.66 x 50 = -/+133 (exact in binary
floating point); near limits 0 -/+ (2 x 2.66 / 3) x 50 = -/+88.67. Points after the baseline
do not move the lines, so each rule can be tested with values chosen against them.
"""
from __future__ import annotations

import datetime as dt
import json
import math

import pytest

from dashboard.analysis import spc as spc_module
from dashboard.analysis.spc import (
    LIMIT,
    NEAR_LIMIT,
    SpcResult,
    spc,
)
from dashboard.spc_cli import format_table, parse_period, series_from_csv, spc_from_csv

BASELINE = [25.0, -25.0] * 6  # ends on -25, so a following run above the mean starts fresh


def run(values, **kwargs) -> SpcResult:
    return spc(values, list(range(len(values))), **kwargs)


def fixed(after, **kwargs) -> SpcResult:
    """The fixed baseline (limits -/+133, near -/+88.67, mean 0) followed by ``after``."""
    return run(BASELINE + list(after), fix_after=12, **kwargs)


def rules(result: SpcResult) -> list:
    return [p.rule for p in result.points]


def types(result: SpcResult) -> list:
    return [p.point_type for p in result.points]


def month_ends(n: int, year: int = 2023) -> list[dt.date]:
    out = []
    for i in range(n):
        y, m = year + (i + 3) // 12, (i + 3) % 12 + 1  # from April
        nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
        out.append(nxt - dt.timedelta(days=1))
    return out


# --------------------------------------------------------------------------------------------
# Constants


def test_constants_are_the_packages():
    # R: ptd_spc_standard.R: limit <- 2.66; limitclose <- 2 * (limit / 3); 3.267 screening
    assert LIMIT == 2.66
    assert NEAR_LIMIT == 2 * (2.66 / 3)
    assert round(NEAR_LIMIT, 4) == 1.7733
    assert spc_module.SCREEN_LIMIT == 3.267
    assert spc_module.MIN_POINTS == 12
    assert spc_module.RUN_LENGTH == 7


# --------------------------------------------------------------------------------------------
# The lines


def test_hand_computed_example():
    values = [10, 12, 11, 13, 12, 14, 13, 12, 11, 13, 12, 14]
    # sum = 147, 12 points: mean = 12.25
    # moving ranges: 2,1,2,1,2,1,1,1,2,1,2 -> sum 16 over 11, mean(mR) = 16/11 = 1.4545...
    # screening: 3.267 x 16/11 = 4.75; every range is below it, none screened
    # limits: 12.25 -/+ 2.66 x 16/11 = 12.25 -/+ 3.8691 -> 8.3809 .. 16.1191
    # near:   12.25 -/+ 1.7733 x 16/11 = 12.25 -/+ 2.5794 -> 9.6706 .. 14.8294
    r = spc(values, month_ends(12), direction="increase")
    (g,) = r.groups
    assert g.mean == pytest.approx(12.25)
    assert g.mean_moving_range == pytest.approx(16 / 11)
    assert g.moving_ranges_screened == 0
    assert g.lower_limit == pytest.approx(8.380909, abs=1e-6)
    assert g.upper_limit == pytest.approx(16.119091, abs=1e-6)
    assert g.near_lower == pytest.approx(9.670606, abs=1e-6)
    assert g.near_upper == pytest.approx(14.829394, abs=1e-6)
    assert (g.start, g.end, g.n_points, g.trial) == (0, 11, 12, False)
    # nothing beyond a near limit, no run of 7 on one side (sides vs 12.25 alternate), no
    # run of 7 rising or falling: all common cause
    assert types(r) == ["common_cause"] * 12
    assert r.variation.key == "common_cause"
    assert r.assurance is None


def test_screening_drops_large_moving_ranges_once_and_never_the_mean():
    # R: test-ptd_spc_standard.R > "it returns expected values" (a spike changes the limits,
    # and limits without screening are wider than with it)
    values = [10, 11] * 5 + [10, 41]
    # 12 points, sum = 5 x 21 + 51 = 156, mean = 13 (the spike stays in the mean)
    # moving ranges: ten of 1, then |41 - 10| = 31 -> mean(mR) = 41/11 = 3.727
    # screening: 31 >= 3.267 x 41/11 = 12.18 is dropped; mean of the ten 1s = 1
    on = run(values)
    off = run(values, screen_outliers=False)
    assert on.groups[0].mean == pytest.approx(13) == off.groups[0].mean
    assert on.groups[0].mean_moving_range == pytest.approx(1.0)
    assert on.groups[0].moving_ranges_screened == 1
    assert on.groups[0].upper_limit == pytest.approx(13 + 2.66)
    assert on.groups[0].lower_limit == pytest.approx(13 - 2.66)
    assert off.groups[0].mean_moving_range == pytest.approx(41 / 11)
    assert off.groups[0].moving_ranges_screened == 0
    assert off.groups[0].upper_limit == pytest.approx(13 + 2.66 * 41 / 11)
    assert off.groups[0].lower_limit == pytest.approx(13 - 2.66 * 41 / 11)
    # with screening the 10s (below 10.34) fall outside the limits; without, nothing but the
    # spike (41 > 22.91) does
    assert rules(on)[0] == "outside_limits"
    assert rules(off)[0] != "outside_limits"
    assert rules(off)[-1] == "outside_limits"


def _zigzag(start, ranges):
    out = [start]
    for i, r in enumerate(ranges):
        out.append(out[-1] + (r if i % 2 == 0 else -r))
    return out


def test_screening_keeps_only_ranges_strictly_below_the_threshold():
    # a moving range exactly equal to 3.267 x mean(mR) is screened out ("keep if strictly
    # below"): ranges 3267, nine of 773 and one of 776 sum to 11000 over 11, mean(mR) = 1000,
    # and 3.267 x 1000 = 3267 exactly
    ranges = [3267] + [773] * 9 + [776]
    values = _zigzag(10000, ranges)
    assert len(values) == 12
    r = run(values)
    g = r.groups[0]
    assert g.moving_ranges_screened == 1
    # recomputed once from the ten kept ranges: 7733 / 10
    assert g.mean_moving_range == pytest.approx(773.3)
    mean = math.fsum(values) / 12
    assert g.upper_limit == pytest.approx(mean + 2.66 * 773.3)


def test_screening_happens_once_only():
    # ranges 100, 10, then eight of 1 (9 points... plus one more 1): mean(mR) = 119/11 = 10.82;
    # 100 >= 35.3 is dropped; the recomputed mean(mR) = 19/10 = 1.9, and the 10 (>= 3.267 x
    # 1.9 = 6.2) is NOT dropped in a second pass
    ranges = [100, 10] + [1] * 9
    values = _zigzag(0, ranges)
    g = run(values).groups[0]
    assert g.moving_ranges_screened == 1
    assert g.mean_moving_range == pytest.approx(1.9)


def test_constant_series_with_screening_has_no_limits():
    # every moving range is 0, and 0 is not strictly below 3.267 x 0, so all are screened and
    # the package's mean moving range (and limits) are NaN: here None
    r = run([5.0] * 12, direction="increase", target=5)
    g = r.groups[0]
    assert g.mean == 5.0
    assert g.mean_moving_range is None
    assert g.lower_limit is g.upper_limit is g.near_lower is g.near_upper is None
    assert types(r) == ["common_cause"] * 12  # every point is on the mean: no shift
    assert r.assurance is None  # deviation: the package says "inconsistent"
    assert "No limits" in g.label


def test_constant_series_without_screening_has_limits_on_the_mean():
    r = run([5.0] * 12, screen_outliers=False)
    g = r.groups[0]
    assert g.mean_moving_range == 0.0
    assert g.lower_limit == g.upper_limit == 5.0
    # a point on a limit is inside: still common cause
    assert types(r) == ["common_cause"] * 12


def test_single_point_has_no_limits():
    r = run([7.0], direction="increase")
    assert r.groups[0].lower_limit is None
    assert r.points[0].point_type == "common_cause"
    assert r.variation.key == "common_cause"
    assert r.groups[0].trial is True


def test_no_points():
    r = spc([], [])
    assert r.groups == () and r.points == ()
    assert r.variation is None and r.assurance is None
    assert r.as_dict()["mean"] is None


# --------------------------------------------------------------------------------------------
# Rule 1: outside the process limits


def test_point_exactly_on_a_limit_is_inside():
    # R: ptd_spc_standard.R: outside_limits = y > upl | y < lpl (strict)
    r = fixed([133.0, -25.0, -133.0, 25.0])
    assert r.groups[0].upper_limit == 133.0 and r.groups[0].lower_limit == -133.0
    assert rules(r)[12:] == [None, None, None, None]


def test_point_beyond_a_limit_is_outside():
    r = fixed([133.5, -25.0, -133.5, 25.0], direction="increase")
    assert rules(r)[12:] == ["outside_limits", None, "outside_limits", None]
    assert [p.signal for p in r.points[12:15:2]] == ["high", "low"]
    assert types(r)[12] == "special_cause_improvement"
    assert types(r)[14] == "special_cause_concern"


# --------------------------------------------------------------------------------------------
# Rule 2: a trend of 7


def test_seven_rising_points_are_a_trend():
    # after the baseline's -25: -30, -20, ..., 30 is 7 strictly rising points (the step from
    # -25 down to -30 is not part of it); no point is near a limit (|30| < 88.67) and the
    # sides are -,-,-,0,+,+,+ so there is no shift
    r = fixed([-30, -20, -10, 0, 10, 20, 30, 0], direction="increase")
    assert rules(r)[11:] == [None] + ["trend"] * 7 + [None]
    assert {p.signal for p in r.points[12:19]} == {"high"}
    assert set(types(r)[12:19]) == {"special_cause_improvement"}
    r = fixed([-30, -20, -10, 0, 10, 20, 30, 0], direction="decrease")
    assert set(types(r)[12:19]) == {"special_cause_concern"}


def test_six_rising_points_are_not_a_trend():
    r = fixed([-30, -20, -10, 0, 10, 20, 0])
    assert rules(r)[12:] == [None] * 7


def test_an_equal_neighbour_breaks_a_trend():
    # R: test-ptd_calculate_point_type.R > ptd_seven_point_trend: c(1:3, 3:6) gives no trend
    r = fixed([-30, -20, -10, -10, 0, 10, 20, 30, 0])
    assert rules(r)[12:] == [None] * 9


def test_falling_trend():
    r = fixed([30, 20, 10, 0, -10, -20, -30, 0], direction="increase")
    assert rules(r)[12:] == ["trend"] * 7 + [None]
    assert {p.signal for p in r.points[12:19]} == {"low"}
    assert set(types(r)[12:19]) == {"special_cause_concern"}


def test_trend_signal_at_a_peak_follows_the_next_point():
    # R: ptd_calculate_point_type.R > ptd_special_cause_type: "if a point is part of a trend
    # either side, use right side". Rising -30..30 then falling 30..-30 share the peak 30; the
    # package marks the peak with the direction towards the next point (falling).
    after = [-30, -20, -10, 0, 10, 20, 30, 20, 10, 0, -10, -20, -30]
    r = fixed(after, direction="increase")
    assert rules(r)[12:] == ["trend"] * 13
    signals = [p.signal for p in r.points[12:]]
    assert signals == ["high"] * 6 + ["low"] + ["low"] * 6
    assert types(r)[18] == "special_cause_concern"


def test_outside_limits_takes_precedence_over_a_trend():
    # 1..7 on its own: mean 4, mR all 1, limits 4 -/+ 2.66 = 1.34 .. 6.66, near 2.23 .. 5.77.
    # 1 and 7 are outside; 2..6 are in the trend. Two in three: windows (1,2,3) and (5,6,7)
    # each hold one "close" point (2 or 6; 1 and 7 are outside, not close): no signal.
    r = run([1, 2, 3, 4, 5, 6, 7], direction="increase")
    assert rules(r) == ["outside_limits"] + ["trend"] * 5 + ["outside_limits"]
    assert [p.signal for p in r.points] == ["low"] + ["high"] * 6
    assert types(r)[0] == "special_cause_concern"
    assert r.variation.key == "improvement_high"


def test_trend_takes_precedence_over_two_in_three_and_shift():
    # -25 (last baseline point), 1, 2, 3, 4, 5, 90, 100: 8 strictly rising points. 90 and 100
    # are close (beyond 88.67) with 5 on the same side (two in three), and 1..100 are 7 above
    # the mean (a shift), but the trend comes first.
    r = fixed([1, 2, 3, 4, 5, 90, 100])
    assert rules(r)[11:] == ["trend"] * 8


# --------------------------------------------------------------------------------------------
# Rule 3: two of three beyond a near limit


def test_two_of_three_close_points_on_one_side():
    # 100, 50, 100 after the baseline: all above the mean, two beyond the near limit (88.67)
    # and inside the limit (133): the two close points are flagged, the 50 is not
    r = fixed([100, 50, 100, -25], direction="decrease")
    assert rules(r)[11:] == [None, "two_in_three", None, "two_in_three", None]
    assert r.points[12].signal == "high"
    assert r.points[12].point_type == "special_cause_concern"


def test_two_close_points_on_opposite_sides_are_not_a_signal():
    # R: test-ptd_spc_standard.R > "it only reports special cause for 2of3 points close to
    # limits when they are on the same side of the mean"
    values = [1.0, -1.0] * 8
    values[14], values[15] = 5.5, -5.5
    # by hand: mean 0; moving ranges: thirteen of 2, 6.5, 11 -> mean 43.5/15 = 2.9; 11 >=
    # 9.47 is screened, mean(mR) = 32.5/14 = 2.32; limits -/+6.18, near -/+4.12: 5.5 and
    # -5.5 are both close, on opposite sides
    r = spc(values, month_ends(16), direction="increase")
    assert [p.point_type for p in r.points[-2:]] == ["common_cause", "common_cause"]


def test_two_in_three_needs_all_three_points_on_the_same_side():
    # the middle point below the mean
    r = fixed([100, -50, 100, -25])
    assert rules(r)[12:] == [None] * 4
    # the middle point exactly on the mean: sum of sides is 2, not 3
    r = fixed([100, 0, 100, -25])
    assert rules(r)[12:] == [None] * 4


def test_two_in_three_counts_only_close_points_not_outside_ones():
    # 100 close, 150 outside, 40 neither: only one close point in the window, so the 100 is
    # not flagged (NHS England's Excel tool would count the 150 and flag it)
    r = fixed([100, 150, 40, -25])
    assert rules(r)[12:] == [None, "outside_limits", None, None]
    # but two close points around an outside one are a signal: the outside point keeps rule 1
    r = fixed([100, 150, 100, -25])
    assert rules(r)[12:] == ["two_in_three", "outside_limits", "two_in_three", None]


def test_two_in_three_with_a_gap_of_one():
    # close, not close, close (same side): the window of three holds two close points
    r = fixed([100, 10, 100, -25], direction="increase")
    assert rules(r)[12:] == ["two_in_three", None, "two_in_three", None]
    assert types(r)[12] == "special_cause_improvement"


def test_two_in_three_below_the_mean():
    r = fixed([-100, -95, 25], direction="increase")
    assert rules(r)[12:] == ["two_in_three", "two_in_three", None]
    assert {p.signal for p in r.points[12:14]} == {"low"}
    assert set(types(r)[12:14]) == {"special_cause_concern"}


# --------------------------------------------------------------------------------------------
# Rule 4: a shift of 7


def test_seven_points_on_one_side_are_a_shift():
    r = fixed([10] * 7 + [-25], direction="increase")
    assert rules(r)[11:] == [None] + ["shift"] * 7 + [None]
    assert set(types(r)[12:19]) == {"special_cause_improvement"}
    assert r.variation.key == "common_cause"  # the latest point (-25) is not part of it


def test_six_points_on_one_side_are_not_a_shift():
    r = fixed([10] * 6 + [-25])
    assert rules(r)[12:] == [None] * 7


def test_a_point_on_the_mean_breaks_a_shift():
    # R: ptd_seven_point_one_side_mean: a 0 (on the mean) never counts
    r = fixed([10, 10, 10, 0, 10, 10, 10, -25])
    assert rules(r)[12:] == [None] * 8


def test_shift_below_the_mean_and_a_longer_run():
    # the baseline ends on -25, so -25 + eight of -10 is a run of 9 below the mean
    r = fixed([-10] * 8, direction="decrease")
    assert rules(r)[11:] == ["shift"] * 9
    assert rules(r)[10] is None
    assert set(types(r)[11:]) == {"special_cause_improvement"}
    assert r.variation.key == "improvement_low"


def test_two_in_three_takes_precedence_over_a_shift():
    # seven points above the mean; the last two are close: they are two-in-three, the rest
    # shift
    r = fixed([10, 10, 10, 10, 10, 90, 100])
    assert rules(r)[12:] == ["shift"] * 5 + ["two_in_three"] * 2


# --------------------------------------------------------------------------------------------
# Point types and the variation icon


def test_neutral_direction_gives_neither():
    r = fixed([10] * 7, direction="neutral", target=1000)
    assert set(types(r)[12:]) == {"special_cause_neither"}
    assert r.variation.key == "neither_high"
    assert r.assurance is None  # R: assurance is NA for a neutral metric
    r = fixed([-200])
    assert r.points[-1].point_type == "special_cause_neither"
    assert r.variation.key == "neither_low"


@pytest.mark.parametrize(
    "direction,last,icon",
    [
        ("increase", 200, "improvement_high"),
        ("increase", -200, "concern_low"),
        ("decrease", 200, "concern_high"),
        ("decrease", -200, "improvement_low"),
        ("increase", 0, "common_cause"),
    ],
)
def test_variation_icon_from_the_latest_point(direction, last, icon):
    # R: geom_ptd_icon.R > ptd_get_icons (the variation icon is the last point's type)
    r = fixed([300, last], direction=direction)  # 300 is outside, but it is not the latest
    assert r.variation.key == icon
    assert r.variation.words


def test_direction_accepts_registry_polarity_words():
    assert fixed([200], direction="higher_better").variation.key == "improvement_high"
    assert fixed([200], direction="lower_better").variation.key == "concern_high"


# --------------------------------------------------------------------------------------------
# Assurance


@pytest.mark.parametrize(
    "direction,target,key",
    [
        # limits are -133 .. 133
        ("increase", 200, "fail"),
        ("increase", -200, "pass"),
        ("increase", 0, "hit_or_miss"),
        ("decrease", 200, "pass"),
        ("decrease", -200, "fail"),
        ("decrease", 0, "hit_or_miss"),
        # a target exactly on a limit is hit or miss (R: strict target > upl, target < lpl)
        ("increase", 133.0, "hit_or_miss"),
        ("increase", -133.0, "hit_or_miss"),
        ("decrease", 133.0, "hit_or_miss"),
        ("decrease", -133.0, "hit_or_miss"),
        ("increase", 133.001, "fail"),
        ("increase", -133.001, "pass"),
    ],
)
def test_assurance(direction, target, key):
    r = run(BASELINE, direction=direction, target=target)
    assert (r.groups[0].lower_limit, r.groups[0].upper_limit) == (-133.0, 133.0)
    assert r.assurance.key == key
    assert r.assurance.words


def test_assurance_mirrors_the_packages_test_cases():
    # R: test-ptd_calculate_assurance_type.R > increase / decrease: limits (1, 3), (5, 7),
    # (1, 5) with target 4 -> fail, pass, inconsistent for "increase"; pass, fail,
    # inconsistent for "decrease". Limits m -/+ 1 need mean(mR) = 1/2.66: values alternate
    # m -/+ 1/5.32.
    half = 1 / 5.32
    for (lo, hi), inc, dec in [
        ((1, 3), "fail", "pass"),
        ((5, 7), "pass", "fail"),
        ((1, 5), "hit_or_miss", "hit_or_miss"),
    ]:
        m, d = (lo + hi) / 2, (hi - lo) / 2
        values = [m + d * half, m - d * half] * 6
        up = run(values, direction="increase", target=4)
        assert up.groups[0].lower_limit == pytest.approx(lo)
        assert up.groups[0].upper_limit == pytest.approx(hi)
        assert up.assurance.key == inc
        assert run(values, direction="decrease", target=4).assurance.key == dec


def test_no_target_no_assurance():
    # R: "it returns a column of NA's if there is no target"
    assert run(BASELINE, direction="increase").assurance is None
    assert run(BASELINE, direction="increase", target=float("nan")).assurance is None


# --------------------------------------------------------------------------------------------
# Rebasing

# Two halves of 12 points. By hand:
#   A = 10,14,10,14,10,14,10,14, 9,10,11,12   (sum 138, mean 11.5)
#   B = 13,14,15, 10,14,10,14,10,14,10,14, 12 (sum 150, mean 12.5)
# 9,10,11,12,13,14,15 (indexes 8..14) is a run of 7 rising points across the join.
A = [10, 14] * 4 + [9, 10, 11, 12]
B = [13, 14, 15] + [10, 14] * 4 + [12]


def test_without_rebase_the_run_across_the_join_is_a_trend():
    # whole series: mean 288/24 = 12; moving ranges: 7x4, 5, 1, 1, 1, 1, 1, 1, 5, 7x4, 2
    # = 74 over 23, none >= 3.267 x 3.217 = 10.5; limits 12 -/+ 8.558 (3.442 .. 20.558),
    # near 12 -/+ 5.705: no point is outside or close; sides never run 7: only the trend
    r = run(A + B, direction="increase", target=3.5)
    assert len(r.groups) == 1
    assert r.groups[0].mean == pytest.approx(12)
    assert r.groups[0].lower_limit == pytest.approx(12 - 2.66 * 74 / 23)
    assert rules(r) == [None] * 8 + ["trend"] * 7 + [None] * 9
    # 3.5 is above the lower limit 3.442: hit or miss
    assert r.assurance.key == "hit_or_miss"


def test_rebase_splits_the_limits_and_the_rules():
    # R: test-ptd_spc_standard.R > "it sets the rebase_group field" (the rebase point starts
    # the new group); rules run within each group, so the run across the join is two short
    # runs (9..12 in A, 13..15 in B) and no trend.
    periods = month_ends(24)
    r = spc(A + B, periods, direction="increase", target=3.5, rebase_at=[periods[12]])
    ga, gb = r.groups
    assert (ga.start, ga.end, gb.start, gb.end) == (0, 11, 12, 23)
    assert (ga.start_period, gb.start_period) == (periods[0], periods[12])
    # A: mean 11.5; moving ranges 7x4, 5, 1, 1, 1 = 36 over 11
    assert ga.mean == pytest.approx(11.5)
    assert ga.upper_limit == pytest.approx(11.5 + 2.66 * 36 / 11)
    # B: mean 12.5; moving ranges 1, 1, 5, 7x4, 2 = 37 over 11 (the jump 12 -> 13 across
    # the join is in neither group)
    assert gb.mean == pytest.approx(12.5)
    assert gb.mean_moving_range == pytest.approx(37 / 11)
    assert gb.lower_limit == pytest.approx(12.5 - 2.66 * 37 / 11)  # 3.553
    assert rules(r) == [None] * 24
    assert [p.group for p in r.points] == [0] * 12 + [1] * 12
    assert r.points[20].mean == pytest.approx(12.5)
    # assurance uses the last group's limits: 3.5 < 3.553 -> consistently passes
    # (R: test-ptd_calculate_assurance_type.R > "it returns correct values for assurance
    # when rebase": the last row's limits decide)
    assert r.assurance.key == "pass"
    assert r.as_dict()["mean"] == pytest.approx(12.5)


def test_rebase_at_the_first_period_changes_nothing():
    r = run(A + B, rebase_at=[0])
    assert len(r.groups) == 1


def test_rebase_at_an_unknown_period_is_an_error():
    with pytest.raises(ValueError, match="rebase"):
        run(A + B, rebase_at=[99])


def test_rebase_periods_match_by_text_too():
    periods = month_ends(24)
    r = spc(A + B, periods, rebase_at=[periods[12].isoformat()])
    assert len(r.groups) == 2


def test_short_group_after_a_rebase_is_trial():
    # R: test-ptd_add_short_group_warnings.R > "warning on one facet": only the short group
    values = BASELINE * 2 + [1, 2, 3, 2, 1]
    r = run(values, rebase_at=[24])
    assert [g.trial for g in r.groups] == [False, True]
    assert [g.n_points for g in r.groups] == [24, 5]
    assert r.trial is True
    assert "Trial" in r.groups[1].label


# --------------------------------------------------------------------------------------------
# fix_after and trial limits


def test_fix_after_fixes_the_lines_on_the_first_points():
    # R: test-ptd_spc_standard.R > "setting fix_after_n_points changes the calculations"
    after = [40, 60, 40, 60, 40]
    fixed_r = fixed(after)
    g = fixed_r.groups[0]
    assert (g.mean, g.mean_moving_range, g.upper_limit) == (0.0, 50.0, 133.0)
    assert (g.n_points, g.n_baseline, g.fixed) == (17, 12, True)
    assert "fixed" in g.label
    free = run(BASELINE + after)
    # by hand: mean over 17 points = (0 + 240) / 17 = 14.12, not 0
    assert free.groups[0].mean == pytest.approx(240 / 17)
    assert free.groups[0].upper_limit != g.upper_limit


def test_fix_after_counts_within_each_group():
    # two groups of 14; each group's lines come from its own first 12 points
    values = BASELINE + [500, 500] + [v + 100 for v in BASELINE] + [-500, -500]
    r = run(values, fix_after=12, rebase_at=[14])
    assert [g.mean for g in r.groups] == [0.0, 100.0]
    assert [g.upper_limit for g in r.groups] == [133.0, 233.0]
    assert [g.n_baseline for g in r.groups] == [12, 12]
    assert rules(r)[12:14] == ["outside_limits"] * 2
    assert rules(r)[26:] == ["outside_limits"] * 2


def test_fix_after_longer_than_the_group_uses_every_point():
    r = run(BASELINE, fix_after=20)
    assert r.groups[0].n_baseline == 12
    assert r.groups[0].fixed is False


@pytest.mark.parametrize("bad", [11, 0, -3, 12.5, "12", True])
def test_fix_after_must_be_at_least_12(bad):
    # R: ptd_spc_options.R: "fix_after_n_points must be a single numeric that is greater than
    # or equal to 12."
    with pytest.raises(ValueError, match="fix_after"):
        run(BASELINE, fix_after=bad)


def test_fewer_than_12_points_are_trial_limits():
    # R: test-ptd_add_short_group_warnings.R > 11 points warn, 12 points do not
    r11 = run(BASELINE[:11])
    r12 = run(BASELINE)
    assert r11.groups[0].trial is True and r11.trial is True
    assert r11.as_dict()["trial"] is True
    assert "Trial limits" in r11.groups[0].label and "provisional" in r11.groups[0].label
    assert r12.groups[0].trial is False and r12.as_dict()["trial"] is False
    assert "Trial" not in r12.groups[0].label


# --------------------------------------------------------------------------------------------
# Missing values


def test_missing_values_are_dropped_and_listed():
    periods = month_ends(14)
    values = [10, 12, None, 11, 13, 12, float("nan"), 14, 13, 12, 11, 13, 12, 14]
    r = spc(values, periods)
    assert r.skipped == (periods[2], periods[6])
    assert len(r.points) == 12
    assert periods[2] not in [p.period for p in r.points]
    # the 12 values left are the hand-computed example's: the moving range spans the gap
    # (12 -> 11 across the missing month), mean 12.25, mean(mR) 16/11
    assert r.groups[0].mean == pytest.approx(12.25)
    assert r.groups[0].mean_moving_range == pytest.approx(16 / 11)
    assert r.as_dict()["skipped"] == [periods[2].isoformat(), periods[6].isoformat()]


def test_rebase_at_a_missing_value_starts_the_group_at_the_next_value():
    values = BASELINE + [None] + BASELINE
    r = run(values, rebase_at=[12])
    assert [(g.start, g.end, g.start_period) for g in r.groups] == [(0, 11, 0), (12, 23, 13)]


# --------------------------------------------------------------------------------------------
# Input checks and output


def test_input_checks():
    with pytest.raises(ValueError, match="periods"):
        spc([1, 2], [1])
    with pytest.raises(ValueError, match="direction"):
        run(BASELINE, direction="up")
    with pytest.raises(ValueError, match="duplicate"):
        spc([1, 2, 3], ["2023-24", "2024-25", "2023-24"])
    with pytest.raises(ValueError, match="not a number"):
        run([1, "x", 3])
    with pytest.raises(ValueError, match="infinite"):
        run([1, float("inf"), 3])
    with pytest.raises(ValueError, match="screen_outliers"):
        run(BASELINE, screen_outliers="no")


def test_as_dict_is_json_with_the_last_groups_lines():
    periods = month_ends(24)
    r = spc(A + B, periods, direction="increase", target=3.5, rebase_at=[periods[12]])
    d = json.loads(json.dumps(r.as_dict()))
    for key in (
        "mean", "lower_limit", "upper_limit", "near_lower", "near_upper",
        "variation", "assurance", "trial", "points", "groups",
    ):
        assert key in d
    assert d["mean"] == pytest.approx(12.5)
    assert d["upper_limit"] == pytest.approx(12.5 + 2.66 * 37 / 11)
    assert d["near_upper"] == pytest.approx(12.5 + 2 * (2.66 / 3) * 37 / 11)
    assert d["variation"] == "common_cause"
    assert d["assurance"] == "pass"
    assert d["trial"] is False
    assert len(d["points"]) == 24 and len(d["groups"]) == 2
    assert d["points"][0] == {
        "period": "2023-04-30",
        "value": 10.0,
        "group": 0,
        "point_type": "common_cause",
        "rule": None,
        "signal": None,
    }
    assert d["groups"][0]["mean"] == pytest.approx(11.5)


def test_point_words_and_frame():
    r = fixed([200], direction="increase")
    assert "improvement" in r.points[-1].words and "outside" in r.points[-1].words
    frame = r.to_frame()
    assert list(frame["rule"])[-1] == "outside_limits"
    assert len(frame) == 13


def test_module_imports_no_web_framework():
    import sys

    src = open(spc_module.__file__, encoding="utf-8").read()
    for name in ("dash", "flask", "plotly"):
        assert f"import {name}" not in src and f"from {name}" not in src
    assert "dashboard.analysis.spc" in sys.modules


# --------------------------------------------------------------------------------------------
# The package's own unit tests of its rule helpers, run against ours
# (R: tests/testthat/test-ptd_calculate_point_type.R)


def test_helper_seven_point_one_side_mean():
    # ptd_seven_point_one_side_mean: c(rep(1, 8), -1) -> c(0,0,0,0,0,0,1,1,0)
    ends = spc_module._run_ends
    assert ends([]) == []
    assert ends([1] * 6) == [False] * 6
    assert ends([1] * 6 + [-1]) == [False] * 7
    assert ends([1] * 8 + [-1]) == [False] * 6 + [True, True, False]
    assert ends([-1] * 8 + [1]) == [False] * 6 + [True, True, False]


def test_helper_part_of_seven():
    part = spc_module._part_of_run
    assert part([]) == []
    assert part([False] * 6) == [False] * 6
    assert part([False] * 6 + [True, False]) == [True] * 7 + [False]
    assert part([False] * 7 + [True, False]) == [False] + [True] * 7 + [False]


def test_helper_seven_point_trend():
    trend = spc_module._trend_ends
    assert trend([]) == []
    assert trend([1, 2, 3, 4, 5, 6]) == [False] * 6
    assert trend([1, 2, 3, 3, 4, 5, 6]) == [False] * 7
    assert trend([1, 2, 3, 4, 5, 6, 7]) == [False] * 6 + [True]
    assert trend([2, 1, 2, 3, 4, 5, 6, 7, 3]) == [False] * 7 + [True, False]
    assert trend([7, 6, 5, 4, 3, 2, 1]) == [False] * 6 + [True]
    assert trend([2, 7, 6, 5, 4, 3, 2, 1, 3]) == [False] * 7 + [True, False]


def test_helper_two_in_three():
    # ptd_two_in_three composed with ptd_part_of_two_in_three: only close points are flagged
    t = spc_module._two_in_three
    assert t([], []) == []
    for close in ([1, 0, 1], [0, 1, 1], [1, 1, 0]):
        flags = t([bool(c) for c in close], [1, 1, 1])
        assert flags == [bool(c) for c in close]
        assert t([bool(c) for c in close], [1, -1, 1]) == [False] * 3
    assert t([False, False, True, False, True, False, False], [1] * 7) == [
        False, False, True, False, True, False, False,
    ]
    assert t([False, False, True, True, False, False, False], [-1, 1, -1, 1, -1, 1, -1]) == [
        False
    ] * 7
    # hv = c(1, 0, 0, 1) -> all 0; iv = c(1, 0, 0, 1, 1) -> c(0, 0, 0, 1, 1)
    assert t([True, False, False, True], [1] * 4) == [False] * 4
    assert t([True, False, False, True, True], [1] * 5) == [False, False, False, True, True]


# --------------------------------------------------------------------------------------------
# The command-line helpers (dashboard/spc_cli.py)

HAND_CSV = """\ufeffPeriod,Value,note
2023-04-30,10,
May 2023,12,
2023-06,11,

Jul 2023,13,
Aug 2023,12,
Sep 2023,14,
Oct 2023,13,
Nov 2023,12,
Dec 2023,11,
Jan 2024,13,
Feb 2024,12,
Mar 2024,14,
"""


@pytest.mark.parametrize(
    "text,end",
    [
        ("2024-03-31", dt.date(2024, 3, 31)),
        ("31/03/2024", dt.date(2024, 3, 31)),
        ("2023-24", dt.date(2024, 3, 31)),
        ("Mar 2024", dt.date(2024, 3, 31)),
        ("march 2024", dt.date(2024, 3, 31)),
        ("2024-02", dt.date(2024, 2, 29)),
        ("2023-24 Q1", dt.date(2023, 6, 30)),
        ("  Sep 2023 ", dt.date(2023, 9, 30)),
    ],
)
def test_parse_period(text, end):
    assert parse_period(text) == end


@pytest.mark.parametrize("text", ["", "2024", "2023-25", "31/02/2024", "soon"])
def test_parse_period_rejects(text):
    with pytest.raises(ValueError):
        parse_period(text)


def test_series_from_csv_reads_any_period_form_in_time_order():
    shuffled = "period,value\nMar 2024,3\n2023-24 Q3,2\n2023-06-30,1\nApr 2024,\nMay 2024,c\n"
    periods, values = series_from_csv(shuffled)
    assert periods == [
        dt.date(2023, 6, 30), dt.date(2023, 12, 31), dt.date(2024, 3, 31),
        dt.date(2024, 4, 30), dt.date(2024, 5, 31),
    ]
    assert values == [1.0, 2.0, 3.0, None, None]  # empty and suppressed are missing


def test_series_from_csv_header_bom_extra_columns_blank_lines_and_grouped_numbers():
    periods, values = series_from_csv(HAND_CSV)
    assert len(periods) == 12 and periods[0] == dt.date(2023, 4, 30)
    assert values == [10, 12, 11, 13, 12, 14, 13, 12, 11, 13, 12, 14]
    _, values = series_from_csv('value,period\n"1,234",2023-24\n')
    assert values == [1234.0]


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "empty"),
        ("date,value\n2024-03-31,1\n", "period"),
        ("period,value\n2024-03-31,1\nsoon,2\n", "line 3"),
        ("period,value\n2024-03-31,lots\n", "not a number"),
        ("period,value\nMar 2024,1\n2024-03-31,2\n", "already on line 2"),
    ],
)
def test_series_from_csv_errors_name_the_line(text, message):
    with pytest.raises(ValueError, match=message):
        series_from_csv(text)


def test_spc_from_csv_and_format_table():
    r = spc_from_csv(HAND_CSV, direction="increase", target=20)
    # the hand-computed example: mean 12.25, limits 8.38 .. 16.12; 20 > 16.12 with higher is
    # better: consistently fails
    assert r.groups[0].mean == pytest.approx(12.25)
    assert r.assurance.key == "fail"
    text = format_table(r)
    assert "direction increase, target 20.00" in text
    assert "mean 12.25, lower 8.38, upper 16.12" in text
    assert "Variation: Common cause variation" in text
    assert "consistently be missed" in text
    assert text.count("common cause") == 12
    assert "2024-03-31" in text


def test_spc_from_csv_rebase_and_flags():
    text = "period,value\n" + "".join(
        f"{p.isoformat()},{v}\n" for p, v in zip(month_ends(24), A + B)
    )
    r = spc_from_csv(text, rebase_at=["Apr 2024"], fix_after=12, screen_outliers=False)
    assert [g.start_period for g in r.groups] == [dt.date(2023, 4, 30), dt.date(2024, 4, 30)]
    assert r.screen_outliers is False and r.fix_after == 12
    table = format_table(r)
    assert "Screening of large moving ranges: off; limits fixed after 12 points" in table
    with pytest.raises(ValueError, match="rebase"):
        spc_from_csv(text, rebase_at=["soon"])


def test_format_table_shows_rules_trial_and_skipped():
    r = spc_from_csv("period,value\nJan 2024,1\nFeb 2024,\nMar 2024,2\n", direction="neutral")
    text = format_table(r)
    assert "Trial limits" in text
    assert "Missing values skipped: 2024-02-29" in text
    assert "none (no target" in text
    r = spc([1, 2, 3, 4, 5, 6, 7], month_ends(7), direction="decrease")
    text = format_table(r)
    assert "high: part of a run of 7 points each rising or each falling" in text
    assert "low: outside the process limits" in text
    assert format_table(spc([], [])).endswith("No data.\n")
