"""Projections of monthly demand: the next 6 and 12 months, with prediction intervals and a back-test.

Pure functions: no Dash, no database. ``docs/demand.md`` explains the method in plain words.

API
---
``project(series, horizon=12, *, levels=(0.80, 0.95), kind="flow", nonnegative=True,
upper=None, method="auto") -> Projection``

* ``series``: a pandas Series of monthly values. Its index may be a DatetimeIndex, a
  PeriodIndex or dates (``datetime.date``, ISO strings); any day of a month stands for that
  month, and the projection is labelled by month-end dates. A month given twice is an error
  (``ValueError``); the series is put in time order.
* ``horizon``: months to project (at least 1; the page shows 6 and 12).
* ``levels``: the coverage of the prediction intervals, each strictly between 0 and 1.
* ``kind``: ``"flow"`` (a count in the month: referrals) or ``"stock"`` (a count at month
  end: children on a plan). The same model serves both; ``kind`` is carried for labels.
* ``nonnegative``: the series is a count (the default), so a projection or an interval
  bound below zero is set to zero, and ``Projection.notes`` says so.
* ``upper``: the most the figure can be (100 for a percentage), or None: a projection or
  bound above it is set to it, and a note says so.
* ``method``: ``"auto"`` (exponential smoothing, seasonal naive if it fails),
  ``"ets"`` (the same) or ``"seasonal_naive"`` (the benchmark only).

``crossing(projection, threshold, direction) -> datetime.date | None``: the first projected
month whose point projection passes the threshold ("caseload projected to pass the target in
June 2026").

``mape(actual, predicted) -> (value or None, months left out)``: the mean absolute percentage
error, months with a zero actual left out.

The method
----------
* **At least 24 months** (two full seasons): statsmodels' ``ETSModel`` with additive error,
  additive damped trend and additive seasonality of period 12 ("ETS(A,Ad,A)"), initial
  states by statsmodels' heuristic (Hyndman's centred moving average over the first two to
  five full years; it needs two), only the four smoothing and damping parameters estimated,
  by maximum likelihood; prediction intervals from the model's
  exact (analytic) forecast variance, assuming normal errors. The residual variance is
  divided by ``n - 18`` rather than ``n`` (18: four smoothing parameters, initial level and
  trend, 11 free initial seasonal states, and the variance), as R's ``forecast::ets`` does;
  statsmodels divides by ``n``, and its intervals for 36-month Poisson-like seasonal series
  covered about 63% of outcomes at a nominal 80% in our simulations (about 80% corrected).
  No random numbers are drawn, so the same series always gives the same projection.
  ETSModel was chosen over Holt-Winters ``ExponentialSmoothing`` because its intervals are
  analytic rather than simulated, and heuristic initialisation over estimated because it
  is ten times faster and covered no worse.
* **Seasonal-naive fallback**, when exponential smoothing fails: the fit raises an error, the
  optimiser reports that it did not converge (or warns so), or the projection or its
  variance is not a finite number; and for a constant series (nothing to smooth). A series
  with no noise at all (a perfect repeat) usually ends here, as the likelihood has no
  optimum; seasonal naive is then exact. Each month repeats the same month of the last observed
  year; the interval is ``point +/- z * sigma * sqrt(k)`` where ``sigma`` is the root mean
  square of the year-on-year differences ``y[t] - y[t-12]`` and ``k`` the number of years
  ahead (1 for the first 12 months; Hyndman and Athanasopoulos, *Forecasting: principles
  and practice*, section 5.5). ``Projection.reason`` says why the fallback was used.
* **Fewer than 24 months**, or a month missing inside the series: no projection at all
  (``method == "none"`` and a plain-words ``reason``). A projection is never drawn from
  fewer than 24 months.
* **Back-test**: with at least 36 months, the same method is refitted on all but the last
  12 months (so that at least 24 remain), those 12 are projected and compared with what
  happened: :class:`Backtest` holds the table of actual against predicted and the MAPE, and
  the MAPE of the seasonal-naive benchmark on the same months (a model worth using should
  beat it). With 24 to 35 months there is a projection but no back-test, and
  ``Projection.backtest_reason`` says why: fitting on fewer than 24 months is exactly what
  the rule above forbids.
* **MAPE**: ``100 * mean(|actual - predicted| / |actual|)`` over the held-out months. A
  month whose actual is zero has no percentage error: it is left out of the mean, counted in
  ``Backtest.zero_actuals`` and said in ``Backtest.note``; if every actual is zero the MAPE is
  ``None``.
* **Counts**: with ``nonnegative=True`` negative values of the point projection and of the
  interval bounds (in the projection and the back-test) are set to 0 ("clipped"), and a note
  says so. Rounding is left to the display.
"""
from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

MIN_MONTHS = 24
BACKTEST_MONTHS = 12
SEASON = 12
#: Counted for the variance's degrees of freedom: 4 smoothing parameters (level, trend, seasonal, damping),
#: initial level and trend, 11 free initial seasonal states, and the variance itself.
ETS_PARAMETERS = 18

ETS = "ets_AAdA"
SEASONAL_NAIVE = "seasonal_naive"
NONE = "none"

METHOD_LABELS = {
    ETS: "Exponential smoothing, ETS(A,Ad,A): additive error, damped additive trend, additive 12-month "
         "seasonality (statsmodels ETSModel)",
    SEASONAL_NAIVE: "Seasonal naive: each month repeats the same month of the last year",
    NONE: "No projection",
}

CLIP_NOTE = ("Projected values and interval bounds below zero were set to zero, because a count cannot be "
             "negative.")


@dataclass(frozen=True)
class Backtest:
    """The method refitted without the last 12 months, and its projection of them."""

    method: str
    table: pd.DataFrame  # index: month end; columns actual, predicted, abs_pct_error (None where actual is 0)
    mape: float | None
    zero_actuals: int
    benchmark_mape: float | None  # seasonal naive on the same held-out months
    note: str = ""

    def rows(self) -> list[dict]:
        return [dict(period_end=i.date(), actual=float(r.actual), predicted=float(r.predicted),
                     abs_pct_error=None if pd.isna(r.abs_pct_error) else float(r.abs_pct_error))
                for i, r in self.table.iterrows()]


@dataclass(frozen=True)
class Projection:
    """A projection of a monthly series; ``method == "none"`` when there is none (see ``reason``)."""

    method: str
    reason: str
    kind: str
    n_months: int
    last_period: dt.date | None
    last_value: float | None
    levels: tuple[float, ...]
    forecast: pd.DataFrame  # index: month end; columns point, lower_80, upper_80, lower_95, upper_95 ...
    clipped: bool = False
    notes: tuple[str, ...] = ()
    backtest: Backtest | None = None
    backtest_reason: str = ""
    params: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return METHOD_LABELS[self.method]

    @property
    def available(self) -> bool:
        return self.method != NONE

    def ahead(self, months: int) -> dict | None:
        """The projection ``months`` after the last observed month (1 = next month), or None."""
        if not self.available or not 1 <= months <= len(self.forecast):
            return None
        row = self.forecast.iloc[months - 1]
        return dict(period_end=self.forecast.index[months - 1].date(), **{k: float(v) for k, v in row.items()})

    def rows(self) -> list[dict]:
        return [self.ahead(h) for h in range(1, len(self.forecast) + 1)]


# --------------------------------------------------------------------------- helpers


def level_suffix(level: float) -> str:
    """0.8 -> "80", 0.95 -> "95", 0.975 -> "97.5"."""
    pct = round(level * 100, 6)
    return f"{pct:g}"


def _columns(levels: Sequence[float]) -> list[str]:
    cols = ["point"]
    for lv in levels:
        cols += [f"lower_{level_suffix(lv)}", f"upper_{level_suffix(lv)}"]
    return cols


def _check_levels(levels: Iterable[float]) -> tuple[float, ...]:
    out = tuple(sorted(float(lv) for lv in levels))
    if not out or any(not 0 < lv < 1 for lv in out) or len(set(out)) != len(out):
        raise ValueError(f"levels must be distinct numbers strictly between 0 and 1, got {tuple(levels)}")
    return out


def _monthly(series: pd.Series) -> pd.Series:
    """The series indexed by month-end Timestamps, in time order; a month given twice is an error."""
    if not isinstance(series, pd.Series):
        raise TypeError("series must be a pandas Series indexed by month")
    idx = series.index
    if isinstance(idx, pd.PeriodIndex):
        periods = idx.asfreq("M")
    else:
        periods = pd.PeriodIndex(pd.to_datetime(list(idx)), freq="M")
    if periods.has_duplicates:
        dup = sorted({str(p) for p in periods[periods.duplicated()]})
        raise ValueError(f"a month is given more than once: {dup}")
    values = pd.to_numeric(pd.Series(series.to_numpy(), index=periods), errors="raise").astype(float)
    values = values.sort_index()
    out = pd.Series(values.to_numpy(), index=values.index.to_timestamp(how="end").normalize())
    return out


def _month_name(ts: pd.Timestamp) -> str:
    return ts.strftime("%B %Y")


def _future_index(last: pd.Timestamp, horizon: int) -> pd.DatetimeIndex:
    return pd.date_range(last + pd.offsets.MonthEnd(1), periods=horizon, freq="ME")


def mape(actual: Sequence[float], predicted: Sequence[float]) -> tuple[float | None, int]:
    """Mean absolute percentage error (in %), and the number of months left out for a zero actual."""
    a = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    if a.shape != p.shape:
        raise ValueError("actual and predicted differ in length")
    keep = a != 0
    zeros = int((~keep).sum())
    if not keep.any():
        return None, zeros
    return float(np.mean(np.abs(a[keep] - p[keep]) / np.abs(a[keep])) * 100), zeros


# --------------------------------------------------------------------------- the two methods


class _FitFailed(Exception):
    pass


def _ets(y: pd.Series, horizon: int, levels: tuple[float, ...]) -> tuple[pd.DataFrame, dict]:
    """ETS(A,Ad,A) projection; raises _FitFailed with a plain reason when the model cannot be used."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = pd.Series(y.to_numpy(), index=pd.DatetimeIndex(y.index, freq="ME"))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = ETSModel(y, error="add", trend="add", damped_trend=True, seasonal="add",
                             seasonal_periods=SEASON, initialization_method="heuristic")
            res = model.fit(disp=False)
            pred = res.get_prediction(start=len(y), end=len(y) + horizon - 1)
            frames = {lv: pred.summary_frame(alpha=1 - lv) for lv in levels}
    except Exception as exc:  # noqa: BLE001 - any failure of the library means: use the fallback
        raise _FitFailed(f"the exponential smoothing model could not be fitted ({type(exc).__name__}: {exc})") from exc
    converged = res.mle_retvals.get("converged", True) if isinstance(res.mle_retvals, dict) else True
    if not converged or any(issubclass(w.category, ConvergenceWarning) for w in caught):
        raise _FitFailed("the exponential smoothing optimiser did not converge")
    # statsmodels scales the forecast variance by SSE / n; R's forecast::ets by SSE / (n - p), p counting
    # the smoothing parameters, the initial states and the variance. Without the correction, the
    # intervals of 36-month series covered about 63% (80% nominal) in our simulations; with it, about 80%.
    factor = math.sqrt(len(y) / (len(y) - ETS_PARAMETERS))
    out = pd.DataFrame(index=_future_index(y.index[-1], horizon))
    point = frames[levels[0]]["mean"].to_numpy()
    out["point"] = point
    for lv in levels:
        out[f"lower_{level_suffix(lv)}"] = point - (point - frames[lv]["pi_lower"].to_numpy()) * factor
        out[f"upper_{level_suffix(lv)}"] = point + (frames[lv]["pi_upper"].to_numpy() - point) * factor
    if not np.isfinite(out.to_numpy()).all():
        raise _FitFailed("the exponential smoothing model gave a projection that is not a finite number")
    names = ["smoothing_level", "smoothing_trend", "smoothing_seasonal", "damping_trend"]
    params = {n: float(v) for n, v in zip(names, np.asarray(res.params)[:4])}
    params["aic"] = float(res.aic) if np.isfinite(res.aic) else None
    params["interval_factor"] = factor
    return out, params


def _seasonal_naive(y: pd.Series, horizon: int, levels: tuple[float, ...]) -> tuple[pd.DataFrame, dict]:
    values = y.to_numpy()
    last_year = values[-SEASON:]
    diffs = values[SEASON:] - values[:-SEASON]
    sigma = float(np.sqrt(np.mean(diffs ** 2))) if len(diffs) else 0.0
    out = pd.DataFrame(index=_future_index(y.index[-1], horizon))
    h = np.arange(1, horizon + 1)
    point = last_year[(h - 1) % SEASON]
    k = np.ceil(h / SEASON)
    out["point"] = point
    for lv in levels:
        half = NormalDist().inv_cdf(0.5 + lv / 2) * sigma * np.sqrt(k)
        out[f"lower_{level_suffix(lv)}"] = point - half
        out[f"upper_{level_suffix(lv)}"] = point + half
    return out, {"sigma": sigma}


def _fit(y: pd.Series, horizon: int, levels: tuple[float, ...], method: str) -> tuple[str, str, pd.DataFrame, dict]:
    """(method used, reason for a fallback or "", forecast frame, parameters)."""
    if method == SEASONAL_NAIVE:
        frame, params = _seasonal_naive(y, horizon, levels)
        return SEASONAL_NAIVE, "Seasonal naive chosen by the caller.", frame, params
    if np.ptp(y.to_numpy()) == 0:
        frame, params = _seasonal_naive(y, horizon, levels)
        return SEASONAL_NAIVE, "Seasonal naive: the series is constant, so there is nothing to smooth.", frame, params
    try:
        frame, params = _ets(y, horizon, levels)
        return ETS, "", frame, params
    except _FitFailed as exc:
        frame, params = _seasonal_naive(y, horizon, levels)
        return SEASONAL_NAIVE, f"Seasonal naive, because {exc}.", frame, params


def _clip(frame: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    clipped = bool((frame < 0).to_numpy().any())
    return frame.clip(lower=0.0), clipped


# --------------------------------------------------------------------------- public


def _none(reason: str, kind: str, levels, y: pd.Series, backtest_reason: str = "") -> Projection:
    return Projection(
        method=NONE, reason=reason, kind=kind, n_months=len(y),
        last_period=y.index[-1].date() if len(y) else None,
        last_value=float(y.iloc[-1]) if len(y) and pd.notna(y.iloc[-1]) else None,
        levels=levels, forecast=pd.DataFrame(columns=_columns(levels), dtype=float),
        backtest_reason=backtest_reason or "No back-test without a projection.",
    )


def project(series: pd.Series, horizon: int = 12, *, levels: Sequence[float] = (0.80, 0.95), kind: str = "flow",
            nonnegative: bool = True, upper: float | None = None, method: str = "auto") -> Projection:
    """Project a monthly series ``horizon`` months ahead (see the module docstring for the method)."""
    if kind not in ("flow", "stock"):
        raise ValueError(f"kind must be 'flow' or 'stock', got {kind!r}")
    if method not in ("auto", "ets", SEASONAL_NAIVE):
        raise ValueError(f"method must be 'auto', 'ets' or 'seasonal_naive', got {method!r}")
    if int(horizon) != horizon or horizon < 1:
        raise ValueError(f"horizon must be a whole number of months, at least 1, got {horizon!r}")
    horizon = int(horizon)
    levels = _check_levels(levels)
    y = _monthly(series)

    n = len(y)
    if n < MIN_MONTHS:
        return _none(f"No projection: fewer than {MIN_MONTHS} months of data ({n}). Exponential smoothing needs "
                     f"two full years to tell the seasonal pattern from the trend.", kind, levels, y)
    missing = [t for t, v in y.items() if pd.isna(v)]
    expected = pd.date_range(y.index[0], y.index[-1], freq="ME")
    gaps = [t for t in expected if t not in y.index]
    if missing or gaps:
        first = min(missing + gaps)
        return _none(f"No projection: there is no value for {_month_name(first)}, and a projection needs an "
                     f"unbroken run of months.", kind, levels, y)
    if not np.isfinite(y.to_numpy()).all():
        return _none("No projection: the series holds a value that is not a finite number.", kind, levels, y)

    used, reason, frame, params = _fit(y, horizon, levels, method)
    notes: list[str] = []
    clipped = False
    if nonnegative:
        frame, clipped = _clip(frame)
        if clipped:
            notes.append(CLIP_NOTE)
    if upper is not None and bool((frame > upper).to_numpy().any()):
        frame = frame.clip(upper=float(upper))
        clipped = True
        notes.append(f"Projected values and interval bounds above {upper:g} were set to {upper:g}, the most the "
                     f"figure can be.")
    if reason:
        notes.append(reason)

    backtest, backtest_reason = None, ""
    if n - BACKTEST_MONTHS >= MIN_MONTHS:
        backtest = _backtest(y, levels, method, nonnegative, upper)
    else:
        backtest_reason = (f"No back-test: it needs at least {MIN_MONTHS + BACKTEST_MONTHS} months ({MIN_MONTHS} to "
                           f"fit and {BACKTEST_MONTHS} to hold out); this series has {n}.")
    return Projection(
        method=used, reason=reason, kind=kind, n_months=n, last_period=y.index[-1].date(),
        last_value=float(y.iloc[-1]), levels=levels, forecast=frame, clipped=clipped, notes=tuple(notes),
        backtest=backtest, backtest_reason=backtest_reason, params=params,
    )


def _backtest(y: pd.Series, levels: tuple[float, ...], method: str, nonnegative: bool,
              upper: float | None) -> Backtest:
    train, held = y.iloc[:-BACKTEST_MONTHS], y.iloc[-BACKTEST_MONTHS:]
    used, reason, frame, _ = _fit(train, BACKTEST_MONTHS, levels, method)
    bench, _ = _seasonal_naive(train, BACKTEST_MONTHS, levels)
    predicted = frame["point"].to_numpy()
    bench_point = bench["point"].to_numpy()
    low = 0 if nonnegative else None
    predicted = np.clip(predicted, low, upper)
    bench_point = np.clip(bench_point, low, upper)
    actual = held.to_numpy()
    err, zeros = mape(actual, predicted)
    bench_err, _ = mape(actual, bench_point)
    with np.errstate(divide="ignore", invalid="ignore"):
        ape = np.where(actual != 0, np.abs(actual - predicted) / np.abs(actual) * 100, np.nan)
    table = pd.DataFrame({"actual": actual, "predicted": predicted, "abs_pct_error": ape}, index=held.index)
    notes = []
    if reason:
        notes.append(f"Back-test: {reason[0].lower()}{reason[1:]}")
    if zeros and err is not None:
        notes.append(f"{zeros} held-out month(s) with an actual of zero have no percentage error and are left out "
                     f"of the MAPE.")
    elif err is None:
        notes.append("Every held-out month is zero: a percentage error cannot be computed.")
    return Backtest(method=used, table=table, mape=err, zero_actuals=zeros, benchmark_mape=bench_err,
                    note=" ".join(notes))


def crossing(projection: Projection, threshold: float, direction: str = "above") -> dt.date | None:
    """The month end of the first projected month whose point projection passes ``threshold``.

    ``direction="above"``: the first month strictly above the threshold after a month (the
    last observed one, or the projected one before) that was not; ``"below"``: strictly
    below after a month that was not. A series already past the threshold at its last
    observed month is not "crossing": the answer is then the first month it passes again
    after coming back, if any. Only the point projection counts, not its interval. None when
    there is no projection or no crossing within the horizon.
    """
    if direction not in ("above", "below"):
        raise ValueError(f"direction must be 'above' or 'below', got {direction!r}")
    if not projection.available or projection.last_value is None:
        return None

    def beyond(v: float) -> bool:
        return v > threshold if direction == "above" else v < threshold

    before = beyond(projection.last_value)
    for ts, v in projection.forecast["point"].items():
        now = beyond(float(v))
        if now and not before:
            return ts.date()
        before = now
    return None


__all__ = [
    "BACKTEST_MONTHS",
    "Backtest",
    "ETS",
    "METHOD_LABELS",
    "MIN_MONTHS",
    "NONE",
    "Projection",
    "SEASONAL_NAIVE",
    "crossing",
    "level_suffix",
    "mape",
    "project",
]
