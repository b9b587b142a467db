"""The page shell: navigation, authority picker, the "as at" line. Layout only."""
from __future__ import annotations

from dash import dcc, html

from ..views import Context, Viewer, as_at
from ..components import as_at_line

#: topics with a page of their own, linked from the navigation instead of the topic page
TOPIC_PAGES = {"demand": "/demand"}


def nav_entries(ctx: Context | None) -> list[tuple[str, str]]:
    """The overview, each topic of the registry in its order, the panel's meetings and the page about the data."""
    topics = [(TOPIC_PAGES.get(t.id, f"/topic/{t.id}"), t.label) for t in ctx.registry.topics] \
        if ctx is not None else []
    return [("/", "Overview"), ("/spc", "SPC summary"), *topics, ("/meetings", "Meetings"),
            ("/about", "About the data")]


def nav(ctx: Context | None, active: str) -> html.Nav:
    q = ctx.state.shared_query() if ctx else ""
    items = []
    for href, label in nav_entries(ctx):
        current = href == active
        text = [label, html.Span(" (current page)", className="visually-hidden")] if current else label
        items.append(html.Li(dcc.Link(text, href=href + q, className="nav-link" + (" active" if current else "")),
                             className="nav-item"))
    return html.Nav(html.Ul(items, className="nav nav-pills flex-wrap"), className="site-nav",
                    **{"aria-label": "Main"})


def authority_picker(ctx: Context) -> html.Div:
    options = [{"label": f"{a['name']} ({a['old_code']})", "value": a["code"]} for a in ctx.snap.local_authorities()
               if ctx.allowed_las is None or {a["code"], str(a["old_code"])} & ctx.allowed_las]
    return html.Div([
        html.Label("Authority", htmlFor="la-select", className="form-label me-2 mb-0"),
        dcc.Dropdown(id="la-select", options=options, value=ctx.la_code, clearable=False, searchable=True,
                     className="la-select"),
    ], className="authority-picker d-flex align-items-center")


def user_bar(viewer: Viewer) -> html.Div | None:
    """Who is signed in, with sign-out (a POST with the CSRF token) and, for admins, administration."""
    if not viewer.signed_in:
        return None
    parts = [html.Span(["Signed in as ", html.Strong(viewer.name), f" ({viewer.role})"])]
    if viewer.staff_user:
        parts.append(html.A("Change password", href="/account/password", className="ms-3"))
    if viewer.role in ("admin", "analyst"):
        parts.append(html.A("Upload a return", href="/upload", className="ms-3"))
    if viewer.role == "admin":
        parts.append(html.A("Administration", href="/admin", className="ms-3"))
        parts.append(html.A("Data versions", href="/admin/versions", className="ms-3"))
    parts.append(html.Form([dcc.Input(type="hidden", name="csrf_token", value=viewer.csrf_token),
                            html.Button("Sign out", type="submit", className="btn btn-link p-0 ms-3 align-baseline")],
                           method="post", action="/logout", className="d-inline"))
    return html.Div(parts, className="user-bar small")


def view_banner(ctx: Context) -> html.P:
    if ctx.external:
        return html.P([html.Strong("Published view: "), "counts of 1 to 5, and rates and percentages built on them, "
                       "are suppressed and shown as c, following DfE's rule."], className="view-banner external",
                      id="view-banner")
    return html.P([html.Strong("Staff view: "), "unsuppressed figures, including small numbers. Do not share "
                   "outside the partnership."], className="view-banner staff", id="view-banner")


def search_box(ctx: Context) -> html.Form:
    """A metric search on every page: a plain GET form to /search (no callback), with the metric titles
    offered as suggestions by the browser (a native datalist). Works with a keyboard and without scripts."""
    hidden = [dcc.Input(type="hidden", name="la", value=ctx.state.la)] if ctx.state.la else []
    suggestions = html.Datalist([html.Option(value=m.title) for m in ctx.registry.metrics], id="metric-titles")
    return html.Form([
        html.Label("Search metrics", htmlFor="metric-search", className="form-label me-2 mb-0"),
        dcc.Input(id="metric-search", type="search", name="q", list="metric-titles", value=ctx.state.q or "",
                  placeholder="title, id or definition words", autoComplete="off",
                  className="form-control form-control-sm metric-search-input"),
        suggestions, *hidden,
        html.Button("Search", type="submit", className="btn btn-sm btn-outline-primary ms-1"),
    ], method="get", action="/search", role="search", className="metric-search d-flex align-items-center",
        **{"aria-label": "Search metrics"})


def shell(ctx: Context | None, active: str, title: str, children: list, *, subtitle: str | None = None) -> html.Div:
    head = [html.H1(title, id="page-heading")]
    if ctx is not None:
        region = ctx.region["name"] if ctx.region else ""
        head.append(html.P([html.Strong(ctx.la_name), f" ({ctx.la['old_code']}, {ctx.la_code})",
                            f" · {region}" if region else "",
                            f" · showing periods up to {ctx.state.as_of.isoformat()}" if ctx.state.as_of else ""],
                           className="lead authority-line"))
    if subtitle:
        head.append(html.P(subtitle, className="subtitle"))
    top = [nav(ctx, active)]
    if ctx is not None:
        top.append(search_box(ctx))
        top.append(authority_picker(ctx))
    bar = user_bar(ctx.viewer) if ctx is not None else None
    if bar is not None:
        top.append(bar)
    body = [html.Div(top, className="top-bar d-flex flex-wrap justify-content-between align-items-center gap-2"),
            html.Main(head + ([as_at_line(as_at(ctx.snap), ctx.snap.version_id), view_banner(ctx)] if ctx else [])
                      + children,
                      id="main", tabIndex=-1),
            dcc.Store(id="page-title", data=f"{title} - Safeguarding performance")]
    return html.Div(body)
