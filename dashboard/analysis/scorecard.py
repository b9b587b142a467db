"""The scorecard: for every metric, the latest value, its target, RAG, change and benchmark.

One function builds it for the screens, the command line and the exports alike, so that they
cannot disagree.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

import pandas as pd

from ..registry import Metric, Polarity, Registry, Unit
from .rag import RagResult, RagStatus, assess_metric, compare_with_benchmark
from .series import ENGLAND, Change, cell_series, change_from_previous, headline_cell


@dataclass
class ScorecardRow:
    metric_id: str
    title: str
    short_title: str
    topic: str
    period_end: dt.date | None
    period_label: str
    value: float | None
    numerator: float | None
    denominator: float | None
    status_symbol: str  # "" or a suppression symbol
    agency: str
    breakdown: str
    breakdown_value: str
    cell_rule: str  # why this cell represents the metric ("" for the whole-area total)
    target: float | None
    target_source: str
    target_illustrative: bool
    rag: RagResult
    change: Change
    benchmark_text: str
    england_value: float | None
    illustrative: bool
    source_kind: str
    source_title: str
    local: bool
    spark: list[tuple[str, float | None]] = field(default_factory=list)
    # Benchmarks (dashboard.views.with_benchmark): national rank (1 = best) of rank_of authorities,
    # LAIT's quartile band A-D, and the position against the neighbour median and England.
    rank: int | None = None
    rank_of: int | None = None
    quartile_band: str | None = None
    neighbour_median: float | None = None
    vs_neighbours: str | None = None  # better / worse / same (higher / lower / same when neutral)
    vs_england: str | None = None
    benchmark_note: str = ""  # why there is no rank ("" when there is one)
    # SPC (dashboard.views.with_spc): the variation and assurance icon keys of the headline cell's series
    # (dashboard/analysis/spc.py), whether its latest limits are trial limits, and why there is none.
    spc_variation: str | None = None
    spc_assurance: str | None = None
    spc_trial: bool | None = None
    spc_note: str = ""

    def as_record(self) -> dict:
        """Flat, JSON-friendly fields for exports and the command line."""
        return {
            "metric_id": self.metric_id,
            "title": self.title,
            "topic": self.topic,
            "period": self.period_label,
            "period_end": self.period_end.isoformat() if self.period_end else None,
            "value": self.value,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "status_symbol": self.status_symbol or None,
            "agency": self.agency or None,
            "breakdown": f"{self.breakdown}={self.breakdown_value}" if self.breakdown else None,
            "target": self.target,
            "target_source": self.target_source or None,
            "target_illustrative": self.target_illustrative,
            "rag": self.rag.label,
            "change": self.change.delta,
            "change_direction": self.change.direction,
            "england": self.england_value,
            "rank": self.rank,
            "rank_of": self.rank_of,
            "quartile_band": self.quartile_band,
            "neighbour_median": self.neighbour_median,
            "vs_neighbour_median": self.vs_neighbours,
            "vs_england": self.vs_england,
            "benchmark_note": self.benchmark_note or None,
            "spc_variation": self.spc_variation,
            "spc_assurance": self.spc_assurance,
            "spc_trial": self.spc_trial,
            "illustrative": self.illustrative,
            "source": self.source_title,
        }


def _f(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def scorecard_row(metric: Metric, rows: pd.DataFrame, england_rows: pd.DataFrame,
                  as_of: dt.date | None = None, spark_points: int = 12) -> ScorecardRow:
    """The scorecard row for one metric from the authority's rows and England's."""
    if as_of is not None:
        rows = rows[rows["period_end"] <= as_of]
    agency, breakdown, bvalue, why = headline_cell(metric, rows)
    series = cell_series(rows, agency, breakdown, bvalue) if not rows.empty else rows
    empty_change = Change(None, "", None, "no previous value")
    if series.empty:
        rag = assess_metric(metric, None, as_of or dt.date.today(), agency=None)
        return ScorecardRow(metric.id, metric.title, metric.short_title, metric.topic, None, "", None, None, None, "",
                            "", "", "", "", None, "", False, rag, empty_change, "", None, False, "", "", metric.local)
    last = series.iloc[-1]
    value = _f(last["value"])
    target = metric.target_for(last["period_end"], agency or None)
    rag = assess_metric(metric, value, last["period_end"], agency=agency or None, status_symbol=last["status"])
    eng = None
    if not england_rows.empty:
        e = cell_series(england_rows, agency, breakdown, bvalue)
        e = e[e["period_end"] == last["period_end"]]
        eng = _f(e["value"].iloc[0]) if not e.empty else None
    # A count is not comparable across areas of different sizes: only rates and percentages get a benchmark.
    comparable = metric.unit is not Unit.COUNT
    bench = (compare_with_benchmark(value, eng, decimals=metric.decimals, label="England")
             if eng is not None and comparable else "")
    spark = [(r.period_label, _f(r.value)) for r in series.tail(spark_points).itertuples()]
    return ScorecardRow(
        metric_id=metric.id, title=metric.title, short_title=metric.short_title, topic=metric.topic,
        period_end=last["period_end"], period_label=last["period_label"], value=value,
        numerator=_f(last["numerator"]), denominator=_f(last["denominator"]), status_symbol=last["status"] or "",
        agency=agency, breakdown=breakdown, breakdown_value=bvalue, cell_rule=why,
        target=target.value if target else None, target_source=target.source if target else "",
        target_illustrative=bool(target and target.illustrative), rag=rag,
        change=change_from_previous(metric, series, len(series) - 1), benchmark_text=bench, england_value=eng,
        illustrative=bool(series["illustrative"].iloc[-1]), source_kind=last["source_kind"],
        source_title=last["source_title"], local=metric.local, spark=spark,
    )


def build_scorecard(registry: Registry, rows_for, la_code: str, as_of: dt.date | None = None) -> list[ScorecardRow]:
    """Scorecard rows in registry order. ``rows_for(metric_id, area_code)`` returns a cell frame."""
    return [scorecard_row(m, rows_for(m.id, la_code), rows_for(m.id, ENGLAND), as_of) for m in registry.metrics]


def filter_rows(rows: list[ScorecardRow], topic: str | None = None, rag: list[str] | None = None) -> list[ScorecardRow]:
    out = rows
    if topic:
        out = [r for r in out if r.topic == topic]
    if rag:
        out = [r for r in out if r.rag.status.value in rag]
    return out


__all__ = ["ScorecardRow", "build_scorecard", "scorecard_row", "filter_rows", "RagStatus", "Polarity", "asdict"]
