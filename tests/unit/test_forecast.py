"""Projection of monthly demand: refusal below 24 months, the back-test, intervals, crossing()."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dashboard.analysis import forecast
from dashboard.analysis.forecast import Projection, crossing, mape, project

#: A seasonal shape (mean 0) for constructed series: low in August and December.
SHAPE = np.array([2.0, 0.0, 6.0, -6.0, 3.0, 5.0, 2.0, -20.0, 4.0, 12.0, 10.0, -18.0])


def monthly(values, start="2022-04-30") -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=pd.date_range(start, periods=len(values), freq="ME"))


def seasonal(n: int, level: float = 100.0, start="2022-04-30") -> pd.Series:
    idx = pd.date_range(start, periods=n, freq="ME")
    return pd.Series(level + SHAPE[idx.month - 1], index=idx)


def noisy(n: int, level: float = 120.0, sd: float = 6.0, seed: int = 1) -> pd.Series:
    rng = np.random.default_rng(seed)
    s = seasonal(n, level)
    return s + rng.normal(0, sd, n) + np.linspace(0, 8, n)


# --------------------------------------------------------------------------- refusal


@pytest.mark.parametrize("n", [1, 12, 23])
def test_no_projection_below_24_months(n):
    p = project(noisy(n))
    assert p.method == forecast.NONE and not p.available
    assert "fewer than 24 months" in p.reason
    assert p.forecast.empty and p.backtest is None
    assert p.ahead(1) is None and p.rows() == []
    assert crossing(p, 0, "above") is None


def test_24_months_projects_but_cannot_back_test():
    p = project(noisy(24))
    assert p.method == forecast.ETS
    assert len(p.forecast) == 12
    assert p.backtest is None
    assert "36 months" in p.backtest_reason and "24" in p.backtest_reason


def test_a_month_missing_inside_the_series_means_no_projection():
    s = noisy(36)
    p = project(s.drop(s.index[10]))
    assert p.method == forecast.NONE
    assert "February 2023" in p.reason
    s.iloc[5] = np.nan
    assert "September 2022" in project(s).reason


def test_a_month_given_twice_is_an_error():
    s = noisy(30)
    s.index = [d.date().replace(day=1) for d in s.index[:-1]] + [s.index[0].date()]
    with pytest.raises(ValueError, match="more than once"):
        project(s)


def test_index_may_be_dates_strings_or_periods_and_unordered():
    base = noisy(30)
    expected = project(base).forecast
    as_dates = pd.Series(base.to_numpy(), index=[d.date().replace(day=1) for d in base.index])
    as_text = pd.Series(base.to_numpy(), index=[d.strftime("%Y-%m-%d") for d in base.index])
    as_periods = pd.Series(base.to_numpy(), index=base.index.to_period("M"))
    shuffled = base.iloc[np.random.default_rng(0).permutation(len(base))]
    for s in (as_dates, as_text, as_periods, shuffled):
        pd.testing.assert_frame_equal(project(s).forecast, expected)
    assert expected.index[0] == pd.Timestamp("2024-10-31")


# --------------------------------------------------------------------------- the projection


def test_projection_six_and_twelve_months_ahead():
    s = noisy(36)
    p = project(s)
    assert p.method == forecast.ETS and p.reason == ""
    assert p.last_period == dt.date(2025, 3, 31) and p.last_value == pytest.approx(s.iloc[-1])
    six, twelve = p.ahead(6), p.ahead(12)
    assert six["period_end"] == dt.date(2025, 9, 30)
    assert twelve["period_end"] == dt.date(2026, 3, 31)
    assert set(six) == {"period_end", "point", "lower_80", "upper_80", "lower_95", "upper_95"}
    assert p.ahead(13) is None and p.ahead(0) is None
    assert len(p.rows()) == 12


def test_projection_follows_a_seasonal_pattern():
    p = project(noisy(48, sd=2.0))
    by_month = {ts.month: v for ts, v in p.forecast["point"].items()}
    assert by_month[8] < by_month[7] and by_month[8] < by_month[9]
    assert by_month[12] < by_month[11] and by_month[10] > by_month[9]


def test_intervals_are_ordered_and_95_wider_than_80():
    p = project(noisy(36))
    f = p.forecast
    assert (f["lower_95"] <= f["lower_80"]).all() and (f["lower_80"] <= f["point"]).all()
    assert (f["point"] <= f["upper_80"]).all() and (f["upper_80"] <= f["upper_95"]).all()
    assert ((f["upper_95"] - f["lower_95"]) > (f["upper_80"] - f["lower_80"])).all()


def test_other_levels_name_their_columns():
    f = project(noisy(36), levels=(0.5, 0.975)).forecast
    assert list(f.columns) == ["point", "lower_50", "upper_50", "lower_97.5", "upper_97.5"]
    with pytest.raises(ValueError):
        project(noisy(36), levels=(0.8, 1.2))


def test_counts_are_never_negative_and_the_clipping_is_said():
    rng = np.random.default_rng(3)
    s = monthly(rng.poisson(1.0, 36))
    p = project(s)
    assert (p.forecast.to_numpy() >= 0).all()
    assert p.clipped and forecast.CLIP_NOTE in p.notes
    assert (p.backtest.table["predicted"] >= 0).all()


def test_a_percentage_is_kept_at_or_below_its_ceiling():
    s = monthly(np.clip(97 + np.tile(SHAPE / 8, 3) + np.linspace(0, 3, 36), 0, 100))
    p = project(s, upper=100)
    assert (p.forecast.to_numpy() <= 100).all() and p.clipped
    assert any("above 100" in n for n in p.notes)
    assert (p.backtest.table["predicted"] <= 100).all()


def test_not_counts_may_go_below_zero():
    s = monthly(np.linspace(5, -5, 36) + np.tile(SHAPE / 10, 3))
    p = project(s, nonnegative=False, kind="stock")
    assert not p.clipped and (p.forecast["lower_95"] < 0).any()
    assert p.kind == "stock"


def test_deterministic():
    a, b = project(noisy(36)), project(noisy(36))
    pd.testing.assert_frame_equal(a.forecast, b.forecast)
    assert a.backtest.mape == b.backtest.mape


# --------------------------------------------------------------------------- fallback


def test_seasonal_naive_when_the_model_fails(monkeypatch):
    def broken(*args, **kwargs):
        raise forecast._FitFailed("the exponential smoothing optimiser did not converge")

    monkeypatch.setattr(forecast, "_ets", broken)
    s = noisy(36)
    p = project(s)
    assert p.method == forecast.SEASONAL_NAIVE
    assert "did not converge" in p.reason and p.reason in p.notes
    # each month repeats the same month of the last year
    assert p.forecast["point"].tolist() == pytest.approx(s.iloc[-12:].tolist())
    assert p.backtest.method == forecast.SEASONAL_NAIVE


def test_a_constant_series_is_projected_as_itself():
    p = project(monthly([7] * 30))
    assert p.method == forecast.SEASONAL_NAIVE and "constant" in p.reason
    assert (p.forecast["point"] == 7).all() and (p.forecast["upper_95"] == 7).all()


def test_seasonal_naive_interval_by_hand():
    s = seasonal(36)
    s.iloc[-12:] += 10.0  # year-on-year differences: 0 for 12 months, then 10 for 12 months
    p = project(s, method="seasonal_naive")
    sigma = np.sqrt((12 * 0.0 + 12 * 100.0) / 24)  # root mean square of the 24 differences
    half80 = 1.2815515655446004 * sigma
    first = p.forecast.iloc[0]
    assert first["point"] == pytest.approx(s.iloc[-12])
    assert first["upper_80"] - first["point"] == pytest.approx(half80)
    # 13 months ahead: two years ahead, sqrt(2) wider
    far = project(s, horizon=13, method="seasonal_naive").forecast.iloc[12]
    assert far["upper_80"] - far["point"] == pytest.approx(half80 * np.sqrt(2))


# --------------------------------------------------------------------------- back-test


def test_back_test_mape_by_hand():
    """Seasonal naive refitted on the first 24 months predicts year 3 = year 2; year 3 is year 2 + 10."""
    s = seasonal(36, level=100.0)
    s.iloc[-12:] += 10.0
    p = project(s, method="seasonal_naive")
    bt = p.backtest
    assert list(bt.table.index) == list(s.index[-12:])
    assert bt.table["actual"].tolist() == s.iloc[-12:].tolist()
    assert bt.table["predicted"].tolist() == s.iloc[12:24].tolist()
    actual = 110.0 + SHAPE[(s.index[-12:].month - 1)]
    expected = float(np.mean(10.0 / actual) * 100)
    assert bt.mape == pytest.approx(expected)
    assert bt.benchmark_mape == pytest.approx(expected)
    assert bt.zero_actuals == 0


def test_back_test_of_a_perfectly_seasonal_series_is_zero():
    """Level 100 and a fixed seasonal shape: the 12 held-out months are known exactly, so the MAPE is 0.

    With no noise at all the likelihood has no optimum, the optimiser reports no convergence,
    and the fallback (seasonal naive) is exact: the answer is the same whichever method runs.
    """
    p = project(seasonal(36, level=100.0))
    assert p.backtest.mape == pytest.approx(0.0, abs=1e-9)
    assert p.backtest.benchmark_mape == 0.0
    assert p.forecast["point"].to_numpy() == pytest.approx(100.0 + SHAPE[p.forecast.index.month - 1])


def test_back_test_of_a_nearly_perfect_seasonal_series_uses_the_model():
    s = seasonal(36, level=100.0) + np.random.default_rng(0).normal(0, 0.01, 36)
    p = project(s)
    assert p.method == forecast.ETS and p.backtest.method == forecast.ETS
    assert p.backtest.mape < 0.1
    assert p.forecast["point"].to_numpy() == pytest.approx(100.0 + SHAPE[p.forecast.index.month - 1], abs=0.1)


def test_back_test_leaves_out_zero_actuals():
    s = seasonal(36, level=100.0)
    s.iloc[-12:] += 10.0
    s.iloc[-5] = 0.0
    bt = project(s, method="seasonal_naive").backtest
    keep = [i for i in range(12) if i != 7]
    actual = s.iloc[-12:].to_numpy()[keep]
    predicted = s.iloc[12:24].to_numpy()[keep]
    assert bt.mape == pytest.approx(float(np.mean(np.abs(actual - predicted) / actual) * 100))
    assert bt.zero_actuals == 1 and "left out" in bt.note
    assert np.isnan(bt.table["abs_pct_error"].iloc[7])
    assert bt.rows()[7]["abs_pct_error"] is None


def test_mape():
    assert mape([100, 200], [110, 180]) == (pytest.approx(10.0), 0)
    assert mape([0, 100], [5, 90]) == (pytest.approx(10.0), 1)
    assert mape([0, 0], [1, 2]) == (None, 2)


# --------------------------------------------------------------------------- crossing


def constructed(points, last_value, start="2025-04-30") -> Projection:
    idx = pd.date_range(start, periods=len(points), freq="ME")
    pts = np.asarray(points, dtype=float)
    frame = pd.DataFrame({"point": pts, "lower_80": pts - 1, "upper_80": pts + 1, "lower_95": pts - 2,
                          "upper_95": pts + 2}, index=idx)
    return Projection(method=forecast.ETS, reason="", kind="stock", n_months=36, last_period=dt.date(2025, 3, 31),
                      last_value=last_value, levels=(0.8, 0.95), forecast=frame)


def test_crossing_above_and_below():
    p = constructed([17, 18, 18.5, 20, 21, 19], last_value=16.5)
    assert crossing(p, 18, "above") == dt.date(2025, 6, 30)  # 18 is not above 18; 18.5 is
    assert crossing(p, 20, "above") == dt.date(2025, 8, 31)
    assert crossing(p, 25, "above") is None
    assert crossing(p, 20.5, "below") == dt.date(2025, 9, 30)  # from 21 down to 19
    assert crossing(p, 10, "below") is None


def test_crossing_when_already_past_the_threshold():
    p = constructed([17, 15, 17], last_value=16)
    assert crossing(p, 15.5, "above") == dt.date(2025, 6, 30)  # above now; below in May; above again in June
    assert crossing(constructed([17, 18], last_value=16), 15, "above") is None


def test_crossing_checks_direction():
    with pytest.raises(ValueError):
        crossing(constructed([1], 0), 1, "up")


def test_crossing_on_a_real_projection():
    s = monthly(np.arange(36) * 2.0 + 100 + np.tile(SHAPE / 10, 3))
    p = project(s, kind="stock")
    first = crossing(p, float(p.forecast["point"].iloc[5]) - 0.01, "above")
    assert first is not None and first <= p.forecast.index[5].date()
