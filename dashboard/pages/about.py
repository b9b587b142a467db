"""About the data: sources, licence, definitions, statistical neighbours."""
from __future__ import annotations

from dash import dcc, html

from ..views import Context
from .common import shell


def layout(ctx: Context) -> html.Div:
    src = ctx.snap.sources
    items = []
    for rec in src.sort_values(["kind", "key"]).to_dict("records"):
        kind = {"published": "Published statistics", "local_return": "Local return", "import": "Imported return",
                "illustrative": "Illustrative (generated, not real)"}.get(rec["kind"], rec["kind"])
        items.append(html.Tr([html.Th(rec["title"], scope="row"), html.Td(kind), html.Td(rec["publisher"]),
                              html.Td(rec["vintage"]), html.Td(rec["licence"] or "—"),
                              html.Td(html.A("Publication", href=rec["url"]) if rec["url"] else "—")]))
    sn = ctx.snap.neighbour_codes(ctx.la_code, ctx.state.sn)
    names = [ctx.snap.area(c)["name"] for c in sn if ctx.snap.area(c)]
    q = ctx.state.shared_query()
    metrics = [html.Li(dcc.Link(m.title, href=f"/metric/{m.id}{q}")) for m in ctx.registry.metrics]
    return shell(ctx, "/about", "About the data", [
        html.H2("Sources"),
        html.Div(html.Table([
            html.Caption("Every source of the values on this dashboard"),
            html.Thead(html.Tr([html.Th(h, scope="col") for h in
                                ("Source", "Kind", "Publisher", "Edition", "Licence", "Link")])),
            html.Tbody(items)], className="table table-sm"), className="table-responsive", tabIndex=0,
            **{"role": "region", "aria-label": "Sources"}),
        html.P("Published statistics: Department for Education, explore-education-statistics, and ONS mid-year "
               "population estimates, under the Open Government Licence v3.0."),
        html.H2("Definitions that matter"),
        html.Ul([
            html.Li("Rates per 10,000 children for the year to 31 March Y use the ONS estimate of children aged "
                    "0-17 at mid-(Y-1), rounded half up to DfE's published decimals. They reproduce DfE's rates."),
            html.Li("Periods are part of the number: '2016-17' is the year to 31 March 2017; child protection and "
                    "looked-after counts are snapshots at 31 March; workforce figures are at 30 September."),
            html.Li("'Placed out of borough' is a local measure (outside the boundary, any distance); DfE's measure "
                    "is 'outside the LA boundary and more than 20 miles from home'. They are shown apart."),
            html.Li("Suppressed published values (c, k, x, z, u, :, low) are shown as their symbol, never as zero."),
            html.Li("Illustrative values come from a seeded generator in the code and are labelled wherever shown."),
        ]),
        html.H2(f"Statistical neighbours of {ctx.la_name} ({ctx.state.sn} model)"),
        html.P(", ".join(names) if names else "No statistical neighbours are published for this authority "
                                              "in this model."),
        html.P("The comparator is the median of the neighbours' values for each period; periods where fewer than "
               "half of them have a value are left out."),
        html.H2("Metrics"),
        html.Ul(metrics),
    ])
