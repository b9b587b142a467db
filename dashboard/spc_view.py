"""What the SPC screens show, computed without Dash: the metric page's XmR chart and its table and
summary, the scorecard's SPC icons as word and shape, and the /spc summary grid.

SPC itself is :mod:`dashboard.analysis.spc` (the rules: ``docs/spc.md``); the series a screen
reads comes from the view context (:func:`dashboard.views.series_spc`), so an external viewer's
SPC is computed from the suppressed data, and a link scoped to some metrics sees only those.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from .analysis.spc import MIN_POINTS, POINT_TYPE_WORDS, RULE_WORDS, SpcOptions, SpcResult, metric_options
from .analysis.series import cell_series
from .figures import spc_figure
from .formatting import value_text
from .periods import period_label
from .registry import Metric, Polarity, Unit
from .views import Context, MetricView, metric_view, scorecard, series_spc, spc_note

TRIAL_LABEL = f"Trial limits (fewer than {MIN_POINTS} points)"

#: variation icon key -> (shape, short words). The shape repeats the chart's marker for the class
#: (circle common cause, triangle improvement, diamond concern, square neither) and an arrow says
#: higher or lower: never colour alone.
VARIATION_ICONS: dict[str, tuple[str, str]] = {
    "common_cause": ("●", "Common cause"),
    "improvement_high": ("▲↑", "Improvement (higher)"),
    "improvement_low": ("▲↓", "Improvement (lower)"),
    "concern_high": ("◆↑", "Concern (higher)"),
    "concern_low": ("◆↓", "Concern (lower)"),
    "neither_high": ("■↑", "Neither (higher)"),
    "neither_low": ("■↓", "Neither (lower)"),
}
NO_VARIATION = ("–", "No SPC")

#: assurance icon key -> (symbol, short words); "none" when there is no assurance icon.
ASSURANCE_ICONS: dict[str, tuple[str, str]] = {
    "pass": ("✓", "Pass"),
    "fail": ("✗", "Fail"),
    "hit_or_miss": ("≈", "Hit or miss"),
}

#: the point classes as the chart and its legend show them: (marker symbol, colour, legend words).
#: Colours follow Making Data Count (grey, blue, orange, purple), darkened to 3:1 or more on white.
POINT_STYLES: dict[str, tuple[str, str, str]] = {
    "common_cause": ("circle", "#505A5F", "Common cause (circle): no signal"),
    "special_cause_improvement": ("triangle-up", "#1D70B8", "Improvement (triangle): special cause, good side"),
    "special_cause_concern": ("diamond", "#B35900", "Concern (diamond): special cause, bad side"),
    "special_cause_neither": ("square", "#6F3C97", "Neither (square): special cause on a neutral measure"),
}
POINT_SHORT = {"common_cause": "Common cause", "special_cause_improvement": "Improvement",
               "special_cause_concern": "Concern", "special_cause_neither": "Neither"}

# The Making Data Count summary grid: variation rows against assurance columns.
GRID_ROWS: tuple[tuple[str, str], ...] = (
    ("concern", "Special cause: concern"),
    ("common_cause", "Common cause"),
    ("improvement", "Special cause: improvement"),
    ("none", "Neutral measure, or no SPC"),
)
GRID_COLUMNS: tuple[tuple[str, str], ...] = (
    ("fail", "✗ Fail: the target will consistently be missed"),
    ("hit_or_miss", "≈ Hit or miss: the target will be met some times and missed others"),
    ("pass", "✓ Pass: the target will consistently be met"),
    ("none", "– No target (or a neutral measure, or no limits)"),
)


def variation_icon(key: str | None) -> tuple[str, str]:
    """(shape, words) for a variation icon key (None: no SPC)."""
    return VARIATION_ICONS.get(key or "", NO_VARIATION)


def assurance_icon(key: str | None, metric: Metric | None = None, has_spc: bool = True) -> tuple[str, str]:
    """(symbol, words) for an assurance icon key; None says why there is none."""
    if key in ASSURANCE_ICONS:
        return ASSURANCE_ICONS[key]
    if not has_spc:
        return ("–", "No SPC")
    if metric is not None and metric.polarity is Polarity.NEUTRAL:
        return ("–", "Not applicable (neutral)")
    return ("–", "No target")


def grid_row(variation: str | None) -> str:
    if variation is None or variation.startswith("neither"):
        return "none"
    if variation.startswith("improvement"):
        return "improvement"
    if variation.startswith("concern"):
        return "concern"
    return "common_cause"


def grid_column(assurance: str | None) -> str:
    return assurance if assurance in ASSURANCE_ICONS else "none"


# --------------------------------------------------------------------------- metric page


@dataclass
class MetricSpc:
    """The SPC panel of a metric page, for the cell the trend shows."""

    metric: Metric
    cell: tuple[str, str, str]
    result: SpcResult | None
    labels: dict  # period_end -> the period's label
    target: float | None
    note: str  # why there is no SPC ("" when there is)
    illustrative: bool = False
    title: str = ""
    summary: list[str] = field(default_factory=list)
    withheld: str = ""  # why the published view does not draw the chart ("" when it does)
    options: SpcOptions = field(default_factory=SpcOptions)  # the registry's fixing and change points, as applied

    @property
    def variation(self) -> tuple[str, str]:
        return variation_icon(self.result.variation.key if self.result and self.result.variation else None)

    @property
    def assurance(self) -> tuple[str, str]:
        key = self.result.assurance.key if self.result and self.result.assurance else None
        return assurance_icon(key, self.metric, self.result is not None)

    @property
    def trial(self) -> bool:
        return bool(self.result and self.result.trial)

    @cached_property
    def table(self) -> pd.DataFrame:
        """One row per point: what the chart draws, in words (the chart's table equivalent)."""
        cols = ["period", "period_end", "value", "class", "rule", "mean", "lower_limit", "upper_limit", "limits"]
        if self.result is None or self.withheld:
            return pd.DataFrame(columns=cols)
        m = self.metric
        groups = self.result.groups
        recs = []
        for p in self.result.points:
            g = groups[p.group]
            shape = POINT_STYLES[p.point_type][0].replace("-up", "")
            recs.append({
                "period": self.labels.get(p.period, str(p.period)), "period_end": p.period,
                "value": value_text(m, p.value),
                "class": f"{POINT_SHORT[p.point_type]} ({shape})",
                "rule": "" if p.rule is None else f"{'High' if p.signal == 'high' else 'Low'}: {RULE_WORDS[p.rule]}",
                "mean": value_text(m, p.mean),
                "lower_limit": value_text(m, p.lower_limit) if p.lower_limit is not None else "—",
                "upper_limit": value_text(m, p.upper_limit) if p.upper_limit is not None else "—",
                "limits": TRIAL_LABEL if g.trial else ("No limits" if g.lower_limit is None else "Process limits"),
            })
        return pd.DataFrame(recs, columns=cols)

    @cached_property
    def figure(self) -> dict:
        return spc_figure(self.metric, self.result, self.labels, self.title, target=self.target,
                          styles=POINT_STYLES, trial_label=TRIAL_LABEL) \
            if self.result is not None and not self.withheld else {}


def limits_words(metric: Metric, result: SpcResult, labels: dict, options: SpcOptions) -> list[str]:
    """Where the limits were recalculated (rebased at a recorded change point, with its reason) and
    where they were fixed, in sentences; [] when neither applies."""
    out = []
    for g in result.groups[1:]:
        for r in options.rebase_at(g.start_period):
            label = labels.get(g.start_period, g.start_period)
            recorded = period_label(metric.period_type, r.recorded)
            where = "" if r.at_change else \
                f" (the change is recorded at {recorded}; {label} is the first value after it)"
            out.append(f"Limits recalculated from {label}: {r.reason}{where}. Points before and after are judged "
                       "against their own centre line and limits.")
    n = options.fix_after
    for g in result.groups:
        span = "" if len(result.groups) == 1 else \
            f" of the stretch from {labels.get(g.start_period, g.start_period)}"
        if g.fixed:
            base_end = result.points[g.start + g.n_baseline - 1].period
            out.append(f"Limits fixed on the first {g.n_baseline} points{span} "
                       f"({labels.get(g.start_period, g.start_period)} to {labels.get(base_end, base_end)}); "
                       "later points are judged against them.")
        elif n is not None:
            whose = "the series has" if len(result.groups) == 1 else \
                f"the stretch from {labels.get(g.start_period, g.start_period)} has"
            out.append(f"Limits are fixed after {n} points; {whose} {g.n_points}, so its limits use every point.")
    return out


def _summary(metric: Metric, result: SpcResult, labels: dict, target: float | None,
             options: SpcOptions | None = None) -> list[str]:
    g = result.last_group
    v_shape, v_words = variation_icon(result.variation.key if result.variation else None)
    a_key = result.assurance.key if result.assurance else None
    a_shape, a_words = assurance_icon(a_key, metric)
    first, last = result.points[0], result.points[-1]
    out = [f"{len(result.points)} values from {labels.get(first.period, first.period)} to "
           f"{labels.get(last.period, last.period)}."]
    if g is not None and g.lower_limit is not None:
        limits = TRIAL_LABEL if g.trial else "Process limits"
        out.append(f"Centre line (mean) {value_text(metric, g.mean)}; {limits.lower() if not g.trial else limits}: "
                   f"lower {value_text(metric, g.lower_limit)}, upper {value_text(metric, g.upper_limit)}.")
    elif g is not None:
        out.append(f"Centre line (mean) {value_text(metric, g.mean)}; no process limits ({g.label}).")
    out.extend(limits_words(metric, result, labels, options or SpcOptions()))
    out.append(f"Variation: {v_shape} {v_words}" + (f". {result.variation.words}." if result.variation else "."))
    if a_key:
        out.append(f"Assurance: {a_shape} {a_words}. {result.assurance.words} "
                   f"(target {value_text(metric, target)}).")
    else:
        out.append(f"Assurance: {a_shape} {a_words}.")
    special = [p for p in result.points if p.rule is not None]
    if special:
        out.append(f"{len(special)} of {len(result.points)} points show special-cause variation: "
                   + "; ".join(f"{labels.get(p.period, p.period)} {POINT_SHORT[p.point_type].lower()} "
                               f"({RULE_WORDS[p.rule]})" for p in special[-5:])
                   + ("; ..." if len(special) > 5 else "") + ".")
    else:
        out.append("No point shows special-cause variation.")
    return out


WITHHELD = ("The published view does not draw this chart: its centre line or limits would show a number from 1 "
            "to 5 on a count of children, which DfE's small-numbers rule keeps out of published figures. The "
            "icons above are not affected.")


def small_lines(result: SpcResult) -> bool:
    """True when a centre line or limit of any limit group would show as 1 to 5 (rounded)."""
    return any(x is not None and 0.5 <= x < 5.5
               for g in result.groups for x in (g.mean, g.lower_limit, g.upper_limit, g.near_lower, g.near_upper))


def metric_spc(ctx: Context, metric: Metric, view: MetricView | None = None) -> MetricSpc:
    """SPC of the series the metric page's trend shows (its cell), against the target in force for
    its latest period. Memoised per data version and view."""
    view = view or metric_view(ctx, metric)
    st = ctx.state
    key = ("metric_spc", metric.id, repr(metric.targets), repr(metric.spc), ctx.la_code, st.as_of, view.cell)

    def compute() -> MetricSpc:
        rows = ctx.rows(metric.id)
        series = cell_series(rows, *view.cell) if not rows.empty else rows
        target = None
        if not series.empty:
            t = metric.target_for(series["period_end"].iloc[-1], view.cell[0] or None)
            target = t.value if t else None
        result = series_spc(metric, series, target)
        labels = dict(zip(series["period_end"], series["period_label"])) if not series.empty else {}
        name = view.series_name or ctx.la_name
        title = f"SPC chart (XmR): {metric.short_title}, {name}"
        if result is not None and result.trial:
            title += f". {TRIAL_LABEL}"
        options = metric_options(metric, sorted(series["period_end"])) if not series.empty else SpcOptions()
        summary = _summary(metric, result, labels, target, options) if result else []
        # Suppressed values never reach an external viewer's SPC (the series is the suppressed one); and
        # on a count of children under the small-numbers rule, no line that reads as 1 to 5 is shown.
        withheld = WITHHELD if (ctx.external and result is not None and metric.unit is Unit.COUNT
                                and metric.suppression.rule == "small_numbers" and small_lines(result)) else ""
        if withheld:
            summary = [t for t in summary if not t.startswith("Centre line")]
        return MetricSpc(metric=metric, cell=view.cell, result=result, labels=labels, target=target,
                         note=spc_note(result, series),
                         illustrative=bool(series["illustrative"].any()) if not series.empty else False,
                         title=title, summary=summary, withheld=withheld, options=options)

    return ctx.snap.memo(key, compute)


def spc_json(result: SpcResult) -> dict:
    """The command line's JSON: the last limit group's lines, the icons, every point and every limit group."""
    d = result.as_dict()
    d["limit_groups"] = d.pop("groups")
    return d


# --------------------------------------------------------------------------- the summary grid


@dataclass(frozen=True)
class GridEntry:
    metric_id: str
    title: str
    variation: str | None
    assurance: str | None
    trial: bool
    note: str


@dataclass
class SpcGrid:
    """The Making Data Count summary: each metric of the scorecard placed by its variation and assurance."""

    cells: dict  # (row key, column key) -> list[GridEntry], every cell present
    entries: list[GridEntry]

    def count(self, row: str, column: str) -> int:
        return len(self.cells[(row, column)])


def spc_grid(ctx: Context) -> SpcGrid:
    """The scorecard's metrics (the framework's, those this viewer may see, as at the view's date) in the
    grid of variation against assurance, each in the scorecard's order."""
    def compute() -> SpcGrid:
        cells: dict = {(r, c): [] for r, _ in GRID_ROWS for c, _ in GRID_COLUMNS}
        entries = []
        for r in scorecard(ctx):
            e = GridEntry(metric_id=r.metric_id, title=r.short_title, variation=r.spc_variation,
                          assurance=r.spc_assurance, trial=bool(r.spc_trial), note=r.spc_note)
            entries.append(e)
            cells[(grid_row(e.variation), grid_column(e.assurance))].append(e)
        return SpcGrid(cells=cells, entries=entries)

    return ctx.memo("spc-grid", compute, tuple(m.id for m in ctx.registry.metrics))


__all__ = ["TRIAL_LABEL", "VARIATION_ICONS", "ASSURANCE_ICONS", "POINT_STYLES", "GRID_ROWS", "GRID_COLUMNS",
           "MetricSpc", "SpcGrid", "GridEntry", "variation_icon", "assurance_icon", "metric_spc", "spc_grid",
           "spc_json", "grid_row", "grid_column", "POINT_TYPE_WORDS", "limits_words"]
