"""/healthz and the static assets the index page asks for."""
from __future__ import annotations

import datetime as dt
import re


from dashboard.config import load_settings

UNREACHABLE_DB = "postgresql://nobody@127.0.0.1:1/none"


def test_healthz_reports_version_and_newest_data(dash_app, store_facts):
    resp = dash_app.server.test_client().get("/healthz")  # public: a load balancer does not sign in
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert body["status"] == "ok"
    assert isinstance(body["data_version"], int) and not isinstance(body["data_version"], bool)
    assert body["data_version"] == store_facts["version"]
    assert store_facts["newest"] is not None
    assert dt.date.fromisoformat(body["newest_data"]) == store_facts["newest"]


def test_healthz_unreachable_database_answers_503_with_a_reason(tmp_path):
    from dashboard.web.app import create_app

    settings = load_settings({"DASHBOARD_INSTANCE_DIR": str(tmp_path), "DATABASE_URL": UNREACHABLE_DB})
    app = create_app(settings)
    resp = app.server.test_client().get("/healthz")
    assert resp.status_code == 503
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text
    assert "nobody" not in text  # no connection string leaks out
    body = resp.get_json()
    assert body is not None, text[:300]
    assert body["status"] != "ok" and "database" in body["status"]
    assert set(body) == {"status"}  # nothing else for a stranger: no exception names, no file names


def _asset_urls(html: str) -> tuple[list[str], list[str]]:
    css = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    # the scripts the page runs at once, and those it runs after its first paint (assets/first-screen.js)
    scripts = re.findall(r'<script (?:defer )?src="([^"]+)"', html) + re.findall(
        r'<script type="text/x-dash-later" data-src="([^"]+)"', html)
    return css, scripts


def test_index_links_the_plotly_partial_bundle_and_css(client):
    css, scripts = _asset_urls(client.get("/").get_data(as_text=True))
    assert any(u.startswith("/assets/") and u.split("?")[0].endswith(".css") for u in css), css
    plotly = [u for u in scripts if u.startswith("/assets/") and "plotly" in u]
    assert len(plotly) == 1, scripts
    # no second, full plotly.js served from the component suites
    assert not [u for u in scripts if "plotly" in u and not u.startswith("/assets/")], scripts


def test_assets_in_the_index_answer_200(client, dash_app):
    css, scripts = _asset_urls(client.get("/").get_data(as_text=True))
    anonymous = dash_app.server.test_client()  # the sign-in page needs the same CSS, so assets are public
    for url in css:
        resp = anonymous.get(url)
        assert resp.status_code == 200, url
        assert resp.mimetype == "text/css", url
        assert len(resp.get_data()) > 0, url
        resp.close()
    for url in scripts:
        resp = anonymous.get(url)
        assert resp.status_code == 200, url
        assert "javascript" in resp.mimetype, (url, resp.mimetype)
        resp.close()


def test_plotly_bundle_is_the_partial_one(client):
    _, scripts = _asset_urls(client.get("/").get_data(as_text=True))
    url = next(u for u in scripts if u.startswith("/assets/") and "plotly" in u)
    resp = client.get(url)
    data = resp.get_data()
    resp.close()
    assert resp.status_code == 200
    # the full plotly.js is about 4.8 MB; a basic/cartesian partial bundle is well under 2 MB
    assert 100_000 < len(data) < 2_000_000, len(data)
    assert b"plotly" in data[:2000].lower()
