"""Capacity on the demand page and in the command: the caseload implied by children in need over
social worker FTE in post, now and projected, against the caseload target; the agency share; and
the month the projection passes the target. Series and projections are made by hand here, so the
expected months and ratios are worked out in the test."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd
import pytest

from dashboard.analysis.forecast import Projection
from dashboard.demand_view import SeriesSummary, _capacity

MONTHS = pd.date_range("2023-04-30", periods=24, freq="ME")
AHEAD = pd.date_range("2025-04-30", periods=12, freq="ME")


def projection(last: pd.Timestamp, last_value: float, points: list[float]) -> Projection:
    idx = pd.date_range(last + pd.offsets.MonthEnd(1), periods=len(points), freq="ME")
    frame = pd.DataFrame({"point": points, "lower_80": points, "upper_80": points, "lower_95": points,
                          "upper_95": points}, index=idx)
    return Projection(method="ets", reason="", kind="stock", n_months=24, last_period=last.date(),
                      last_value=last_value, levels=(0.8, 0.95), forecast=frame)


def summary(metric_id: str, values: list[float], points: list[float] | None, months=MONTHS) -> SeriesSummary:
    s = pd.Series(values, index=months[:len(values)], dtype=float)
    proj = projection(s.index[-1], float(s.iloc[-1]), points) if points is not None else Projection(
        method="none", reason="Fewer than 24 months.", kind="stock", n_months=len(s),
        last_period=s.index[-1].date(), last_value=float(s.iloc[-1]), levels=(0.8, 0.95),
        forecast=pd.DataFrame(columns=["point"]))
    return SeriesSummary(metric_id=metric_id, title=metric_id, kind="stock", unit="count", decimals=0,
                         n_months=len(s), first_period=s.index[0].date(), latest_period=s.index[-1].date(),
                         latest_value=float(s.iloc[-1]), window="latest", current=None, previous=None, change=None,
                         change_pct=None, projection=proj, values=s)


@pytest.fixture
def ctx(registry):
    return SimpleNamespace(registry=registry)


def test_caseload_now_projected_and_the_month_it_passes_the_target(ctx):
    cin = summary("demand_cin_open", [1600.0] * 24, [1640, 1680, 1720, 1760, 1800, 1840, 1880, 1920, 1960, 2000,
                                                     2040, 2080])
    fte = summary("demand_sw_fte", [100.0] * 23 + [98.0], [98.0] * 12)
    agency = summary("demand_agency_fte", [20.0] * 23 + [22.0], None)
    cap = _capacity(ctx, {"demand_cin_open": cin, "demand_sw_fte": fte, "demand_agency_fte": agency})
    assert cap.target == 18 and cap.target_illustrative  # the registry's example target
    assert cap.now_period == dt.date(2025, 3, 31)
    assert cap.implied_caseload == round(1600 / 98, 1) == 16.3
    assert cap.agency_share == round(100 * 22 / (98 + 22), 1) == 18.3
    # 1,640/98 = 16.7, 17.1, 17.6, 18.0 (17.96: not above), 18.4 in August 2025
    assert cap.projected[6] == round(1840 / 98, 1) and cap.projected[12] == round(2080 / 98, 1)
    assert cap.crossing == dt.date(2025, 8, 31)
    assert cap.crossing_words == "The projected caseload passes the target of 18 in August 2025."
    assert len(cap.history) == 24 and cap.history[-1] == (dt.date(2025, 3, 31), 16.3)
    assert [d for d, _ in cap.path] == [t.date() for t in AHEAD]


def test_already_above_and_staying_within(ctx):
    fte = summary("demand_sw_fte", [100.0] * 24, [100.0] * 12)
    above = summary("demand_cin_open", [1900.0] * 24, [1900.0] * 12)
    cap = _capacity(ctx, {"demand_cin_open": above, "demand_sw_fte": fte})
    assert cap.crossing is None and cap.crossing_words == "The caseload (19) is already above the target of 18."
    within = summary("demand_cin_open", [1500.0] * 24, [1500.0] * 12)
    cap = _capacity(ctx, {"demand_cin_open": within, "demand_sw_fte": fte})
    assert cap.crossing is None and "stays within the target of 18" in cap.crossing_words
    assert cap.agency_share is None  # no agency FTE: no share


def test_months_that_do_not_match_are_never_divided(ctx):
    cin = summary("demand_cin_open", [1600.0] * 24, [1600.0] * 12)
    fte = summary("demand_sw_fte", [100.0] * 22, [100.0] * 12)  # two months behind
    cap = _capacity(ctx, {"demand_cin_open": cin, "demand_sw_fte": fte})
    assert cap.now_period == dt.date(2025, 1, 31) and cap.implied_caseload == 16.0
    assert cap.projected == {6: None, 12: None} and cap.crossing is None
    assert "same latest month" in cap.crossing_words


def test_no_projection_below_24_months_says_why(ctx):
    cin = summary("demand_cin_open", [1600.0] * 20, None)
    fte = summary("demand_sw_fte", [100.0] * 20, None)
    cap = _capacity(ctx, {"demand_cin_open": cin, "demand_sw_fte": fte})
    assert cap.implied_caseload == 16.0 and cap.projected == {6: None, 12: None}
    assert cap.crossing_words == "No projected caseload. Fewer than 24 months."
