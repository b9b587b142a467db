"""Server-rendered pages come from Jinja templates, and the template engine does the escaping.

Text from a request or the database (a link label, a user name, an error message) reaches a page
only through a template with autoescape on; no module builds HTML by hand.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from dashboard.config import ROOT
from tests.security.conftest import client_as, form_csrf, new_client, unique

TEMPLATES = ROOT / "dashboard" / "web" / "templates"
WEB = ROOT / "dashboard" / "web"
HOSTILE = '<script>alert("x")</script>\'"&'


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;") \
        .replace("'", "&#39;")


def test_no_module_of_the_web_layer_escapes_html_by_hand():
    for path in WEB.rglob("*.py"):
        source = path.read_text()
        assert "from html import" not in source and "html.escape" not in source, path.relative_to(ROOT)


def test_every_page_template_extends_the_base_layout():
    pages = [p for p in TEMPLATES.glob("*.html") if p.name != "base.html" and not p.name.startswith("_")]
    assert len(pages) >= 12
    for p in pages:
        assert p.read_text().startswith('{% extends "base.html" %}'), p.name
    base = (TEMPLATES / "base.html").read_text()
    for part in ('<a class="skip-link" href="#main">', '<main id="main"', '<h1 id="page-heading">{{ title }}</h1>',
                 '<footer class="site-footer">'):
        assert part in base


def test_the_app_escapes_templates(app):
    env = app.server.jinja_env
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    assert env.get_template("link_invalid.html").render(title="t", reason="<b>").count("&lt;b&gt;") == 1


def test_a_hostile_link_label_is_escaped_on_the_admin_page(app, engine):
    admin = client_as(app, engine, "admin")
    label = unique("label") + HOSTILE
    resp = admin.post("/admin/links", data={"label": label,
                                            "expires": (dt.date.today() + dt.timedelta(days=2)).isoformat()})
    assert resp.status_code == 200
    html = admin.get("/admin").get_data(as_text=True)
    assert "<script>alert" not in html
    assert _escaped(label) in html
    audit = admin.get("/admin/audit").get_data(as_text=True)
    assert "<script>alert" not in audit and _escaped(label) in audit


def test_a_hostile_user_name_is_escaped_on_the_sign_in_form(app):
    client = new_client(app)
    resp = client.post("/login", data={"username": HOSTILE, "password": "wrong password", "next": "/",
                                       "csrf_token": form_csrf(client)})
    assert resp.status_code == 401
    html = resp.get_data(as_text=True)
    assert "<script>alert" not in html
    assert re.search(r'<input[^>]*id="username"[^>]*value="' + re.escape(_escaped(HOSTILE)) + '"', html)


def test_an_invalid_link_page_is_a_template_page(app):
    resp = new_client(app).get("/share/" + "x" * 43)
    assert resp.status_code == 403
    html = resp.get_data(as_text=True)
    assert '<h1 id="page-heading">Link not valid</h1>' in html
    assert "Ask the partnership for a new link." in html
    assert Path(TEMPLATES / "link_invalid.html").exists()
