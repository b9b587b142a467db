"""Metric search results at /search?q=words: every metric whose id, title or definition holds the words,
as links to its page, its topic and its comparison across authorities. Layout only."""
from __future__ import annotations

from dash import dcc, html

from ..views import Context, search_metrics
from .common import shell


def layout(ctx: Context) -> html.Div:
    q = ctx.state.q
    found = search_metrics(ctx.registry, q)
    share = ctx.state.shared_query()
    framework = set(ctx.framework_ids)
    if not q:
        status = "Type words from a metric's title, its id or its definition, then press Enter."
    elif not found:
        status = f"No metric matches \u201c{q}\u201d."
    else:
        status = f"{len(found)} metric{'s' if len(found) != 1 else ''} match \u201c{q}\u201d."
    items = []
    for m in found:
        topic = ctx.registry.topic(m.topic)
        items.append(html.Li([
            dcc.Link(m.title, href=f"/metric/{m.id}{share}", className="search-result-title"),
            html.Div([html.Code(m.id), " · ", dcc.Link(topic.title, href=f"/topic/{topic.id}{share}"),
                      " · ", dcc.Link("Compare authorities", href=f"/compare/{m.id}{share}"),
                      " · On the scorecard" if m.id in framework else " · Not on this framework's scorecard"],
                     className="small text-muted"),
            html.P(m.definition, className="small mb-0"),
        ], className="search-result mb-3"))
    return shell(ctx, "", "Search metrics", [
        html.P(status, role="status", id="search-status"),
        html.Ol(items, className="search-results list-unstyled", id="search-results") if items else None,
    ])
