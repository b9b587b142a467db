"""The Dash application: routing, callbacks, downloads and health check.

Pages are plain layout functions (``dashboard/pages``) chosen by one router callback from the
URL, so every selection lives in the address bar. Callbacks only read the URL state and call
``dashboard.views``; nothing here computes a number.
"""
from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from urllib.parse import urlsplit

import orjson
from markupsafe import escape
from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update
from dash._utils import to_json
from dash.dash import _app_entry as DASH_APP_ENTRY
from dash.exceptions import PreventUpdate
from flask import Response, jsonify, request, send_from_directory

from ..auth.service import audit as auth_audit
from ..config import ROOT, Settings, load_settings
from ..data import DataManager, NoData
from ..exports import safe_filename
from ..pages import about, compare as compare_page, demand as demand_page, metric as metric_page, overview
from ..pages import meetings as meetings_page, search as search_page, spc as spc_page, topic as topic_page
from ..pages.common import shell
from ..routes import PAGES as ROUTES, match_page, normalise
from ..state import ViewState, parse_query
from ..auth.policy import EXTERNAL_ROLES, allowed_authorities, allowed_metrics, default_scope
from ..views import (OutOfScope, UnknownArea, Viewer, compare_csv, make_context, metric_csv, scorecard,
                     scorecard_csv)
from . import prerender, security, speed
from .speed import PageCache
from .uploads import install_uploads
from . import meetings as meetings_web
from ..meetings import list_meetings, revision as meetings_revision
from ..analysis.scorecard import filter_rows

log = logging.getLogger(__name__)

INDEX = """<!DOCTYPE html>
<html lang="en-GB">
<head>
{%metas%}
<title>{%title%}</title>
{%favicon%}
{%css%}
</head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
{%app_entry%}
<!--sg-first-screen-->
<footer>
{%config%}
{%scripts%}
{%renderer%}
</footer>
</body>
</html>"""


def _topics(mgr: DataManager) -> tuple[str, ...]:
    return tuple(t.id for t in mgr.registry.topics)


def _state(mgr: DataManager, search: str | None) -> ViewState:
    return parse_query(search, _topics(mgr), mgr.settings.sn_model)


def _context(mgr: DataManager, search: str | None, who: Viewer | None = None):
    """The view context for the current request: the URL's state, checked against who is asking."""
    return context_for(mgr, _state(mgr, search), who)


def viewer() -> Viewer:
    """Who is asking, from the server session: the only place pages learn it."""
    p = security.principal()
    if p is None:
        return Viewer()
    return Viewer(name=p.name, role=p.role, scope=dict(p.scope), csrf_token=security.csrf_token(),
                  staff_user=p.user_id is not None)


def context_for(mgr: DataManager, state: ViewState, who: Viewer | None = None):
    """The view context for a view state, checked against who is asking (``who``: the session's viewer,
    or its stand-in for the page cache, with the same role and scope)."""
    who = who or viewer()
    return make_context(mgr.snapshot(), mgr.registry, state, mgr.settings.la_code,
                        external=who.role in EXTERNAL_ROLES or not who.signed_in,
                        allowed_las=allowed_authorities(who.role, who.scope),
                        allowed_metrics=allowed_metrics(who.role, who.scope), viewer=who,
                        framework=mgr.settings.framework)


def _checked_context(mgr: DataManager, state: ViewState):
    """As context_for, for callbacks: a request outside the viewer's scope changes nothing."""
    try:
        return context_for(mgr, state)
    except (UnknownArea, OutOfScope, NoData):
        raise PreventUpdate from None


def _message_page(title: str, text: str, ctx=None) -> html.Div:
    return shell(ctx, "", title, [html.P(text), html.P(dcc.Link("Go to the scorecard", href="/"))])


def render(mgr: DataManager, pathname: str | None, search: str | None, who: Viewer | None = None):
    """The page for a path and query: the router's one job."""
    path = normalise(pathname)
    search = search if isinstance(search, str) else ""
    try:
        ctx = _context(mgr, search, who)
    except NoData:
        return _message_page("No data yet", "The database has not been built. Run `python -m dashboard build`.")
    except UnknownArea as exc:
        return _message_page("Authority not found", f"{exc} is not an English local authority code.")
    except OutOfScope as exc:
        return _message_page("Not available", f"{exc} is not covered by the access you were given.")
    found = match_page(path, ctx.registry)
    if found is None:
        return _message_page("Page not found", f"There is no page at {path}.", ctx)
    if found.page == "overview":
        return overview.layout(ctx)
    if found.page == "about":
        return about.layout(ctx)
    if found.page == "metric":
        return metric_page.layout(ctx, ctx.registry.metric(found.params["metric"]),
                                  notes=meetings_web.panel_notes(mgr.engine, ctx))
    if found.page == "meetings":
        return meetings_page.list_layout(ctx, list_meetings(mgr.engine))
    if found.page == "meeting":
        return meetings_web.meeting_page(mgr.engine, ctx, found.params["meeting"])
    if found.page == "present":
        return meetings_web.meeting_page(mgr.engine, ctx, found.params["meeting"], present=True,
                                         item=found.params.get("item"))
    if found.page == "compare":
        return compare_page.layout(ctx, ctx.registry.metric(found.params["metric"]))
    if found.page == "search":
        return search_page.layout(ctx)
    if found.page == "demand":
        return demand_page.layout(ctx)
    if found.page == "spc":
        return spc_page.layout(ctx)
    return topic_page.layout(ctx, found.params["topic"])


def _registry_digest(snap, registry) -> str:
    """What a rendered page depends on in the registry (titles, targets, topics, frameworks), as a hash."""
    return snap.memo(("registry-digest", id(registry)),
                     lambda: hashlib.sha256(registry.model_dump_json().encode()).hexdigest()[:16])


def page_cache_revision(mgr: DataManager) -> str:
    """What else a rendered page shows that the data version does not cover, as a short stamp for the page
    cache key: the meetings, commentary and actions people write (and the day, which makes actions overdue).
    A page that shows anything else edited outside a data version must add its revision here, or its pages
    would be served stale from the cache."""
    return meetings_revision(mgr.engine)


def page_json(mgr: DataManager, cache: PageCache, pathname: str | None, search: str | None) -> str:
    """The router's page for a path and query as JSON, for the person asking.

    Rendered once per (database, data version and its stamp, registry, framework, role, scope, staff or
    link, path, query) for a stand-in viewer with that role and scope, then personalised (name, CSRF
    token); the same access checks run as for an uncached render, because the context is built from the
    same role and scope."""
    who = viewer()
    key, got = cached_page(mgr, cache, who, pathname, search)
    if key is None:
        return got
    return speed.personalise(got, to_json(who.name)[1:-1], to_json(who.csrf_token)[1:-1])


def cached_page(mgr: DataManager, cache: PageCache, who: Viewer, pathname: str | None,
                search: str | None) -> tuple[str | None, str]:
    """(cache key, the page's JSON for the stand-in viewer), or (None, the person's own page) when it cannot
    be cached (no data yet, or a name that contains a placeholder)."""
    search = search if isinstance(search, str) else ""
    try:
        snap = mgr.snapshot()
    except NoData:
        return None, to_json(render(mgr, pathname, search, who))
    if not speed.cacheable_viewer(who.name, who.csrf_token):
        return None, to_json(render(mgr, pathname, search, who))
    key = cache.key((mgr.settings.database_url, snap.version_id, str(snap.built_at),
                     _registry_digest(snap, mgr.registry), mgr.settings.framework, mgr.settings.la_code,
                     mgr.settings.sn_model, page_cache_revision(mgr), who.role, who.staff_user, who.scope,
                     normalise(pathname), search))
    def draw() -> bytes:
        stand_in = Viewer(name=speed.NAME_MARK, role=who.role, scope=who.scope, csrf_token=speed.TOKEN_MARK,
                          staff_user=who.staff_user)
        return to_json(render(mgr, pathname, search, stand_in)).encode()

    return key, cache.get_or_make(key, draw).decode()


FIRST_SCREEN_MARK = "<!--sg-first-screen-->"
FIRST_SCREEN_OPEN = '<div id="first-screen" class="first-screen" inert aria-hidden="true">'
#: assets the page loads itself (``DashboardApp._index_page``), kept out of Dash's list at the end
PLOTLY_ASSETS = tuple(sorted(p.name for p in (ROOT / "assets").glob("plotly-*.min.js")))
FIRST_SCREEN_ASSET = "first-screen.js"
EARLY_ASSETS = r"(^|/)(plotly-[^/]*\.min\.js|first-screen\.js)$"
#: the chunks dcc loads by a fixed name for the components the pages use (Graph, Dropdown)
DCC_CHUNKS = ("async-graph.js", "async-dropdown.js")


class DashboardApp(Dash):
    """Dash, without the versions of Python, Dash and plotly.js in the page's config (its dev tools
    read them; with dev tools off nothing does, and a stranger need not learn them)."""

    HIDDEN_CONFIG = ("dash_version", "python_version", "dash_version_url", "ddk_version", "plotly_version")

    def _config(self):
        config = super()._config()
        for key in self.HIDDEN_CONFIG:
            config.pop(key, None)
        return config

    def _generate_scripts_html(self) -> str:
        # No page uses dash_table. Dash's scripts are listed, not run (``type="text/x-dash-later"``, the address
        # in ``data-src``): assets/first-screen.js fetches and runs them, in order, once the first screen is
        # drawn and painted, so the person sees the page before React starts.
        scripts = speed.without_unused_bundles(super()._generate_scripts_html())
        return re.sub(r'<script src="([^"]+)"></script>', r'<script type="text/x-dash-later" data-src="\1"></script>',
                      scripts)

    def _generate_renderer(self) -> str:
        # Not run where it stands: assets/first-screen.js starts Dash's renderer (new DashRenderer()) once Dash's
        # scripts have run. The page has no inline script that runs, so nothing waits for the stylesheets.
        return '<script id="_dash-renderer" type="text/x-dash-later"></script>'


    #: set by create_app: the layout as JSON for the current request (the page already in it), or None
    layout_json = None
    #: set by create_app: the first screen as HTML for the page requested, or "" (Dash's "Loading...")
    first_screen_html = None

    _dependencies_json: str | None = None

    def dependencies(self):
        # The callback graph is fixed once the app serves: serialised once, not on every page load.
        if self._dependencies_json is None:
            self._dependencies_json = to_json(self._callback_list)
        return self.backend.make_response(self._dependencies_json, content_type="application/json")

    def index(self, *args, **kwargs):
        first = self.first_screen_html() if self.first_screen_html is not None else ""
        charts = f'class="{prerender.FIGURE_CLASS}"' in first
        # The same for every request but for whether its first screen has charts (no per-page meta tags: pages
        # are not Dash pages), so made once of each kind.
        pages = self.__dict__.setdefault("_index_pages", {})
        page = pages.get(charts)
        if page is None:
            page = pages[charts] = self._index_page(charts, super().index(*args, **kwargs))
        if first:
            # The page as HTML over the live one until Dash has drawn it (assets/first-screen.js): after the
            # entry point, so the live page's elements come first in the document.
            entry = DASH_APP_ENTRY.strip()
            page = page.replace(entry, entry + FIRST_SCREEN_OPEN + first + "</div>", 1)
        return page

    def _index_page(self, charts: bool, page: str) -> str:
        """Dash's page with the first screen's scripts: plotly.js before them when its charts are to be drawn
        at once, else first among the scripts run after the first paint. Nothing is preloaded: on a warm load
        preloading two dozen cached files held up the first paint; first-screen.js asks for Dash's layout,
        callbacks and scripts once the page has been painted.

        With charts, plotly.js and the drawer are ordinary scripts right after the first screen, as in the page
        saved as static HTML: the screen above them is parsed and painted while plotly.js is compiled. Deferred,
        they ran after parsing without a paint between (measured on a warm load of a meeting item: first paint
        130-160 ms deferred, 50-65 ms here; charts drawn 125 ms against 100 ms). Without charts the drawer is
        deferred: it never holds up the page."""
        plotly = [self.stamped_asset_url(name) for name in PLOTLY_ASSETS]
        drawer = self.stamped_asset_url(FIRST_SCREEN_ASSET)
        early = [*plotly, drawer] if charts else [drawer]
        attr = "" if charts else " defer"
        page = page.replace(FIRST_SCREEN_MARK, "".join(f"<script{attr} src=\"{src}\"></script>" for src in early), 1)
        if not charts:
            page = page.replace('<script type="text/x-dash-later"', "".join(
                f'<script type="text/x-dash-later" data-src="{src}"></script>' for src in plotly)
                + '<script type="text/x-dash-later"', 1)
        return page

    def static_urls(self) -> list[str]:
        """Every static file a page asks for: its stylesheets and scripts, those run early and those run after
        the first paint (the page with charts lists them all), and the dcc chunks the pages load by name."""
        with self.server.test_request_context("/"):
            page = self._index_page(True, Dash.index(self))
        urls = re.findall(r'(?:src|href|data-src)="(/(?:assets|_dash-component-suites)/[^"]+)"', page)
        chunks = [f"/_dash-component-suites/dash/dcc/{name}" for name in DCC_CHUNKS]
        return list(dict.fromkeys(u.replace("&amp;", "&") for u in urls + chunks))

    def stamped_asset_url(self, name: str) -> str:
        """The asset's URL with its modification stamp, as Dash writes it (so it is cached as immutable)."""
        return f"{self.get_asset_url(name)}?m={int((ROOT / 'assets' / name).stat().st_mtime)}"

    def serve_layout(self):
        build = self.layout_json
        body = build() if build is not None else to_json(self.get_layout())
        return self.backend.make_response(body, mimetype="application/json")


def create_app(settings: Settings | None = None) -> Dash:
    settings = settings or load_settings()
    mgr = DataManager(settings)
    mgr.registry.framework(settings.framework)  # an unknown DASHBOARD_FRAMEWORK stops the start, by name
    app = DashboardApp(
        __name__,
        title="Safeguarding performance",
        assets_folder=str(ROOT / "assets"),
        assets_ignore=EARLY_ASSETS,
        suppress_callback_exceptions=True,
        serve_locally=True,
        compress=False,
        update_title=None,
        enable_mcp=False,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.index_string = INDEX
    app.layout = site_layout()
    cache = PageCache(mgr.shared_cache)
    app.server.config["PAGE_CACHE"] = cache
    app.layout_json = layout_for_request(app, mgr, cache)
    app.first_screen_html = first_screen_for_request(mgr, app.layout_json)
    app.server.config["DASHBOARD_MANAGER"] = mgr
    app.server.config["STATIC_URLS"] = app.static_urls
    register_callbacks(app, mgr, cache)
    register_routes(app, mgr)
    security.install_security(app, mgr, settings)  # last: it reads every callback and route
    speed.install_compression(app.server)  # after the security headers: compression changes only the body
    app.server.wsgi_app = speed.StaticMemo(app.server.wsgi_app, security.STATIC_PATH_PREFIXES)
    # Dash registers its scripts on a worker's first request, and a second thread arriving during that
    # first request can find them missing (a 500 on /_dash-component-suites). One request now, before
    # the server takes any, closes that window.
    app.server.test_client().get("/accessibility")
    return app


PATH_MARK, SEARCH_MARK, PAGE_MARK = "__sg_url_path_5f1c9a__", "__sg_url_search_5f1c9a__", "__sg_page_5f1c9a__"


def site_layout(url: dict | None = None, page=None) -> html.Div:
    """The frame every page sits in; ``url`` and ``page`` fill the address and the page when known."""
    return html.Div([
        dcc.Location(id="url", refresh=False, **(url or {})),
        dcc.Location(id="nav", refresh=True),
        html.Header(html.Div([html.Span("Safeguarding performance", className="brand"),
                              html.Span("Children's safeguarding partnership dashboard", className="tagline")],
                             className="container-xl"), className="site-header"),
        html.Div(page, id="page", className="container-xl"),
        html.Footer(html.Div([
            html.P(["Contains Department for Education and ONS statistics, Open Government Licence v3.0. ",
                    dcc.Link("About the data", href="/about"), " · ",
                    html.A("Accessibility statement", href="/accessibility")])], className="container-xl"),
            className="site-footer"),
    ])


def layout_for_request(app: Dash, mgr: DataManager, cache: PageCache):
    """``/_dash-layout`` with the first screen in it: the page the browser is on (the layout request's
    Referer, same site only), rendered as the router would render it, with the same checks of who is
    asking, so the first screen needs no router round trip. Without a usable Referer, the bare frame:
    its address is then unset, the address bar fills it in, and the router callback draws the page."""
    template = to_json(site_layout({"pathname": PATH_MARK, "search": SEARCH_MARK}, PAGE_MARK))
    bare: list[str] = []

    def frame(path: str, search: str, page: str) -> str:
        return (template.replace(PATH_MARK, to_json(path)[1:-1]).replace(SEARCH_MARK, to_json(search)[1:-1])
                .replace(f'"{PAGE_MARK}"', page, 1))

    def for_url(path: str, search: str) -> str:
        return frame(path, search, page_json(mgr, cache, path, search))

    def first_screen(path: str, search: str) -> str:
        """The layout for ``path`` as prerendered HTML, made once per page and kept (``prerendered``)."""
        who = viewer()
        key, page = cached_page(mgr, cache, who, path, search)
        if key is None:
            return prerender.to_html(orjson.loads(frame(path, search, page)))
        html = prerendered.get((key, path, search))
        if html is None:
            html = prerender.to_html(orjson.loads(frame(path, search, page)))
            with prerendered_lock:
                prerendered[(key, path, search)] = html
                while len(prerendered) > 256:
                    prerendered.popitem(last=False)
        return speed.personalise(html, str(escape(who.name)), str(escape(who.csrf_token)))

    def build() -> str:
        ref = request.referrer
        parts = urlsplit(ref) if ref else None
        if parts is None or parts.netloc != request.host or match_page(parts.path, mgr.registry) is None:
            if not bare:
                bare.append(to_json(app.get_layout()))
            return bare[0]
        return for_url(parts.path, f"?{parts.query}" if parts.query else "")

    prerendered: OrderedDict = OrderedDict()
    prerendered_lock = threading.Lock()
    build.for_url = for_url
    build.first_screen = first_screen
    return build


def first_screen_for_request(mgr: DataManager, layout_json):
    """The page the browser asked for, as HTML inside the page the server sends (``prerender``): built from
    the same layout ``/_dash-layout`` gives this person, so the same checks of who is asking apply.
    Shown at once; Dash's renderer replaces it with the live page when its scripts have run."""
    def build() -> str:
        if match_page(request.path, mgr.registry) is None:
            return ""
        query = request.query_string.decode("utf-8", "replace")
        try:
            return layout_json.first_screen(request.path, f"?{query}" if query else "")
        except Exception as exc:  # noqa: BLE001 - the live page still draws; the first screen is a head start
            log.warning("first screen not prerendered for %s: %s", request.path, type(exc).__name__)
            return ""

    return build


#: what warm_up draws: the overview and every topic page (their views serve the metric pages too)
WARM_PAGES = ("overview", "topic")


def warm_up(server) -> None:
    """Before the first visitor asks: load the current data version; draw the overview and every topic page
    for a member of staff (the viewer role) and for an inspector on the authority's own link, into the page
    cache (so the views and figures every role shares are made too); and compress every static file a page
    asks for, in brotli and gzip (so ``speed.StaticMemo`` answers it from memory). Each worker has its own
    memory, so each warms itself.

    Called by gunicorn in each worker after it starts (gunicorn.conf.py); a failure only logs.
    """
    mgr = server.config.get("DASHBOARD_MANAGER")
    if mgr is None:  # another app under the same gunicorn.conf.py (the benchmarks' static floor)
        return
    try:
        paths = [pattern.replace("<topic>", topic) for pattern, page in ROUTES if page in WARM_PAGES
                 for topic in (_topics(mgr) if "<topic>" in pattern else ("",))]
        cache = server.config["PAGE_CACHE"]
        for who in (Viewer(name="warm-up", role="viewer", staff_user=True),
                    Viewer(name="warm-up", role="inspector", scope=default_scope(mgr.settings))):
            for path in paths:
                cached_page(mgr, cache, who, path, "")
    except Exception as exc:  # noqa: BLE001 - warming is an optimisation, never a reason not to serve
        log.warning("warm-up of pages skipped: %s", exc)
    try:
        client = server.test_client()
        for url in server.config["STATIC_URLS"]():
            for encoding in ("br", "gzip"):
                client.get(url, headers={"Accept-Encoding": encoding})
    except Exception as exc:  # noqa: BLE001
        log.warning("warm-up of static files skipped: %s", exc)


def register_callbacks(app: Dash, mgr: DataManager, cache: PageCache | None = None) -> None:
    cache = cache or PageCache()

    # Not called for the first screen: /_dash-layout already holds its page (layout_for_request).
    @app.callback(Output("page", "children"), Input("url", "pathname"), State("url", "search"),
                  prevent_initial_call=True)
    def route(pathname, search):
        return orjson.loads(page_json(mgr, cache, pathname, search))

    app.clientside_callback(  # assets/clientside.js: a file, not an inline script
        ClientsideFunction(namespace="dashboard", function_name="set_title"),
        Output("page-title", "id"), Input("page-title", "data"),
    )

    @app.callback(Output("nav", "href"), Input("la-select", "value"), State("url", "pathname"),
                  State("url", "search"), prevent_initial_call=True)
    def change_authority(la, pathname, search):
        state = _state(mgr, search)
        snap = mgr.snapshot()
        area = snap.area(la) if isinstance(la, str) else None
        if area is None or area["level"] != "la":
            return no_update
        who = viewer()
        allowed = allowed_authorities(who.role, who.scope) if who.signed_in else set()
        if allowed is not None and not ({area["code"], str(area["old_code"])} & allowed):
            return no_update
        current = snap.area(state.la or mgr.settings.la_code)
        if current and current["code"] == area["code"]:
            return no_update
        path = pathname if isinstance(pathname, str) and pathname.startswith("/") else "/"
        return path + state.with_(la=area["old_code"] or area["code"]).query()

    @app.callback(Output("scorecard-body", "children"), Output("scorecard-download", "href"),
                  Output("url", "search", allow_duplicate=True),
                  Input("topic-filter", "value"), Input("rag-filter", "value"), State("url", "search"),
                  prevent_initial_call=True)
    def filter_scorecard(topic, rag, search):
        before = _state(mgr, search)
        state = before.with_controls(topic=topic, rag=rag, topics=_topics(mgr))
        if (state.topic, state.rag) == (before.topic, before.rag):
            raise PreventUpdate  # the page was just drawn with these filters
        ctx = _checked_context(mgr, state)
        return overview.scorecard_body(ctx), f"/download/scorecard.csv{state.query()}", state.query()

    @app.callback(Output("url", "search", allow_duplicate=True), Output("page", "children", allow_duplicate=True),
                  Input("as-of", "value"), State("url", "search"), prevent_initial_call=True)
    def change_as_of(as_of, search):
        """A new "as at" date changes every figure on the page, so the page is drawn again."""
        before = _state(mgr, search)
        state = before.with_controls(as_of=as_of)
        if state.as_of == before.as_of:
            raise PreventUpdate
        return state.query(), overview.layout(_checked_context(mgr, state))

    @app.callback(Output("trend-container", "children"), Output("url", "search", allow_duplicate=True),
                  Output("spc-container", "children"),
                  Input("cmp-toggle", "value"), Input("sn-model", "value"), Input("cell-select", "value"),
                  State("url", "pathname"), State("url", "search"), prevent_initial_call=True)
    def update_metric(cmp, sn, cell, pathname, search):
        before = _state(mgr, search)
        state = before.with_controls(cmp=cmp, sn=sn, cell=cell)
        if (state.cmp, state.sn, state.agency, state.breakdown) == (before.cmp, before.sn, before.agency,
                                                                    before.breakdown):
            raise PreventUpdate  # the page was just drawn with these choices
        ctx = _checked_context(mgr, state)
        found = match_page(pathname, ctx.registry)
        if found is None or found.page != "metric":
            return no_update, no_update, no_update
        view = metric_page.metric_view(ctx, ctx.registry.metric(found.params["metric"]))
        # the SPC chart follows the cell shown (not the comparators)
        spc = metric_page.spc_section(ctx, view) if (state.agency, state.breakdown) != (before.agency,
                                                                                     before.breakdown) else no_update
        return metric_page.trend_card(ctx, view), state.query(), spc


    @app.callback(Output("compare-body", "children"), Output("url", "search", allow_duplicate=True),
                  Input("compare-with", "value"), State("url", "pathname"), State("url", "search"),
                  prevent_initial_call=True)
    def change_compare(chosen, pathname, search):
        """The chosen authorities -> the URL's ``with`` (validated by the URL's rule) and the redrawn body;
        authorities outside the viewer's access are left out by views.compare_view."""
        before = _state(mgr, search)
        state = before.with_controls(**{"with": chosen if isinstance(chosen, list) else []})
        if state.compare_with == before.compare_with:
            raise PreventUpdate
        ctx = _checked_context(mgr, state)
        found = match_page(pathname, ctx.registry)
        if found is None or found.page != "compare":
            return no_update, no_update
        return compare_page.body(ctx, ctx.registry.metric(found.params["metric"])), state.query()


def register_routes(app: Dash, mgr: DataManager) -> None:
    server = app.server

    @server.get("/healthz")
    def healthz():
        """Status, data version number and newest period: all anyone needs, and all a stranger gets."""
        try:
            snap = mgr.snapshot()
        except NoData:
            return jsonify(status="no data: the database has not been built"), 503
        except Exception as exc:  # noqa: BLE001 - health must answer, not raise
            log.warning("health check failed: %s", type(exc).__name__)
            return jsonify(status="unavailable: the database cannot be reached"), 503
        newest = snap.newest_period
        return jsonify(status="ok", data_version=snap.version_id, newest_data=newest.isoformat() if newest else None)

    @server.get("/favicon.ico")
    def favicon():
        return send_from_directory(ROOT / "assets", "favicon.ico", mimetype="image/vnd.microsoft.icon",
                                   max_age=7 * 24 * 3600)

    def _download_context():
        try:
            return _context(mgr, request.query_string.decode("utf-8", "replace"))
        except UnknownArea:
            return Response("Unknown authority", status=404, mimetype="text/plain")
        except OutOfScope:
            return Response("Not covered by your access", status=403, mimetype="text/plain")

    def _audit_download(ctx) -> None:
        actor, role = security.who()
        auth_audit(mgr.engine, actor=actor, role=role, action="download", target=request.full_path,
                   ip=security.client_ip(), detail="suppressed view" if ctx.external else "staff view")

    install_uploads(server, mgr)
    server.register_blueprint(meetings_web.create_blueprint(mgr))

    @server.get("/accessibility")
    def accessibility():
        return security.render_page("accessibility.html", "Accessibility statement")

    def _csv(text: str, filename: str) -> Response:
        resp = Response(text, mimetype="text/csv")
        resp.headers["Content-Disposition"] = f"attachment; filename=\"{safe_filename(filename)}\""
        resp.headers["Cache-Control"] = "no-store"
        return resp

    def _metric_download(metric_id: str, make_csv, prefix: str = "") -> Response:
        ctx = _download_context()
        if isinstance(ctx, Response):
            return ctx
        m = ctx.registry.get(metric_id)
        if m is None:
            return Response("Unknown metric", status=404, mimetype="text/plain")
        _audit_download(ctx)
        return _csv(make_csv(ctx, m), f"{prefix}{m.id}_{ctx.la['old_code'] or ctx.la_code}.csv")

    @server.get("/download/metric/<metric_id>.csv")
    def download_metric(metric_id: str):
        return _metric_download(metric_id, metric_csv)

    @server.get("/download/compare/<metric_id>.csv")
    def download_compare(metric_id: str):
        """One metric across the chosen authorities; those outside the viewer's access are left out
        (views.compare_codes checks each against the link's scope)."""
        return _metric_download(metric_id, compare_csv, "compare_")

    @server.get("/download/meeting/<int:meeting_id>/pack.<ext>")
    def download_pack(meeting_id: int, ext: str):
        """The meeting pack (XLSX, or PDF printed by Chromium) from the viewer's own view: published commentary
        only, and an inspector's figures suppressed as on their screens."""
        from .. import pack
        from ..meetings import get_meeting

        ctx = _download_context()
        if isinstance(ctx, Response):
            return ctx
        meeting = get_meeting(mgr.engine, meeting_id)
        if meeting is None or ext not in ("pdf", "xlsx"):
            return Response("Not found", status=404, mimetype="text/plain")
        view = pack.published_view(mgr.engine, ctx, meeting)
        try:
            data = pack.pack_xlsx(ctx, view) if ext == "xlsx" else pack.html_to_pdf(pack.pack_html(ctx, view))
        except pack.PackError as exc:
            return Response(str(exc), status=503, mimetype="text/plain")
        _audit_download(ctx)
        mime = "application/pdf" if ext == "pdf" else \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        resp = Response(data, mimetype=mime)
        name = safe_filename(f"meeting_{meeting.id}_pack_{ctx.la['old_code'] or ctx.la_code}.{ext}")
        resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @server.get("/download/scorecard.csv")
    def download_scorecard():
        ctx = _download_context()
        if isinstance(ctx, Response):
            return ctx
        _audit_download(ctx)
        rows = filter_rows(scorecard(ctx), ctx.state.topic, list(ctx.state.rag) or None)
        return _csv(scorecard_csv(ctx, rows), f"scorecard_{ctx.la['old_code'] or ctx.la_code}.csv")

