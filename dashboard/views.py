"""What each screen shows, computed without Dash: the bridge from analysis to components.

The pages, the CSV downloads and the tests all call these functions, so a download holds
exactly what the chart beside it draws.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from functools import cached_property

import pandas as pd

from .analysis.benchmark import Placing, Quartiles, national_pool, place, quartile_band, ranks
from .analysis.benchmark import quartiles as pool_quartiles
from .analysis.scorecard import ScorecardRow, build_scorecard, scorecard_row
from .analysis.series import ENGLAND, cell_series, headline_cell, neighbour_median
from .analysis.spc import SpcResult, metric_options, spc
from .data import Snapshot
from .exports import frame_csv
from .figures import chart_data, trend_figure
from .formatting import value_text
from .registry import Metric, Polarity, Registry, Unit
from .state import COMPARATOR_LABELS, MAX_COMPARE_WITH, ViewState


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
    # the active partnership framework's metric ids, in its order (every metric when there is none)
    framework_ids: tuple[str, ...] = ()
    framework_title: str = ""
    # for external viewers: metrics whose illustrative (generated, unsuppressed) rows are never handed out
    no_illustrative: frozenset[str] = frozenset()

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
               st.compare_with, st.q, self.framework_ids,
               tuple((m.id, repr(m.targets), repr(m.spc)) for m in self.registry.metrics)) + extra
        return self.snap.memo(key, compute)

    def rows(self, metric_id: str, area_code: str | None = None, until: dt.date | None = None) -> pd.DataFrame:
        """The rows this viewer may see of a metric for an area (default: the authority), up to ``until``
        (default: the view's "as at" date, if any)."""
        rows = self.snap.rows(metric_id, area_code or self.la_code)
        if metric_id in self.no_illustrative and not rows.empty:
            rows = rows[~rows["illustrative"].astype(bool)]
        end = until if until is not None else self.state.as_of
        if end is not None and not rows.empty:
            rows = rows[rows["period_end"] <= end]
        return rows


def registry_key(registry: Registry) -> tuple:
    return tuple((m.id, m.suppression.rule) for m in registry.metrics)


def illustrative_counts(snap: Snapshot, registry: Registry, area_code: str | None = None) -> frozenset[str]:
    """Metrics under the small-numbers rule that have illustrative (generated) rows, less, when
    ``area_code`` is given, those with real (published, returned or imported) rows for that area."""
    governed = {m.id for m in registry.metrics if m.suppression.rule == "small_numbers"}
    ill = snap.frame[snap.frame["illustrative"].astype(bool)]
    hidden = set(ill["metric_id"].unique()) & governed
    if area_code is not None and hidden:
        f = snap.frame
        real = f[(f["area_code"] == area_code) & ~f["illustrative"].astype(bool) & f["metric_id"].isin(hidden)]
        hidden -= set(real["metric_id"].unique())
    return frozenset(hidden)


def make_context(snap: Snapshot, registry: Registry, state: ViewState, default_la: str, *,
                 external: bool = False, allowed_las: set[str] | None = None,
                 allowed_metrics: set[str] | None = None, viewer: Viewer | None = None,
                 framework: str | None = None) -> Context:
    """The context for one view. ``external`` swaps in the small-numbers-suppressed data;
    ``allowed_las`` (DfE or GSS codes) limits which authorities may be asked for, and
    ``allowed_metrics`` which metrics exist at all for this viewer. ``framework`` names the
    partnership framework (registry ``frameworks:``; None: the default) whose metrics the overview
    shows and whose local targets are in force; an unknown name raises ``UnknownFramework``."""
    fw = registry.framework(framework)
    registry = snap.memo(("framework-registry", id(registry), fw.id if fw else None),
                         lambda: registry.with_framework(framework))
    framework_ids = tuple(registry.framework_ids(framework))
    full = snap.effective_registry(registry)
    registry = full
    if allowed_metrics is not None:  # a filter on what this viewer sees, applied after suppression
        registry = full.model_copy(update={"metrics": [m for m in full.metrics if m.id in allowed_metrics]})
    area = snap.area(state.la or default_la)
    if area is None or area["level"] != "la":
        raise UnknownArea(state.la or default_la)
    if allowed_las is not None and not ({area["code"], str(area["old_code"])} & allowed_las):
        raise OutOfScope(area["name"])
    no_illustrative: frozenset[str] = frozenset()
    if external:
        # Illustrative rows are not suppressed (they are not real children), so generated counts
        # under the small-numbers rule (the illustrative monthly demand) are never shown to external
        # viewers: a metric whose only figures for the authority are generated is left out, and one
        # with real (imported) months is shown with those only, suppressed.
        code = area["code"]
        hidden = snap.memo(("illustrative_counts", registry_key(full), code),
                           lambda: illustrative_counts(snap, full, code))
        if hidden:
            registry = registry.model_copy(update={"metrics": [m for m in registry.metrics if m.id not in hidden]})
        no_illustrative = snap.memo(("illustrative_counts", registry_key(full)),
                                    lambda: illustrative_counts(snap, full))
        # Suppression is computed for the whole registry, the same for every external viewer.
        snap = snap.external(full)
    return Context(snap=snap, registry=registry, state=state, la=area, region=snap.region_of(area["code"]),
                   neighbours=snap.neighbour_codes(area["code"], state.sn), allowed_las=allowed_las,
                   viewer=viewer or Viewer(), framework_ids=framework_ids,
                   framework_title=fw.title if fw else "", no_illustrative=no_illustrative)


def scorecard_metrics(ctx: Context, all_metrics: bool = False) -> list[Metric]:
    """The framework's metrics in its order (those this viewer may see), or every metric in registry order."""
    if all_metrics:
        return list(ctx.registry.metrics)
    return [m for m in (ctx.registry.get(i) for i in ctx.framework_ids) if m is not None]


def scorecard(ctx: Context, all_metrics: bool = False) -> list[ScorecardRow]:
    """The scorecard rows, each with its benchmark (national rank, quartile band, position against the
    neighbour median and England): the framework's metrics, or with ``all_metrics`` every metric."""
    metrics = scorecard_metrics(ctx, all_metrics)
    ids = tuple(m.id for m in metrics)
    targets = tuple(repr(m.targets) + repr(m.spc) for m in metrics)

    def build() -> list[ScorecardRow]:
        reg = ctx.registry.model_copy(update={"metrics": metrics})
        def rows_for(metric_id: str, area_code: str) -> pd.DataFrame:
            rows = ctx.snap.rows(metric_id, area_code)
            if metric_id in ctx.no_illustrative and not rows.empty:  # external viewers: never generated counts
                rows = rows[~rows["illustrative"].astype(bool)]
            return rows

        rows = build_scorecard(reg, rows_for, ctx.la_code, ctx.state.as_of)
        return [with_spc(ctx, m, with_benchmark(ctx, m, r))
                for m, r in ((ctx.registry.metric(r.metric_id), r) for r in rows)]

    return ctx.snap.memo(("scorecard", ctx.la_code, ctx.state.as_of, ctx.state.sn, ids, targets), build)


# --------------------------------------------------------------------------- SPC

#: SPC needs at least this many values in a series (one value has no variation to measure).
SPC_MIN_VALUES = 2


def series_spc(metric: Metric, series: pd.DataFrame, target: float | None, **options) -> SpcResult | None:
    """SPC (XmR, Making Data Count) of one cell's series, oldest first, or None with fewer than
    :data:`SPC_MIN_VALUES` values. A suppressed or missing value is skipped, never read: for external
    viewers the series is already the suppressed one, so no suppressed figure reaches the limits.
    The limits are fixed and rebased as the registry records for the metric (its ``spc``, through
    :func:`dashboard.analysis.spc.metric_options`). ``options`` go to :func:`dashboard.analysis.spc.spc`
    too: ``fix_after`` (given, not None) replaces the registry's, ``rebase_at`` periods are added to its
    change points, and ``screen_outliers`` is passed on."""
    if series is None or series.empty:
        return None
    s = series.sort_values("period_end")
    values = [None if (st or pd.isna(v)) else float(v) for v, st in zip(s["value"], s["status"].fillna(""))]
    if sum(v is not None for v in values) < SPC_MIN_VALUES:
        return None
    periods = list(s["period_end"])
    kwargs = metric_options(metric, periods).kwargs()
    if options.get("fix_after") is not None:
        kwargs["fix_after"] = options["fix_after"]
    kwargs["rebase_at"] = [*kwargs["rebase_at"], *(options.get("rebase_at") or ())]
    rest = {k: v for k, v in options.items() if k not in ("fix_after", "rebase_at")}
    return spc(values, periods, direction=metric.polarity.value, target=target, **kwargs, **rest)


def spc_note(result: SpcResult | None, series: pd.DataFrame | None) -> str:
    """Why a series has no SPC icons ("" when it has them)."""
    if result is not None:
        return ""
    if series is None or series.empty:
        return "No data"
    return f"Not enough data: SPC needs at least {SPC_MIN_VALUES} values"


def with_spc(ctx: Context, metric: Metric, row: ScorecardRow) -> ScorecardRow:
    """The scorecard row with the SPC icons of its headline cell's series (the cell the row shows)."""
    rows = ctx.rows(metric.id)
    series = cell_series(rows, row.agency, row.breakdown, row.breakdown_value) if not rows.empty else rows
    result = series_spc(metric, series, row.target)
    if result is None:
        return replace(row, spc_note=spc_note(result, series))
    return replace(row, spc_variation=result.variation.key if result.variation else None,
                   spc_assurance=result.assurance.key if result.assurance else None, spc_trial=result.trial)


# --------------------------------------------------------------------------- benchmarks

ORDINAL = {1: "st", 2: "nd", 3: "rd"}


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else ORDINAL.get(n % 10, 'th')}"


def rankable(metric: Metric) -> str:
    """Why a metric is not ranked ("" when it is): neutral metrics and local measures are not."""
    if metric.polarity is Polarity.NEUTRAL:
        return "Not ranked: neutral measure (neither higher nor lower is better)"
    if metric.local:
        return "Not ranked: local measure, not published for other authorities"
    return ""


def _la_codes(snap: Snapshot) -> frozenset[str]:
    return snap.memo(("la-codes",), lambda: frozenset(snap.areas.loc[snap.areas["level"] == "la", "code"]))


def period_rows(snap: Snapshot, metric_id: str, period_end: dt.date, cell: tuple[str, str, str]) -> pd.DataFrame:
    """Every area's row of one metric, period and cell (computed once per data version)."""
    def metric_rows() -> pd.DataFrame:
        idx = snap.memo(("metric-index",), lambda: snap.frame.groupby("metric_id", sort=False).indices)
        pos = idx.get(metric_id)
        return snap.frame.iloc[pos] if pos is not None else snap.frame.iloc[0:0]

    def compute() -> pd.DataFrame:
        f = snap.memo(("metric-rows", metric_id), metric_rows)
        agency, breakdown, bvalue = cell
        m = ((f["period_end"] == period_end) & (f["agency"] == agency) & (f["breakdown"] == breakdown)
             & (f["breakdown_value"] == bvalue))
        return f[m].reset_index(drop=True)

    return snap.memo(("period-rows", metric_id, period_end, cell), compute)


def placing(ctx: Context, metric: Metric, period_end: dt.date, cell: tuple[str, str, str],
            la_code: str | None = None) -> Placing:
    """Rank, band and position of an authority for one metric, period and cell (memoised per data version)."""
    code = la_code or ctx.la_code
    neighbours = tuple(ctx.snap.neighbour_codes(code, ctx.state.sn)) if la_code else tuple(ctx.neighbours)
    return ctx.snap.memo(
        ("placing", metric.id, metric.polarity, period_end, cell, code, neighbours),
        lambda: place(period_rows(ctx.snap, metric.id, period_end, cell), code, metric.polarity,
                      _la_codes(ctx.snap), neighbours, ENGLAND))


def with_benchmark(ctx: Context, metric: Metric, row: ScorecardRow) -> ScorecardRow:
    """The scorecard row with its national rank, band and positions (or why it has none)."""
    why = rankable(metric)
    if row.period_end is None:
        return replace(row, benchmark_note=why or "No data")
    p = placing(ctx, metric, row.period_end, (row.agency, row.breakdown, row.breakdown_value))
    b = p.benchmark
    if not why and b.rank is None:
        why = "Not ranked: no published figure for this authority in this period"
    elif not why and b.pool_size < 2:
        why = "Not ranked: no other authority has a figure for this period"
    ranked = not why
    return replace(row, rank=b.rank if ranked else None, rank_of=b.pool_size if ranked else None,
                   quartile_band=b.band if ranked else None, neighbour_median=p.neighbour_median,
                   vs_neighbours=p.vs_neighbours, vs_england=p.vs_england, benchmark_note=why)


BAND_WORDS = {"A": "A (best quarter)", "B": "B (second quarter)", "C": "C (third quarter)",
              "D": "D (worst quarter)"}


def benchmark_summary(ctx: Context, metric: Metric, row: ScorecardRow) -> str:
    """One sentence: rank, band and positions, in words."""
    parts = []
    if row.rank is not None:
        parts.append(f"{ctx.la_name} ranks {ordinal(row.rank)} of {row.rank_of} authorities in England "
                     f"(1 = best) in {row.period_label}, quartile band {BAND_WORDS.get(row.quartile_band or '', '—')}")
    else:
        parts.append(row.benchmark_note or "Not ranked")
    if row.vs_neighbours:
        parts.append(f"{row.vs_neighbours} than the statistical-neighbour median "
                     f"({value_text(metric, row.neighbour_median)})" if row.vs_neighbours != "same"
                     else f"the same as the statistical-neighbour median ({value_text(metric, row.neighbour_median)})")
    if row.vs_england:
        parts.append(f"{row.vs_england} than England ({value_text(metric, row.england_value)})"
                     if row.vs_england != "same" else f"the same as England ({value_text(metric, row.england_value)})")
    return "; ".join(parts) + "."


@dataclass
class ComparisonView:
    """The "How <authority> compares" panel: every authority's figure for the row's period."""

    metric: Metric
    row: ScorecardRow
    period_label: str
    points: pd.DataFrame  # code, name, value, status, group ("This authority", region, neighbours, other), rank, band
    quartiles: Quartiles | None
    summary: str
    region_name: str

    @cached_property
    def figure(self) -> dict:
        from .figures import distribution_figure

        return distribution_figure(self.metric, self.points, self.quartiles,
                                   f"{self.metric.short_title}: every authority, {self.period_label}")


GROUP_THIS, GROUP_NEIGHBOUR, GROUP_OTHER = "This authority", "Statistical neighbours", "Other authorities"


def comparison_view(ctx: Context, metric: Metric) -> ComparisonView | None:
    """Every authority's figure for the headline cell's latest period, with this authority, its
    region's authorities and its neighbours marked; None when the authority has no figure."""
    row = with_benchmark(ctx, metric, metric_view(ctx, metric).row)
    if row.period_end is None:
        return None
    cell = (row.agency, row.breakdown, row.breakdown_value)

    def compute() -> ComparisonView:
        rows = period_rows(ctx.snap, metric.id, row.period_end, cell)
        las = _la_codes(ctx.snap)
        rows = rows[rows["area_code"].isin(las)]
        region = ctx.region["code"] if ctx.region else None
        region_name = ctx.region["name"] if ctx.region else "Region"
        nbs = set(ctx.neighbours)
        why = rankable(metric)
        pool = national_pool(rows, las)
        all_ranks = ranks(pool, metric.polarity) if not why else {}
        q = pool_quartiles(pool)
        recs = []
        for r in rows.itertuples(index=False):
            area = ctx.snap.area(r.area_code) or {}
            group = (GROUP_THIS if r.area_code == ctx.la_code else GROUP_NEIGHBOUR if r.area_code in nbs
                     else f"{region_name} authorities" if region and area.get("region_code") == region
                     else GROUP_OTHER)
            value = None if r.status or pd.isna(r.value) else float(r.value)
            recs.append({"code": r.area_code, "name": area.get("name", r.area_code), "value": value,
                         "status": r.status or "", "group": group, "rank": all_ranks.get(r.area_code),
                         "band": quartile_band(pool.get(r.area_code), q, metric.polarity) if not why else None})
        points = pd.DataFrame(recs, columns=["code", "name", "value", "status", "group", "rank", "band"])
        return ComparisonView(metric=metric, row=row, period_label=row.period_label, points=points, quartiles=q,
                              summary=benchmark_summary(ctx, metric, row), region_name=region_name)

    return ctx.snap.memo(("comparison", metric.id, repr(metric.targets), ctx.la_code, ctx.state.sn,
                          ctx.state.as_of, row.period_end, cell), compute)


# --------------------------------------------------------------------------- compare authorities

MAX_COMPARE = MAX_COMPARE_WITH + 1


@dataclass
class CompareView:
    metric: Metric
    codes: list[str]  # GSS codes compared, this authority first
    names: dict[str, str]
    left_out: list[str]  # asked for but not shown (unknown, not an authority, outside the viewer's access)
    default_set: bool  # no "with" in the URL: this authority and its neighbours
    data: pd.DataFrame  # long: series, code, period, period_end, value, status, numerator, denominator, source
    cell: tuple[str, str, str]

    @cached_property
    def figure(self) -> dict:
        from .figures import compare_figure

        return compare_figure(self.metric, self.data, self.names[self.codes[0]],
                              f"{self.metric.short_title}: {len(self.codes)} authorities")

    @property
    def latest(self) -> pd.DataFrame:
        """Each authority's latest figure (the newest period any of them has)."""
        d = self.data[self.data["value"].notna() | (self.data["status"] != "")]
        if d.empty:
            return d
        return d[d["period_end"] == d["period_end"].max()]


def compare_codes(ctx: Context) -> tuple[list[str], list[str], bool]:
    """The authorities to compare (GSS codes, this one first, at most 15), the codes left out (unknown,
    not an authority, or outside the viewer's access: checked here, on the server), and whether the
    default set (this authority and its statistical neighbours) is used."""
    asked = list(ctx.state.compare_with)
    default = not asked
    candidates = list(ctx.neighbours) if default else asked
    codes, left_out = [ctx.la_code], []
    for c in candidates:
        area = ctx.snap.area(c)
        if area is None or area["level"] != "la":
            left_out.append(c)
            continue
        if ctx.allowed_las is not None and not ({area["code"], str(area["old_code"])} & ctx.allowed_las):
            left_out.append(c)
            continue
        if area["code"] not in codes:
            codes.append(area["code"])
    return codes[:MAX_COMPARE], left_out, default


def compare_view(ctx: Context, metric: Metric) -> CompareView:
    codes, left_out, default = compare_codes(ctx)

    def compute() -> CompareView:
        own = ctx.rows(metric.id)
        a, b, v, _ = headline_cell(metric, own) if not own.empty else ("", "", "", "")
        cell = (a, b, v)
        names, parts = {}, []
        for code in codes:
            area = ctx.snap.area(code)
            names[code] = area["name"]
            rows = ctx.rows(metric.id, code)
            s = cell_series(rows, *cell) if not rows.empty else rows
            for r in s.itertuples(index=False):
                parts.append({"series": area["name"], "code": code, "old_code": area["old_code"],
                              "period": r.period_label, "period_end": r.period_end,
                              "value": None if r.status or pd.isna(r.value) else float(r.value),
                              "status": r.status or "",
                              "numerator": None if pd.isna(r.numerator) else r.numerator,
                              "denominator": None if pd.isna(r.denominator) else r.denominator,
                              "source": r.source_title, "illustrative": bool(r.illustrative)})
        cols = ["series", "code", "old_code", "period", "period_end", "value", "status", "numerator",
                "denominator", "source", "illustrative"]
        data = pd.DataFrame(parts, columns=cols)
        return CompareView(metric=metric, codes=codes, names=names, left_out=left_out, default_set=default,
                           data=data, cell=cell)

    return ctx.snap.memo(("compare", metric.id, tuple(codes), tuple(left_out), ctx.state.as_of), compute)


COMPARE_CSV_COLUMNS = ["series", "old_code", "code", "period", "period_end", "value", "status", "numerator",
                       "denominator", "source", "illustrative"]


def compare_csv(ctx: Context, metric: Metric) -> str:
    view = compare_view(ctx, metric)
    df = view.data.rename(columns={"series": "area_name", "code": "area_code", "old_code": "area_old_code"})
    cols = ["area_name", "area_old_code", "area_code"] + COMPARE_CSV_COLUMNS[3:]
    prov = provenance(ctx) | {"metric": f"{metric.title} ({metric.id})"}
    return to_csv(df, cols, prov)


# --------------------------------------------------------------------------- search

def search_metrics(registry: Registry, q: str | None, limit: int = 50) -> list[Metric]:
    """Metrics whose id, title, short title or definition hold every word of ``q`` (case ignored):
    an exact id first, then matches in the title, then in the definition only, each in registry order."""
    words = [w for w in (q or "").lower().replace("_", " ").split() if w]
    if not words:
        return []
    scored = []
    for i, m in enumerate(registry.metrics):
        title = f"{m.id.replace('_', ' ')} {m.title} {m.short_title}".lower()
        text = f"{title} {m.definition}".lower()
        if (q or "").strip().lower() == m.id:
            rank = 0
        elif all(w in title for w in words):
            rank = 1
        elif all(w in text for w in words):
            rank = 2
        else:
            continue
        scored.append((rank, i, m))
    return [m for _, _, m in sorted(scored, key=lambda t: t[:2])][:limit]


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
    # everything of the metric the view holds and its panels read (the view keeps the metric itself)
    key = ("metric_view", metric.id, repr(metric.targets), repr(metric.tolerance), repr(metric.spc), ctx.la_code,
           st.cmp, st.sn, st.as_of, st.agency, st.breakdown)
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
    df = pd.DataFrame([r.as_record() for r in rows])
    for col in ("rank", "rank_of"):  # whole numbers, blank when not ranked (never 67.0)
        if col in df:
            df[col] = pd.Series([r.as_record()[col] for r in rows], dtype=object, index=df.index)
    return df


def scorecard_csv(ctx: Context, rows: list[ScorecardRow]) -> str:
    df = scorecard_frame(rows)
    return to_csv(df, list(df.columns) if not df.empty else ["metric_id"], provenance(ctx))


def reference_date(snap: Snapshot) -> dt.date | None:
    return snap.newest_period


# --------------------------------------------------------------------------- categories over time

@dataclass
class CategoryView:
    """A breakdown over time (CP plans by category of abuse, 2013-2022): one panel per category with the
    authority's series and, for rates and percentages, England, the region and the neighbour median."""

    metric: Metric
    dimension: str
    categories: list[tuple[str, str]]  # (code, label) in registry order
    data: pd.DataFrame  # category, series, period, period_end, value, status
    dimension_title: str = ""

    @cached_property
    def figure(self) -> dict:
        from .figures import small_multiples_figure

        return small_multiples_figure(self.metric, self.data, [label for _, label in self.categories],
                                      f"{self.metric.short_title}, by {self.dimension_title.lower()}")


def category_view(ctx: Context, metric: Metric, dimension: str) -> CategoryView | None:
    """Every period of each category of ``dimension`` for this authority, with comparators where the
    metric has them (not for counts); None when the authority has fewer than two periods of it."""
    def compute() -> CategoryView | None:
        rows = ctx.rows(metric.id)
        b = rows[(rows["breakdown"] == dimension) & (rows["agency"] == "")] if not rows.empty else rows
        if b.empty or b["period_end"].nunique() < 2:
            return None
        spec = ctx.registry.breakdowns[dimension]
        cats = [(c, spec.values[c]) for c in spec.values if c in set(b["breakdown_value"])]
        comparable = metric.unit is not Unit.COUNT
        sources: list[tuple[str, str | None]] = [(ctx.la_name, ctx.la_code)]
        if comparable:
            sources.append(("England", ENGLAND))
            if ctx.region:
                sources.append((ctx.region["name"], ctx.region["code"]))
        labels = dict(cats)

        def part(area: str) -> pd.DataFrame:
            r = ctx.rows(metric.id, area)
            return r[(r["breakdown"] == dimension) & (r["agency"] == "") & r["breakdown_value"].isin(labels)] \
                if not r.empty else r

        recs = []
        for name, area in sources:
            for r in part(area).sort_values("period_end").itertuples(index=False):
                recs.append({"category": labels[r.breakdown_value], "series": name, "period": r.period_label,
                             "period_end": r.period_end,
                             "value": None if r.status or pd.isna(r.value) else float(r.value),
                             "status": r.status or ""})
        if comparable and ctx.neighbours:
            parts = [p for p in (part(n) for n in ctx.neighbours) if not p.empty]
            if parts:
                allp = pd.concat(parts)
                allp = allp[(allp["status"].fillna("") == "")].dropna(subset=["value"])
                g = allp.groupby(["breakdown_value", "period_end", "period_label"])["value"]
                med = pd.DataFrame({"value": g.median(), "n": g.size()}).reset_index()
                med = med[med["n"] * 2 >= len(ctx.neighbours)].sort_values("period_end")
                from .analysis.rates import round_half_up

                for r in med.itertuples(index=False):
                    recs.append({"category": labels[r.breakdown_value], "series": "Statistical neighbours, median",
                                 "period": r.period_label, "period_end": r.period_end,
                                 "value": round_half_up(r.value, metric.decimals), "status": ""})
        order = {label: i for i, (_, label) in enumerate(cats)}
        recs.sort(key=lambda x: order[x["category"]])
        data = pd.DataFrame(recs, columns=["category", "series", "period", "period_end", "value", "status"])
        return CategoryView(metric=metric, dimension=dimension, categories=cats, data=data,
                            dimension_title=spec.title)

    return ctx.snap.memo(("category-view", metric.id, dimension, ctx.la_code, ctx.state.sn, ctx.state.as_of),
                         compute)
