"""Speed measures that must not change what anyone sees or may do (``dashboard/web/speed.py``).

- The first screen is in ``/_dash-layout`` (the page named by the layout request's Referer), built
  with the same checks of who is asking as the router: the same heading, an inspector kept to the
  authorities of their link, no page for another site's Referer.
- Responses are compressed (brotli, else gzip) with the security headers, no-store and the CSRF
  cookie intact; fingerprinted static files are cached for a year; the dash_table bundle is not sent.
- Rendered pages are cached by data version, role scope and URL, and each viewer still sees their own
  name and CSRF token.
"""
from __future__ import annotations

import json
import re

import brotli
import pytest

from dashboard.config import ROOT
from dashboard.web import speed
from tests.helpers import by_id, render_page, sign_in, text_of

BASE = "http://localhost"


def layout_for(client, path: str, referer_base: str = BASE):
    resp = client.get("/_dash-layout", headers={"Referer": f"{referer_base}{path}"})
    assert resp.status_code == 200, resp.status_code
    return resp.get_json()


def url_props(layout: dict) -> dict:
    return by_id(layout, "url")["props"]


@pytest.mark.parametrize("path", ["/", "/metric/cp_rate_31mar?cmp=england,region,sn", "/topic/child_protection",
                                  "/compare/cp_rate_31mar", "/demand"])
def test_the_first_screen_is_in_the_layout(client, dependencies, path):
    layout = layout_for(client, path)
    page = by_id(layout, "page")["props"]["children"]
    route, _, search = path.partition("?")
    from_router = render_page(client, dependencies, route, f"?{search}" if search else "")
    assert text_of(by_id(page, "page-heading")) == text_of(by_id(from_router, "page-heading"))
    assert url_props(layout)["pathname"] == route
    assert url_props(layout)["search"] == (f"?{search}" if search else "")


def test_without_a_usable_referer_the_router_draws_the_page(client):
    for headers in ({}, {"Referer": "http://elsewhere.example/metric/cp_rate_31mar"},
                    {"Referer": f"{BASE}/no-such-page"}):
        layout = client.get("/_dash-layout", headers=headers).get_json()
        assert by_id(layout, "page")["props"].get("children") is None
        assert "pathname" not in url_props(layout)  # unset: the address bar fills it in and the router runs


def test_the_router_is_not_called_for_the_first_screen(dependencies):
    route = next(cb for cb in dependencies if cb["output"] == "page.children")
    assert route["prevent_initial_call"] is True


def test_an_inspector_layout_keeps_to_their_link(inspector_client):
    page = by_id(layout_for(inspector_client, "/?la=882"), "page")["props"]["children"]
    assert text_of(by_id(page, "page-heading")) == "Not available"
    own = by_id(layout_for(inspector_client, "/metric/cp_rate_31mar"), "page")["props"]["children"]
    assert "Published view" in text_of(by_id(own, "view-banner"))


def test_the_layout_needs_a_session(dash_app):
    anon = dash_app.server.test_client()
    resp = anon.get("/_dash-layout", headers={"Referer": f"{BASE}/"})
    assert resp.status_code in (401, 302)
    assert b"page-heading" not in resp.get_data()


def test_callback_answers_are_compressed_with_headers_intact(client, dependencies):
    from tests.helpers import router_body

    resp = client.post("/_dash-update-component", data=json.dumps(router_body(dependencies, "/topic/workforce")),
                       content_type="application/json", headers={"Accept-Encoding": "br, gzip"})
    assert resp.status_code == 200
    assert resp.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in resp.headers["Vary"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert "ETag" not in resp.headers
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert any(c.startswith("_csrf_token=") for c in resp.headers.getlist("Set-Cookie"))
    body = json.loads(brotli.decompress(resp.get_data()))
    assert by_id(body["response"]["page"]["children"], "page-heading")

    gz = client.get("/_dash-layout", headers={"Accept-Encoding": "gzip", "Referer": f"{BASE}/"})
    assert gz.headers["Content-Encoding"] == "gzip"
    assert gz.headers["Cache-Control"] == "no-store"


def test_a_wrong_csrf_token_is_still_refused_when_compressed(client, dependencies):
    from tests.helpers import router_body

    resp = client.post("/_dash-update-component", data=json.dumps(router_body(dependencies, "/")),
                       content_type="application/json",
                       headers={"Accept-Encoding": "br", "X-CSRFToken": "not-the-token"})
    assert resp.status_code == 403


def test_static_files_are_compressed_once_and_cached_for_a_year(client):
    html = client.get("/", headers={"Accept-Encoding": "identity"}).get_data(as_text=True)
    # the layout and the callback graph are asked for beside Dash's scripts, once the first screen is painted
    drawer = client.get(re.search(r'src="(/assets/first-screen\.js[^"]*)"', html).group(1)).get_data(as_text=True)
    assert '["_dash-layout", "_dash-dependencies"]' in drawer and 'hint.rel = "preload"' in drawer
    scripts = re.findall(r'src="([^"]+\.js[^"]*)"', html)
    assert not [s for s in scripts if "dash_table" in s]  # no page uses a DataTable
    suites = [s for s in scripts if "_dash-component-suites" in s]
    assets = [s for s in scripts if s.startswith("/assets/")]
    assert suites and assets
    for url in (suites[0], assets[0]):
        plain = client.get(url, headers={"Accept-Encoding": "identity"})
        br = client.get(url, headers={"Accept-Encoding": "gzip, br"})
        assert br.headers["Content-Encoding"] == "br", url
        assert brotli.decompress(br.get_data()) == plain.get_data(), url
        assert br.headers["Cache-Control"] == speed.IMMUTABLE, url
        assert "no-store" not in br.headers["Cache-Control"]


def test_each_viewer_sees_their_own_name_from_a_cached_page(dash_app, engine, client):
    other = sign_in(dash_app.server.test_client(), engine, "analyst")
    mine = layout_for(client, "/topic/workforce")
    theirs = layout_for(other, "/topic/workforce")
    assert "test-viewer" in text_of(mine) and "test-analyst" not in text_of(mine)
    assert "test-analyst" in text_of(theirs) and "test-viewer" not in text_of(theirs)
    token = client.get_cookie("_csrf_token").value
    assert token in json.dumps(mine) and speed.TOKEN_MARK not in json.dumps(mine)


def test_choose_encoding():
    assert speed.choose_encoding("gzip, deflate, br, zstd") == "br"
    assert speed.choose_encoding("gzip") == "gzip"
    assert speed.choose_encoding("br;q=0, gzip") == "gzip"
    assert speed.choose_encoding("identity") is None
    assert speed.choose_encoding("") is None


def test_personalise_fills_both_placeholders():
    page = json.dumps({"a": speed.NAME_MARK, "b": [speed.TOKEN_MARK]})
    assert json.loads(speed.personalise(page, "Ann \\u003c", "tok")) == {"a": "Ann <", "b": ["tok"]}
    assert not speed.cacheable_viewer(speed.NAME_MARK, "x")
    assert speed.cacheable_viewer("Ann", "x")


def test_the_page_itself_carries_the_first_screen_as_html(client, inspector_client):
    html = client.get("/metric/cp_rate_31mar").get_data(as_text=True)
    live, cover = html.split('<div id="react-entry-point">', 1)[1].split('<div id="first-screen"', 1)
    assert "page-heading" not in live  # the live page is Dash's to draw, under the cover
    cover = cover.split("<script src=", 1)[0]
    assert cover.startswith(' class="first-screen" inert aria-hidden="true">')  # no focus, no clicks, not read out
    assert 'id="page-heading"' in cover and 'id="metric-graph"' in cover
    # the only scripts in it are the charts' figures as JSON data blocks, which no browser runs
    blocks = re.findall(r"<script([^>]*)>(.*?)</script>", cover, re.S)
    assert blocks and all(attrs == ' type="application/json" class="first-figure"' for attrs, _ in blocks)
    figures = [json.loads(body) for _, body in blocks]
    assert all(f["data"] and f["config"]["responsive"] for f in figures)
    assert cover.count("<script") == len(blocks)
    # plotly.js and the script that draws them come right after the first screen (which is parsed and painted
    # while plotly.js compiles) and before Dash's scripts, once each, stamped for caching
    early = html.index('<div id="first-screen"')
    plotly = re.findall(r'<script src="(/assets/plotly-[^"]+)"', html)
    drawer = re.findall(r'<script src="(/assets/first-screen\.js[^"]*)"', html)
    assert len(plotly) == 1 and len(drawer) == 1 and "?m=" in plotly[0] and "?m=" in drawer[0]
    assert early < html.index(f'<script src="{plotly[0]}"') < html.index(f'<script src="{drawer[0]}"')
    # Dash's own scripts are listed, not run, after them: the first screen's script fetches and runs them once
    # the page is painted, then starts the renderer; nothing is preloaded ahead of the first paint
    later = re.findall(r'<script type="text/x-dash-later" data-src="([^"]+)"></script>', html)
    assert later and all(src.startswith(("/_dash-component-suites/", "/assets/")) for src in later)
    assert html.index(f'<script src="{drawer[0]}"') < html.index(f'data-src="{later[0]}"')
    assert not re.findall(r'<script (defer )?src="/_dash-component-suites/', html)
    assert 'rel="preload"' not in html
    # no inline script runs (so none waits for the stylesheets): the renderer is started by the first screen's script
    assert re.findall(r"<script(?: id=\"[^\"]*\")?>", html) == []
    assert '<script id="_dash-renderer" type="text/x-dash-later"></script>' in html
    # a first screen without charts does not wait for plotly.js: it is the first of the scripts run later
    plain = client.get("/about").get_data(as_text=True)
    later = re.findall(r'<script type="text/x-dash-later" data-src="([^"]+)"></script>', plain)
    assert 'class="first-figure"' not in plain and later[0] == plotly[0]
    assert not re.findall(r'<script (defer )?src="/assets/plotly-', plain)
    assert re.findall(r'<script defer src="/assets/first-screen\.js', plain)  # deferred: it holds nothing up
    # the same checks of who is asking: an inspector asking for another authority gets the refusal
    other = inspector_client.get("/?la=882").get_data(as_text=True)
    assert "Not available" in other and "Performance scorecard" not in other


def test_prerendered_html_is_escaped():
    from dashboard.web.prerender import to_html

    node = {"type": "Div", "namespace": "dash_html_components",
            "props": {"id": 'x"><script>', "onClick": "alert(1)", "children": [
                "<b>text</b>",
                {"type": "A", "namespace": "dash_html_components",
                 "props": {"href": "javascript:alert(1)", "children": "bad link"}},
                {"type": "Script", "namespace": "dash_html_components", "props": {"children": "alert(1)"}},
                {"type": "Link", "namespace": "dash_core_components", "props": {"href": "/metric/x", "children": "ok"}},
            ]}}
    out = to_html(node)
    assert "<script" not in out and "onclick" not in out.lower() and "javascript:" not in out
    assert "&lt;b&gt;text&lt;/b&gt;" in out and 'id="x&#34;&gt;&lt;script&gt;"' in out
    assert '<a href="/metric/x">ok</a>' in out


def test_a_cached_page_shows_commentary_published_after_it_was_cached(dash_app, engine, client):
    """Commentary, actions and meetings change without a new data version: the page cache's key carries their
    revision, so a page cached before a comment was published shows it afterwards."""
    import uuid

    from dashboard import meetings

    path = "/metric/lac_placed_20_miles"
    words = f"Placements reviewed {uuid.uuid4().hex[:8]}"
    assert words not in text_of(layout_for(client, path))  # now cached
    who = {"actor": "test-analyst", "role": "analyst"}
    draft = meetings.add_comment(engine, metric_id="lac_placed_20_miles", period_end="2024-03-31",
                                 la_code="E06000034", data_says=words, **who)  # Thurrock, the default authority
    assert words not in text_of(layout_for(client, path))  # a draft: viewers never see it
    meetings.publish_comment(engine, draft.id, **who)
    assert words in text_of(layout_for(client, path))


def test_a_figure_in_the_first_screen_cannot_close_its_data_block():
    from dashboard.web.prerender import to_html

    hostile = "</script><script>alert(1)</script>&"
    node = {"type": "Graph", "namespace": "dash_core_components",
            "props": {"id": "g", "className": "chart", "style": {"height": "320px"}, "config": {"displaylogo": False},
                      "figure": {"data": [{"type": "bar", "x": [hostile], "y": [1]}],
                                 "layout": {"title": {"text": hostile}}}}}
    out = to_html(node)
    assert out.count("<script") == 1 and out.count("</script>") == 1 and "alert(1)</" not in out
    body = re.search(r'<script type="application/json" class="first-figure">(.*)</script>', out).group(1)
    fig = json.loads(body)
    assert fig["data"][0]["x"] == [hostile] and fig["layout"]["title"]["text"] == hostile
    assert fig["config"] == {"responsive": True, "displaylogo": False}
    assert out.startswith('<div id="g" class="dash-graph chart" style="height: 320px"><div class="first-plot"')


def static_urls_of(client) -> list[str]:
    html = client.get("/", headers={"Accept-Encoding": "identity"}).get_data(as_text=True)
    return re.findall(r'(?:src|href|data-src)="(/(?:assets|_dash-component-suites)/[^"]+)"', html)


def test_static_files_neither_read_nor_set_the_session_cookie(client):
    page = client.get("/topic/workforce")
    assert page.status_code == 200 and "sg_session=" in " ".join(page.headers.getlist("Set-Cookie"))
    for url in static_urls_of(client)[:4]:
        resp = client.get(url, headers={"Accept-Encoding": "br"})
        assert resp.status_code == 200, url
        assert not resp.headers.getlist("Set-Cookie"), url  # public and cacheable: no one's cookie on it
        assert "Cookie" not in resp.headers.get("Vary", ""), url


def test_a_static_file_served_once_is_served_again_without_flask(dash_app, client):
    from flask import request_started

    seen = []

    def started(sender, **extra):
        seen.append(1)

    url = [u for u in static_urls_of(client) if "_dash-component-suites" in u][0]
    first = client.get(url, headers={"Accept-Encoding": "gzip"})
    request_started.connect(started, dash_app.server)
    try:
        again = client.get(url, headers={"Accept-Encoding": "gzip"})
        page = client.get("/topic/workforce")
    finally:
        request_started.disconnect(started, dash_app.server)
    assert again.status_code == 200 and again.get_data() == first.get_data()
    assert again.headers["Content-Encoding"] == "gzip" and again.headers["Cache-Control"] == speed.IMMUTABLE
    assert again.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    assert page.status_code == 200
    assert len(seen) == 1  # the page went through Flask (the gate); the static file did not


def test_a_static_path_that_was_never_served_still_meets_the_gate(client):
    assert client.get("/assets/no-such-file.js").status_code == 404
    assert client.get("/assets/style.css?m=1\x01").status_code == 400  # control characters: refused unread


def test_warm_up_fills_the_page_cache_and_the_static_files(web_settings, engine, monkeypatch):
    """A new worker (gunicorn.conf.py's hook): after warm_up, an inspector on the authority's own link gets the overview and a topic page
    without a render, and every static file the page lists is kept in brotli and gzip."""
    from dashboard.web import app as web_app

    import gc
    import runpy
    from types import SimpleNamespace

    fresh = web_app.create_app(web_settings)
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    frozen = gc.get_freeze_count()
    try:
        hooks["post_worker_init"](SimpleNamespace(wsgi=fresh.server))  # as gunicorn calls it in each worker
        assert gc.get_freeze_count() > frozen  # what the worker loaded is out of the collector's way
    finally:
        gc.unfreeze()
    memo = fresh.server.wsgi_app
    urls = fresh.static_urls()
    assert any("dash_renderer" in u for u in urls) and any("plotly-" in u for u in urls)
    assert all(memo.keeps(u, enc) for u in urls for enc in ("br", "gzip")), [u for u in urls if not memo.keeps(u, "br")]
    renders = []
    real = web_app.render
    monkeypatch.setattr(web_app, "render", lambda *a, **k: renders.append(a[1]) or real(*a, **k))
    visitor = sign_in(fresh.server.test_client(), engine, "inspector")
    for path in ("/", "/topic/looked_after"):
        resp = visitor.get(path)
        assert resp.status_code == 200 and 'id="first-screen"' in resp.get_data(as_text=True), path
    assert renders == []
    visitor.get("/about")
    assert renders == ["/about"]  # the check can see a render: a page warm_up does not draw is drawn now
    assert set(static_urls_of(visitor)) <= set(urls)
