"""An inspector compares only the authorities their link covers: the compare page, its callback and its
CSV leave every other authority out, whatever the URL or the callback body asks for (checked on the server)."""
from __future__ import annotations

import csv
import io

from tests.security.conftest import (body_for, client_as, find_callback, no_traceback, open_link, page_of, post_callback,
                                     router, text_of)

OUTSIDE = {"882": "Southend-on-Sea", "E06000019": "Herefordshire", "202": "Camden"}


def test_inspector_compare_page_leaves_out_authorities_outside_the_link(app, engine, deps):
    _link, _token, inspector = open_link(app, engine, {"las": ["883"]})
    resp = router(inspector, deps, "/compare/cp_rate_31mar", "?with=882,E06000019,202")
    no_traceback(resp)
    page = page_of(resp)
    text = text_of(page)
    assert "Thurrock" in text
    for name in OUTSIDE.values():
        assert name not in text, name
    assert "Left out: 882, E06000019, 202" in text
    # the default set (the neighbours) is filtered the same way
    text = text_of(page_of(router(inspector, deps, "/compare/cp_rate_31mar")))
    assert "Southend-on-Sea" not in text  # Thurrock's neighbour, not in the link's scope


def test_inspector_compare_callback_cannot_add_authorities(app, engine, deps):
    _link, _token, inspector = open_link(app, engine, {"las": ["883"]})
    cb = find_callback(deps, "compare-body.children")
    resp = post_callback(inspector, body_for(cb, {"compare-with.value": ["E06000033", "E06000019", "E09000007"],
                                              "url.pathname": "/compare/cp_rate_31mar", "url.search": ""}))
    no_traceback(resp)
    assert resp.status_code in (200, 204)
    text = resp.get_data(as_text=True)
    for name in OUTSIDE.values():
        assert name not in text, name


def test_inspector_compare_csv_holds_only_the_links_authorities(app, engine):
    _link, _token, inspector = open_link(app, engine, {"las": ["883", "882"]})
    resp = inspector.get("/download/compare/cp_rate_31mar.csv?with=882,E06000019,202")
    assert resp.status_code == 200
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert {r["area_name"] for r in rows} == {"Thurrock", "Southend-on-Sea"}  # 882 is in scope, the others not
    assert all(r["view"].startswith("published") for r in rows)


def test_staff_compare_the_authorities_they_ask_for(app, engine, deps):
    staff = client_as(app, engine, "viewer")
    resp = staff.get("/download/compare/cp_rate_31mar.csv?with=882,E06000019,202")
    names = {r["area_name"] for r in csv.DictReader(io.StringIO(resp.get_data(as_text=True)))}
    assert names == {"Thurrock", "Southend-on-Sea", "Herefordshire, County of", "Camden"}
