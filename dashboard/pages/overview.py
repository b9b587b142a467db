"""Overview: the scorecard grouped by topic, filterable by topic and RAG status."""
from __future__ import annotations

from dash import dcc, html

from ..analysis.rag import RagStatus
from ..analysis.scorecard import ScorecardRow, filter_rows
from ..figures import sparkline_alt, sparkline_svg
from ..formatting import delta_text, value_text
from ..views import BAND_WORDS, Context, scorecard
from ..components import checklist, illustrative_badge, rag_chip, spc_chip
from ..spc_view import assurance_icon, variation_icon
from .common import shell

RAG_FILTER_OPTIONS = [
    {"label": "Red", "value": RagStatus.RED.value},
    {"label": "Amber", "value": RagStatus.AMBER.value},
    {"label": "Green", "value": RagStatus.GREEN.value},
    {"label": "Not rated (neutral)", "value": RagStatus.NEUTRAL.value},
    {"label": "No target", "value": RagStatus.NO_TARGET.value},
    {"label": "No data", "value": RagStatus.NO_DATA.value},
]
CHANGE_ARROWS = {"improved": "▲ improved", "worsened": "▼ worsened", "up": "up", "down": "down",
                 "no change": "no change"}


def _row(ctx: Context, r: ScorecardRow) -> html.Tr:
    metric = ctx.registry.metric(r.metric_id)
    href = f"/metric/{r.metric_id}{ctx.state.shared_query()}"
    name = [dcc.Link(r.short_title, href=href)]
    if r.cell_rule:
        name.append(html.Div(f"{r.agency + ', ' if r.agency else ''}"
                             f"{ctx.registry.breakdown_label(r.breakdown, r.breakdown_value) if r.breakdown else ''}"
                             f" ({r.cell_rule})", className="small text-muted"))
    if metric.local:
        name.append(html.Div("Local measure", className="small tag-local"))
    value = [value_text(metric, r.value, r.status_symbol)]
    if r.illustrative:
        value += [" ", illustrative_badge()]
    target = "—"
    if r.target is not None:
        target = [value_text(metric, r.target)] + ([" ", illustrative_badge("Illustrative target")]
                                                   if r.target_illustrative else [])
    if r.change.delta is None:
        change = "—"
    else:
        change = [html.Span(delta_text(metric, r.change.delta)), html.Br(),
                  html.Span(f"{CHANGE_ARROWS.get(r.change.direction, r.change.direction)} since "
                            f"{r.change.previous_label}",
                            className=f"small change-{r.change.direction.replace(' ', '-')}")]
    values = [v for _, v in r.spark]
    spark = html.Img(src=sparkline_svg(values), alt=sparkline_alt(metric, r.spark), width=120, height=28) \
        if len([v for v in values if v is not None]) >= 2 else html.Span("—", title="Not enough points for a trend")
    rag_cell = [rag_chip(r.rag)]
    if r.benchmark_text:
        rag_cell.append(html.Div(r.benchmark_text, className="small benchmark"))
    return html.Tr([
        html.Th(name, scope="row"),
        html.Td(value, className="num"),
        html.Td(r.period_label or "—"),
        html.Td(target, className="num"),
        html.Td(rag_cell),
        html.Td(spc_cell(metric, r), className="spc-cell"),
        html.Td(change),
        html.Td(benchmark_cell(metric, r)),
        html.Td(spark),
    ], id=f"row-{r.metric_id}", className=f"rag-row-{r.rag.status.value}")


def spc_cell(metric, r: ScorecardRow) -> list:
    """The SPC icons of the row's series: variation and assurance, each a shape and a word."""
    v_shape, v_words = variation_icon(r.spc_variation)
    a_shape, a_words = assurance_icon(r.spc_assurance, metric, r.spc_variation is not None)
    out = [spc_chip("variation", r.spc_variation, v_shape, v_words, r.spc_note), html.Br(),
           spc_chip("assurance", r.spc_assurance, a_shape, a_words)]
    if r.spc_trial:
        out += [html.Br(), html.Span("Trial limits", className="small text-muted",
                                     title="Fewer than 12 points: the limits are provisional")]
    return out


VS_WORDS = {"better": "better", "worse": "worse", "same": "same", "higher": "higher", "lower": "lower"}


def benchmark_cell(metric, r: ScorecardRow) -> list:
    """Rank of N, the band as a letter with its meaning, and the position against the neighbour median:
    words and letters, never colour alone."""
    if r.rank is None:
        short = r.benchmark_note.split(":")[0] if r.benchmark_note else "Not ranked"
        return [html.Span(short, title=r.benchmark_note or None, className="small text-muted")]
    out = [html.Span(f"{r.rank} of {r.rank_of}", className="rank"), html.Br(),
           html.Span(f"Band {r.quartile_band}", className=f"band band-{(r.quartile_band or '').lower()}",
                     title=BAND_WORDS.get(r.quartile_band or "", ""))]
    if r.vs_neighbours:
        out += [html.Br(), html.Span(f"{VS_WORDS[r.vs_neighbours]} than neighbours"
                                     if r.vs_neighbours != "same" else "same as neighbours", className="small")]
    return out


def scorecard_tables(ctx: Context, rows: list[ScorecardRow]) -> list:
    if not rows:
        return [html.P("No metrics match these filters.", className="no-match", role="status")]
    out = []
    for topic in ctx.registry.topics:
        trows = [r for r in rows if r.topic == topic.id]
        if not trows:
            continue
        out.append(html.Section([
            html.H2([dcc.Link(topic.title, href=f"/topic/{topic.id}{ctx.state.shared_query()}")],
                    id=f"topic-{topic.id}"),
            html.Div(html.Table([
                html.Caption(f"{topic.title}: latest value, target and status for each metric"),
                html.Thead(html.Tr([html.Th(h, scope="col") for h in
                                    ("Metric", "Latest", "Period", "Target", "Status", "SPC", "Change",
                                     "National rank and band", "Trend")])),
                html.Tbody([_row(ctx, r) for r in trows]),
            ], className="table scorecard"), className="table-responsive", tabIndex=0,
                **{"role": "region", "aria-label": f"{topic.title} scorecard"}),
        ], className="scorecard-topic"))
    counts = {}
    for r in rows:
        counts[r.rag.label] = counts.get(r.rag.label, 0) + 1
    summary = ", ".join(f"{n} {label}" for label, n in counts.items())
    return [html.P(f"{len(rows)} metrics shown: {summary}.", className="scorecard-summary", role="status")] + out


def scorecard_body(ctx: Context) -> list:
    """The scorecard tables for the context's filters (the filter callback redraws only this)."""
    shown = filter_rows(scorecard(ctx), ctx.state.topic, list(ctx.state.rag) or None)
    return ctx.memo("scorecard-tables", lambda: scorecard_tables(ctx, shown))


def layout(ctx: Context) -> html.Div:
    shown_topics = {r.topic for r in scorecard(ctx)}  # the framework's topics (the filter offers no empty one)
    topic_opts = [{"label": "All topics", "value": "all"}] + [{"label": t.title, "value": t.id}
                                                               for t in ctx.registry.topics
                                                               if t.id in shown_topics or t.id == ctx.state.topic]
    filters = html.Form([
        html.Div([
            html.Label("Topic", htmlFor="topic-filter", className="form-label"),
            dcc.Dropdown(id="topic-filter", options=topic_opts, value=ctx.state.topic or "all", clearable=False,
                         searchable=False),
        ], className="filter"),
        html.Div([
            html.Label("Position as at", htmlFor="as-of", className="form-label"),
            dcc.Dropdown(id="as-of", options=as_of_options(ctx), clearable=False, searchable=False,
                         value=ctx.state.as_of.isoformat() if ctx.state.as_of else "latest"),
        ], className="filter"),
        html.Fieldset([
            html.Legend("Status", className="form-label"),
            checklist("rag-filter", RAG_FILTER_OPTIONS, list(ctx.state.rag), class_name="rag-filter"),
        ], className="filter"),
    ], className="filters d-flex flex-wrap gap-4", role="search", **{"aria-label": "Filter the scorecard"})
    download = html.A("Download the scorecard (CSV)", id="scorecard-download", download="",
                      href=f"/download/scorecard.csv{ctx.state.query()}", className="download-link")
    legend = html.P(["Status is shown by word and shape: ", rag_chip(_legend(RagStatus.GREEN), with_rule=False), " ",
                     rag_chip(_legend(RagStatus.AMBER), with_rule=False), " ",
                     rag_chip(_legend(RagStatus.RED), with_rule=False), " ",
                     rag_chip(_legend(RagStatus.NEUTRAL), with_rule=False), " (neutral metrics are compared with "
                     "England instead) ", rag_chip(_legend(RagStatus.NO_TARGET), with_rule=False), " ",
                     rag_chip(_legend(RagStatus.NO_DATA), with_rule=False),
                     ". Open a status to read the rule behind it."], className="rag-legend")
    framework = html.P([html.Strong(ctx.framework_title + ": ") if ctx.framework_title else "",
                        f"{len(ctx.framework_ids)} measures. Every other measure is on its topic page and in the "
                        "metric search."], className="framework-line", id="framework-line")
    bands = html.P("National rank: 1 is the best authority in England; band A is the best quarter of authorities, "
                   "D the worst (DfE LAIT's rule). Neutral and local measures are not ranked.",
                   className="small band-legend")
    spc_key = html.P(["SPC (Making Data Count): variation ● common cause, ▲ improvement, ◆ concern, ■ neither "
                      "(↑ higher, ↓ lower); assurance ✓ pass, ✗ fail, ≈ hit or miss against the target. ",
                      dcc.Link("The SPC summary", href=f"/spc{ctx.state.shared_query()}"), "."],
                     className="small spc-key")
    return shell(ctx, "/", "Performance scorecard", [
        framework, legend, bands, spc_key, filters, download,
        html.Div(scorecard_body(ctx), id="scorecard-body",
                 **{"aria-live": "polite"}),
    ])


def as_of_options(ctx: Context) -> list[dict]:
    """'Latest', then each 31 March and 30 September in the published data, newest first."""
    frame = ctx.snap.frame
    ends = sorted({d for d in frame.loc[~frame["illustrative"], "period_end"].unique()
                   if (d.month, d.day) in ((3, 31), (9, 30))}, reverse=True)
    return [{"label": "Latest", "value": "latest"}] + [{"label": f"{d:%-d %B %Y}", "value": d.isoformat()}
                                                       for d in ends]


def _legend(status: RagStatus):
    from ..analysis.rag import assess

    samples = {
        RagStatus.GREEN: dict(value=1, target=1), RagStatus.AMBER: dict(value=0.5, target=1, tolerance=1),
        RagStatus.RED: dict(value=0, target=1), RagStatus.NEUTRAL: dict(value=1, target=None, polarity="neutral"),
        RagStatus.NO_TARGET: dict(value=1, target=None), RagStatus.NO_DATA: dict(value=None, target=1),
    }[status]
    kw = {"polarity": "higher_better", **samples}
    return assess(kw.pop("value"), **kw)
