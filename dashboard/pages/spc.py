"""The SPC summary (/spc): the Making Data Count grid of variation against assurance, each cell
listing its metrics as links to their pages. Layout only: dashboard.spc_view builds the grid."""
from __future__ import annotations

from dash import dcc, html

from ..components import spc_chip
from ..spc_view import GRID_COLUMNS, GRID_ROWS, SpcGrid, assurance_icon, spc_grid, variation_icon
from ..views import Context
from .common import shell


def _entry(ctx: Context, e) -> html.Li:
    metric = ctx.registry.metric(e.metric_id)
    v_shape, v_words = variation_icon(e.variation)
    a_shape, a_words = assurance_icon(e.assurance, metric, e.variation is not None)
    extra = []
    if e.trial:
        extra.append(html.Span(" (trial limits)", className="small text-muted"))
    if e.note:
        extra.append(html.Span(f" ({e.note})", className="small text-muted"))
    return html.Li([dcc.Link(e.title, href=f"/metric/{e.metric_id}{ctx.state.shared_query()}",
                             id=f"spc-link-{e.metric_id}"),
                    html.Span(f" {v_shape} {v_words}; {a_shape} {a_words}", className="visually-hidden"), *extra])


def grid_table(ctx: Context, grid: SpcGrid) -> html.Div:
    head = html.Thead(html.Tr([html.Td("")] + [html.Th(label, scope="col") for _, label in GRID_COLUMNS]))
    body = []
    for rkey, rlabel in GRID_ROWS:
        cells = [html.Th(rlabel, scope="row")]
        for ckey, _ in GRID_COLUMNS:
            entries = grid.cells[(rkey, ckey)]
            cells.append(html.Td(html.Ul([_entry(ctx, e) for e in entries]) if entries else
                                 html.Span("—", title="No metric"), id=f"spc-cell-{rkey}-{ckey}"))
        body.append(html.Tr(cells))
    caption = (f"{ctx.la_name}: the scorecard's metrics by SPC variation (rows) and assurance (columns); "
               "each links to its chart")
    return html.Div(html.Table([html.Caption(caption), head, html.Tbody(body)],
                               className="table table-bordered spc-grid", id="spc-grid"),
                    className="table-responsive", tabIndex=0, **{"role": "region", "aria-label": "SPC summary grid"})


def layout(ctx: Context) -> html.Div:
    grid = spc_grid(ctx)
    counts = {rkey: sum(grid.count(rkey, c) for c, _ in GRID_COLUMNS) for rkey, _ in GRID_ROWS}
    summary = html.P(f"{len(grid.entries)} metrics: {counts['concern']} with special-cause concern, "
                     f"{counts['improvement']} with special-cause improvement, {counts['common_cause']} with common "
                     f"cause variation, {counts['none']} neutral or without SPC; "
                     f"{sum(grid.count(r, 'fail') for r, _ in GRID_ROWS)} will consistently miss their target.",
                     id="spc-summary-line", role="status")
    key = html.Ul([
        html.Li(["Variation (from the latest point): ",
                 *[x for k in ("common_cause", "improvement_high", "improvement_low", "concern_high", "concern_low",
                               "neither_high", "neither_low")
                   for x in (spc_chip("variation", k, *variation_icon(k)), " ")]]),
        html.Li(["Assurance (the target against the latest process limits): ",
                 *[x for k in ("pass", "hit_or_miss", "fail") for x in (spc_chip("assurance", k, *assurance_icon(k)),
                                                                        " ")]]),
        html.Li("Trial limits: fewer than 12 points, so the limits are provisional. SPC uses the series the "
                "scorecard shows for each metric, up to the scorecard's date."),
    ], className="small spc-key")
    intro = html.P(["Statistical process control tells a real change from everyday variation (NHS England's "
                    "Making Data Count). Each metric sits in the row of its variation and the column of its "
                    "assurance; open one for its SPC chart. ",
                    dcc.Link("Back to the scorecard", href=f"/{ctx.state.shared_query()}")])
    return shell(ctx, "/spc", "SPC summary: is it changing, and will it meet its target?",
                 [intro, summary, key, grid_table(ctx, grid)])
