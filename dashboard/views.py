"""What each screen shows, computed without Dash: the bridge from analysis to components.

The pages, the CSV downloads and the tests all call these functions, so a download holds
exactly what the chart beside it draws.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from .analysis.scorecard import ScorecardRow, build_scorecard, scorecard_row
from .analysis.series import ENGLAND, cell_series, headline_cell, neighbour_median
from .data import Snapshot
from .exports import frame_csv
from .figures import chart_data, trend_figure
from .formatting import value_text
from .registry import Metric, Registry, Unit
from .state import COMPARATOR_LABELS, ViewState


class UnknownArea(LookupError):
    pass


@dataclass(frozen=True)
class Viewer:
    """Who is looking, as the web layer found it: pages read this, never the request."""

    name: str = ""
    role: str = "anonymous"
    scope: dict = field(default_factory=dict)
    csrf_token: str = ""
    staff_user: bool = False  # a signed-in person with a password (not an inspector link)

    @property
    def signed_in(self) -> bool:
        return self.role != "anonymous"


class OutOfScope(PermissionError):
    """The viewer asked for an authority or metric their access does not cover."""


@dataclass
class Context:
    snap: Snapshot
    registry: Registry
    state: ViewState
    la: dict
    region: dict | None
    neighbours: list[str]
    allowed_las: set[str] | None = None
    viewer: Viewer = field(default_factory=Viewer)

    @property
    def external(self) -> bool:
        return self.snap.suppressed

    @property
    def la_code(self) -> str:
        return self.la["code"]

    @property
    def la_name(self) -> str:
        return self.la["name"]

    def memo(self, name: str, compute, *extra):
        """Compute once per data version, view (authority, URL state) and viewer's registry."""
        st = self.state
        key = (name, self.la_code, st.cmp, st.sn, st.as_of, st.topic, st.rag, st.agency, st.breakdown,
               tuple((m.id, repr(m.targets)) for m in self.registry.metrics)) + extra
        return self.snap.memo(key, compute)

    def rows(self, metric_id: str, area_code: str | None = None) -> pd.DataFrame:
        rows = self.snap.rows(metric_id, area_code or self.la_code)
        if self.state.as_of is not None and not rows.empty:
            rows = rows[rows["period_end"] <= self.state.as_of]
        return rows


def registry_key(registry: Registry) -> tuple:
    return tuple((m.id, m.suppression.rule) for m in registry.metrics)


def illustrative_counts(snap: Snapshot, registry: Registry) -> frozenset[str]:
    """Metrics under the small-numbers rule that have illustrative (generated) rows."""
    governed = {m.id for m in registry.metrics if m.suppression.rule == "small_numbers"}
    ill = snap.frame[snap.frame["illustrative"].astype(bool)]
    return frozenset(set(ill["metric_id"].unique()) & governed)


def make_context(snap: Snapshot, registry: Registry, state: ViewState, default_la: str, *,
                 external: bool = False, allowed_las: set[str] | None = None,
                 allowed_metrics: set[str] | None = None, viewer: Viewer | None = None) -> Context:
    """The context for one view. ``external`` swaps in the small-numbers-suppressed data;
    ``allowed_las`` (DfE or GSS codes) limits which authorities may be asked for, and
    ``allowed_metrics`` which metrics exist at all for this viewer."""
    full = snap.effective_registry(registry)
    registry = full
    if allowed_metrics is not None:  # a filter on what this viewer sees, applied after suppression
        registry = full.model_copy(update={"metrics": [m for m in full.metrics if m.id in allowed_metrics]})
    area = snap.area(state.la or default_la)
    if area is None or area["level"] != "la":
        raise UnknownArea(state.la or default_la)
    if allowed_las is not None and not ({area["code"], str(area["old_code"])} & allowed_las):
        raise OutOfScope(area["name"])
    if external:
        # Illustrative rows are not suppressed (they are not real children), so generated counts
        # under the small-numbers rule (the illustrative monthly demand) are not shown to external
        # viewers at all: they get the metric once its months are real, and suppressed.
        hidden = snap.memo(("illustrative_counts", registry_key(full)), lambda: illustrative_counts(snap, full))
        if hidden:
            registry = registry.model_copy(update={"metrics": [m for m in registry.metrics if m.id not in hidden]})
        # Suppression is computed for the whole registry, the same for every external viewer.
        snap = snap.external(full)
    return Context(snap=snap, registry=registry, state=state, la=area, region=snap.region_of(area["code"]),
                   neighbours=snap.neighbour_codes(area["code"], state.sn), allowed_las=allowed_las,
                   viewer=viewer or Viewer())


def scorecard(ctx: Context) -> list[ScorecardRow]:
    metrics = tuple(m.id for m in ctx.registry.metrics)
    return ctx.snap.memo(("scorecard", ctx.la_code, ctx.state.as_of, metrics),
                         lambda: build_scorecard(ctx.registry, ctx.snap.rows, ctx.la_code, ctx.state.as_of))


def as_at(snap: Snapshot) -> str:
    newest = snap.newest_period
    return newest.strftime("%-d %B %Y") if newest else "no data"


@dataclass
class MetricView:
    metric: Metric
    row: ScorecardRow
    cell: tuple[str, str, str]  # agency, breakdown, breakdown_value shown in the trend
    cells: list[tuple[str, str, str]]  # every cell the authority has for this metric
    data: pd.DataFrame  # chart_data: what the trend draws
    title: str
    flags: list[str]
    breakdown_latest: pd.DataFrame = field(default_factory=pd.DataFrame)
    illustrative: bool = False
    comparators_shown: list[str] = field(default_factory=list)
    comparators_unavailable: list[str] = field(default_factory=list)

    @property
    def table(self) -> pd.DataFrame:
        return self.data

    @property
    def series_name(self) -> str:
        return self.data["series"].iloc[0] if not self.data.empty else ""

    @cached_property
    def figure(self) -> dict:
        """The trend figure, built once per view and data version (views are memoised); treat as read-only."""
        return trend_figure(self.metric, self.data, self.series_name, self.title)


def cell_label(ctx: Context, metric: Metric, cell: tuple[str, str, str]) -> str:
    agency, breakdown, bvalue = cell
    parts = [agency] if agency else []
    if breakdown:
        parts.append(ctx.registry.breakdown_label(breakdown, bvalue))
    return ", ".join(parts) or ctx.la_name


def parse_cell(state: ViewState) -> tuple[str, str, str] | None:
    """The cell named in the URL: ``agency=NELFT&breakdown=training_level:L1``."""
    if state.agency is None and state.breakdown is None:
        return None
    dim, _, val = (state.breakdown or "").partition(":")
    return (state.agency or "", dim, val)


def metric_view(ctx: Context, metric: Metric) -> MetricView:
    """Everything the metric's panels show, computed once per data version and view state."""
    st = ctx.state
    key = ("metric_view", metric.id, repr(metric.targets), repr(metric.tolerance), ctx.la_code, st.cmp, st.sn,
           st.as_of, st.agency, st.breakdown)
    return ctx.snap.memo(key, lambda: _metric_view(ctx, metric))


def _metric_view(ctx: Context, metric: Metric) -> MetricView:
    rows = ctx.rows(metric.id)
    eng_rows = ctx.rows(metric.id, ENGLAND)
    row = scorecard_row(metric, rows, eng_rows)
    cells = sorted({(a, b, v) for a, b, v in zip(rows["agency"], rows["breakdown"], rows["breakdown_value"])}) \
        if not rows.empty else []
    wanted = parse_cell(ctx.state)
    if wanted is not None and wanted in cells:
        cell = wanted
    else:
        a, b, v, _ = headline_cell(metric, rows)
        cell = (a, b, v)
    series = cell_series(rows, *cell) if not rows.empty else rows
    comparators: dict[str, pd.DataFrame] = {}
    shown, unavailable = [], []
    for key in ctx.state.cmp:
        if metric.unit is Unit.COUNT:
            # Counts of areas of different sizes are not comparators; the metric's rate is.
            unavailable.append(COMPARATOR_LABELS[key])
            continue
        if key == "england":
            df = cell_series(eng_rows, *cell) if not eng_rows.empty else eng_rows
            name = "England"
        elif key == "region":
            reg = ctx.region
            df = cell_series(ctx.rows(metric.id, reg["code"]), *cell) if reg else pd.DataFrame()
            name = reg["name"] if reg else "Region"
        else:
            df = (neighbour_median(ctx.snap.rows_by_area(metric.id, ctx.neighbours), ctx.neighbours, metric)
                  if cell == ("", "", "") and ctx.neighbours else pd.DataFrame())
            if ctx.state.as_of is not None and not df.empty:
                df = df[df["period_end"] <= ctx.state.as_of]
            name = f"Statistical neighbours, median ({ctx.state.sn} model)"
        if df is None or df.empty:
            unavailable.append(COMPARATOR_LABELS[key])
            continue
        comparators[name] = df
        shown.append(name)
    label = cell_label(ctx, metric, cell)
    series_name = ctx.la_name if cell == ("", "", "") else f"{ctx.la_name}: {label}"
    data = chart_data(metric, series_name, series, comparators)
    if not series.empty:
        last = series.iloc[-1]
        lead = f"{metric.short_title}: {value_text(metric, last['value'], last['status'])} ({last['period_label']})"
        if row.benchmark_text and cell == (row.agency, row.breakdown, row.breakdown_value):
            lead += f"; {row.benchmark_text[0].lower()}{row.benchmark_text[1:]}"
    else:
        lead = f"{metric.short_title}: no data for {ctx.la_name}"
    flags = [m for m in ctx.snap.flags_for(metric.id, ctx.la_code)["message"]]
    latest_b = pd.DataFrame()
    if not rows.empty:
        b = rows[rows["breakdown"] != ""]
        if not b.empty:
            latest_b = b[b["period_end"] == b["period_end"].max()]
    return MetricView(metric=metric, row=row, cell=cell, cells=cells, data=data, title=lead, flags=flags,
                      breakdown_latest=latest_b,
                      illustrative=bool(data["illustrative"].any()) if not data.empty else False,
                      comparators_shown=shown, comparators_unavailable=unavailable)


CSV_COLUMNS = ["series", "period", "period_end", "value", "numerator", "denominator", "status", "target", "rag",
               "source", "illustrative", "note"]


def to_csv(df: pd.DataFrame, columns: list[str], provenance: dict[str, str]) -> str:
    """CSV text with provenance columns repeated on every row, so a copied extract keeps them.

    Written by :func:`dashboard.exports.frame_csv`: text that a spreadsheet would run as a formula
    (an agency, a target source or a note beginning with ``=``, ``+``, ``-`` or ``@``) is neutralised."""
    out = df[columns].copy() if not df.empty else pd.DataFrame(columns=columns)
    for k, v in provenance.items():
        out[k] = v
    return frame_csv(out)


def provenance(ctx: Context) -> dict[str, str]:
    return {"authority": f"{ctx.la_name} ({ctx.la['old_code']}, {ctx.la_code})",
            "data_version": str(ctx.snap.version_id), "data_as_at": as_at(ctx.snap),
            "view": "published: counts of 1 to 5 suppressed (c)" if ctx.external else "staff: unsuppressed",
            "licence": "Contains DfE and ONS statistics, Open Government Licence v3.0"}


def metric_csv(ctx: Context, metric: Metric) -> str:
    return to_csv(metric_view(ctx, metric).data, CSV_COLUMNS, provenance(ctx))


def scorecard_frame(rows: list[ScorecardRow]) -> pd.DataFrame:
    return pd.DataFrame([r.as_record() for r in rows])


def scorecard_csv(ctx: Context, rows: list[ScorecardRow]) -> str:
    df = scorecard_frame(rows)
    return to_csv(df, list(df.columns) if not df.empty else ["metric_id"], provenance(ctx))


def reference_date(snap: Snapshot) -> dt.date | None:
    return snap.newest_period
