"""The gate: every route and every callback, for every role, with forged inputs.

Expected outcomes come from ``dashboard.auth.policy`` (the role tables) and from the callback
role map the app publishes in ``app.server.config["CALLBACK_ROLE_MAP"]``; routes are read from
the app's URL map and callbacks from ``/_dash-dependencies``, so a route or callback added later
is covered without editing this file.
"""
from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from dashboard.auth.models import AuditEvent
from dashboard.auth.policy import CALLBACK_ROLES, is_public, roles_for

from .conftest import (
    ALL_ROLES,
    SIGNED_IN_ROLES,
    audit_events,
    body_for,
    by_id,
    find_callback,
    client_as,
    csrf_of,
    last_audit_id,
    no_traceback,
    output_specs,
    page_of,
    post_callback,
    router,
    router_body,
    text_of,
    unique,
    utc_now,
)

# What an allowed request answers, by (method, rule), for the sample request this module sends.
# Rules not listed here must answer neither 401/403 nor 5xx.
ALLOWED_STATUS: dict[tuple[str, str], set[int]] = {
    ("GET", "/"): {200},
    ("GET", "/<path:path>"): {200},
    ("GET", "/_dash-layout"): {200},
    ("GET", "/_dash-dependencies"): {200},
    ("POST", "/_dash-update-component"): {200},
    ("GET", "/_favicon.ico"): {200},
    ("GET", "/assets/<path:filename>"): {200},
    ("GET", "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>"): {200},
    ("GET", "/healthz"): {200},
    ("GET", "/accessibility"): {200},
    ("GET", "/download/metric/<metric_id>.csv"): {200},
    ("GET", "/download/scorecard.csv"): {200},
    ("POST", "/login"): {400},  # the sample POST carries no form token: the form is refused, nobody is signed in
    ("POST", "/logout"): {302},
    ("POST", "/account/password"): {400},  # the sample POST has no passwords: refused with the reason
    ("GET", "/share/<token>"): {403},  # the sample token is not a link: "This link is not valid."
    ("GET", "/session/status"): {200},
    ("POST", "/session/keepalive"): {200},
    ("GET", "/admin"): {200},
    ("POST", "/admin/links"): {400},  # no label (creating a link: test_links.py)
    ("POST", "/admin/links/<int:link_id>/revoke"): {303},
    ("GET", "/admin/audit"): {200},
    ("GET", "/admin/audit.csv"): {200},
    ("GET", "/upload"): {200},
    ("POST", "/upload"): {400},  # no file chosen
    ("POST", "/upload/confirm"): {400},  # no pending upload
    ("GET", "/upload/template.<ext>"): {200, 404},
    ("GET", "/admin/versions"): {200},
    ("POST", "/admin/versions/<int:version_id>/restore"): {400, 404},
    ("GET", "/versions/<int:version_id>/file"): {404},
    # meetings, commentary and actions (dashboard.web.meetings): the sample POST has no fields, so each is
    # refused with the reason, and nothing is written (test_meetings_http.py)
    ("POST", "/record/meeting"): {400},
    ("POST", "/record/comment"): {400},
    ("POST", "/record/comment/<int:comment_id>/publish"): {400},
    ("POST", "/record/action"): {400},
    ("POST", "/record/action/<int:action_id>"): {400},
    ("GET", "/download/meeting/<int:meeting_id>/pack.<ext>"): {404},  # the sample meeting does not exist
}

# Sign-out ends the client's session: it runs last for each role. Revoking every link would end
# other tests' inspector sessions, so the matrix checks only that non-admins are refused it
# (an admin revoking all links: test_links.py).
LAST = ("/logout",)
GLOBAL_EFFECT = {("POST", "/admin/links/revoke-all")}

PATH_VALUES = {"path": "topic/child_protection", "metric_id": "cp_rate_31mar", "token": "x" * 43,
               "link_id": "999999", "version_id": "999999",
               "comment_id": "999999", "action_id": "999999", "meeting_id": "999999", "filename": "style.css", "ext": "csv"}


def _component_suite(app, engine) -> dict[str, str]:
    html = client_as(app, engine, "viewer").get("/").get_data(as_text=True)
    m = re.search(r'src="/_dash-component-suites/([^/"]+)/([^"?]+)', html)
    assert m, "the index page loads no component suite"
    return {"package_name": m.group(1), "fingerprinted_path": m.group(2)}


_ENDPOINTS: dict[str, str] = {}  # rule -> endpoint, as the app's URL map names them


def _sample_path(rule, extra: dict[str, str]) -> str:
    _ENDPOINTS[rule.rule] = rule.endpoint
    values = {**PATH_VALUES, **extra}
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + r">", values.get(name, "1"), path)
    return path


def _expected_roles(rule: str, path: str, endpoint: str | None = None):
    """Who may use a route: "public", a set of roles, or an empty set (a server route nobody listed)."""
    if is_public(endpoint if endpoint is not None else _ENDPOINTS.get(rule, rule)):
        return "public"
    roles = roles_for(path, rule)  # Dash's routes are named by their rule, ours by path
    return roles if roles is not None else frozenset()


def _requests(app, engine):
    """(method, rule, path) for every rule of the app, with the requests in LAST at the end."""
    extra = _component_suite(app, engine)
    out = []
    for rule in app.server.url_map.iter_rules():
        path = _sample_path(rule, extra)
        for method in ("GET", "POST"):
            if method in rule.methods:
                out.append((method, rule.rule, path))
    return sorted(out, key=lambda r: (r[2] in LAST, LAST.index(r[2]) if r[2] in LAST else 0))


def _send(client, deps, method: str, path: str):
    if method == "GET":
        return client.get(path)
    if path == "/_dash-update-component":
        return post_callback(client, router_body(deps, "/about"))
    return client.post(path, data={})  # POST /admin/links without a label: refused with the form (400)


def _check_anonymous(method, path, resp):
    if method == "GET" and not path.startswith("/_"):
        assert resp.status_code == 302, (method, path, resp.status_code)
        loc = urlsplit(resp.headers["Location"])
        assert loc.path == "/login" and loc.query.startswith("next="), (path, resp.headers["Location"])
    else:
        assert resp.status_code == 401, (method, path, resp.status_code)


def test_every_route_for_every_role(app, engine, deps):
    requests = _requests(app, engine)
    assert len({r[1] for r in requests}) >= 20, "the URL map looks too small to be the app's"
    for role in ALL_ROLES:
        client = client_as(app, engine, role)
        for method, rule, path in requests:
            expected = _expected_roles(rule, path)
            if expected == frozenset():
                continue  # test_unlisted_server_routes_are_refused
            if (method, rule) in GLOBAL_EFFECT and role in expected:
                continue
            resp = _send(client, deps, method, path)
            where = (role, method, path, resp.status_code, resp.get_data()[:200])
            assert resp.status_code < 500, where
            if expected == "public":
                assert resp.status_code not in (401,), where
                if (method, rule) == ("GET", "/login") and role != "anonymous":
                    assert resp.status_code == 302 and resp.headers["Location"] == "/", where
                elif (method, rule) == ("GET", "/login"):
                    assert resp.status_code == 200, where
                elif (method, rule) in ALLOWED_STATUS:
                    assert resp.status_code in ALLOWED_STATUS[(method, rule)], where
                else:
                    assert resp.status_code != 403, where
            elif role == "anonymous":
                _check_anonymous(method, path, resp)
            elif role not in expected:
                assert resp.status_code == 403, where
            else:
                assert resp.status_code in ALLOWED_STATUS.get((method, rule), set(range(200, 400))), where


def test_unlisted_server_routes_are_refused(app, engine):
    extra = _component_suite(app, engine)
    unlisted = [(m, _sample_path(r, extra)) for r in app.server.url_map.iter_rules() for m in ("GET", "POST")
                if m in r.methods and _expected_roles(r.rule, _sample_path(r, extra)) == frozenset()]
    client = client_as(app, engine, "inspector")
    for method, path in unlisted:
        resp = client.get(path) if method == "GET" else client.post(path)
        assert resp.status_code == 403, (method, path, resp.status_code)


@pytest.mark.parametrize("path", ["/_dash-layout", "/_dash-dependencies"])
def test_dash_layout_and_dependencies(clients, path):
    resp = clients["anonymous"].get(path)
    assert resp.status_code == 401
    assert resp.get_json() == {"error": "sign in first"}
    for role in SIGNED_IN_ROLES:
        resp = clients[role].get(path)
        assert resp.status_code == 200, (role, path)
        assert resp.mimetype == "application/json"


# --------------------------------------------------------------------------- callbacks

HUGE = "x" * 100_000
FORGERIES = [
    # other authorities (DfE and GSS codes), unknown metrics, hostile query values
    {"url.pathname": "/metric/cp_rate_31mar", "url.search": "?la=202&cmp=england,region,sn",
     "la-select.value": "E09000007", "topic-filter.value": "child_protection", "rag-filter.value": ["red"],
     "cmp-toggle.value": ["england", "region", "sn"], "sn-model.value": "2021",
     "cell-select.value": "NELFT|training_level|L1", "page-title.data": "x"},
    {"url.pathname": "/metric/not_a_metric", "url.search": "?la=999&as_of=never&sn=1999&agency=<script>&rag=purple",
     "la-select.value": "999", "topic-filter.value": "not_a_topic", "rag-filter.value": ["purple", "<b>"],
     "cmp-toggle.value": ["mars"], "sn-model.value": "1999", "cell-select.value": "a|b",
     "page-title.data": "<script>"},
    # huge strings
    {"url.pathname": "/" + HUGE, "url.search": "?la=" + HUGE, "la-select.value": HUGE,
     "topic-filter.value": HUGE, "rag-filter.value": [HUGE], "cmp-toggle.value": [HUGE], "sn-model.value": HUGE,
     "cell-select.value": HUGE + "|" + HUGE + "|" + HUGE, "page-title.data": HUGE},
    # empty and missing values
    {},
]


def _callback_roles(app, output: str):
    return app.server.config["CALLBACK_ROLE_MAP"].get(output)


def test_callback_role_map_covers_every_server_callback(app, deps):
    """Every server-side callback is in the role table; the clientside one is not callable."""
    role_map = app.server.config["CALLBACK_ROLE_MAP"]
    server_side = [cb["output"] for cb in deps if not cb.get("clientside_function")]
    assert len(server_side) == len(CALLBACK_ROLES)
    for output in server_side:
        assert role_map.get(output) is not None, output
    for cb in deps:
        if cb.get("clientside_function"):
            assert cb["output"] not in role_map


def test_every_callback_with_forged_inputs_for_every_role(app, clients, deps):
    for cb in deps:
        roles = _callback_roles(app, cb["output"])
        for values in FORGERIES:
            body = body_for(cb, values)
            for role in ALL_ROLES:
                resp = post_callback(clients[role], body)
                where = (role, cb["output"][:60], resp.status_code, resp.get_data(as_text=True)[:200])
                assert resp.status_code < 500, where
                no_traceback(resp)
                if role == "anonymous":
                    assert resp.status_code == 401, where
                elif roles is None or role not in roles:
                    assert resp.status_code == 403, where
                else:
                    assert resp.status_code in (200, 204), where


WRONG_TYPES = [12345, 1.5, True, {"x": 1}, ["x", 1]]


def _output_of(app, fn_name: str) -> str:
    for output, spec in app.callback_map.items():
        fn = spec.get("callback")
        name = getattr(getattr(fn, "__wrapped__", None), "__name__", getattr(fn, "__name__", None))
        if name == fn_name:
            return output
    raise AssertionError(f"no callback implemented by {fn_name}")


# Values with which every callback does real work for a viewer (no PreventUpdate on the way).
WORKING = {"url.pathname": "/metric/cp_rate_31mar", "url.search": "?la=883", "la-select.value": "E09000007",
           "topic-filter.value": "child_protection", "rag-filter.value": ["red"], "cmp-toggle.value": ["england"],
           "sn-model.value": "2021", "cell-select.value": "||", "as-of.value": "2020-03-31"}
# Per callback, where WORKING's values would do no work for it (the compare chooser acts only on /compare).
WORKING_FOR = {"change_compare": {"url.pathname": "/compare/cp_rate_31mar", "compare-with.value": ["E06000033"]}}
# Callbacks that answer 500 to a wrong JSON type today (each is a hole: see the reason).
WRONG_TYPE_500: set[str] = set()


@pytest.mark.parametrize("fn_name", [
    pytest.param(name, marks=[pytest.mark.xfail(
        strict=True, reason=f"hole: callback {name} answers 500 when an input or state has the wrong JSON type "
                            f"(e.g. url.pathname=12345); the gate checks ids, not value types")]
        if name in WRONG_TYPE_500 else [])
    for name in sorted(CALLBACK_ROLES)])
def test_callback_wrong_types_never_500(app, clients, deps, fn_name):
    output = _output_of(app, fn_name)
    cb = next(c for c in deps if c["output"] == output)
    client = clients["viewer"]
    good = {**WORKING, **WORKING_FOR.get(fn_name, {})}
    assert post_callback(client, body_for(cb, good)).status_code == 200, "the starting values must do real work"
    failures = []
    for item in cb["inputs"] + cb["state"]:
        key = f"{item['id']}.{item['property']}"
        for bad in WRONG_TYPES:
            resp = post_callback(client, body_for(cb, {**good, key: bad}))
            no_traceback(resp)
            if resp.status_code not in (200, 204, 400):
                failures.append((key, bad, resp.status_code))
    assert not failures, failures


def test_unregistered_output_is_403(clients, deps):
    route = find_callback(deps, "page.children")
    for output in ("page.className", "nope.children", "nav.href", "admin.children"):
        body = body_for(route, {"url.pathname": "/", "url.search": ""})
        body["output"] = output
        body["outputs"] = output_specs(output)[0]
        for role in SIGNED_IN_ROLES:
            resp = post_callback(clients[role], body)
            if output == "nav.href":  # registered, but with other inputs: the signature check refuses it
                assert resp.status_code == 400, (role, output, resp.status_code)
            else:
                assert resp.status_code == 403, (role, output, resp.status_code)
        assert post_callback(clients["anonymous"], body).status_code == 401


def test_callback_csrf(app, engine, deps):
    body = router_body(deps, "/about")
    client = client_as(app, engine, "viewer")
    good = client.environ_base.pop("HTTP_X_CSRFTOKEN")
    assert post_callback(client, body).status_code == 403  # missing
    assert post_callback(client, body, headers={"X-CSRFToken": good[:-1] + ("A" if good[-1] != "A" else "B")}
                     ).status_code == 403  # wrong
    other = client_as(app, engine, "viewer")
    assert post_callback(client, body, headers={"X-CSRFToken": csrf_of(other)}).status_code == 403  # another session's
    assert post_callback(client, body, headers={"X-CSRFToken": ""}).status_code == 403
    assert post_callback(client, body, headers={"X-CSRFToken": good}).status_code == 200


MALFORMED = [b"not json", b"", b"[]", b"null", b"5", b'"page.children"', b"{",
             {"inputs": []},
             {"output": 5, "inputs": []},
             {"output": "page.children", "inputs": "url.pathname"},
             {"output": "page.children", "inputs": {"id": "url", "property": "pathname"}},
             {"output": "page.children", "inputs": [5]},
             {"output": "page.children", "inputs": [{"id": "url"}]},
             {"output": "page.children", "inputs": [{"property": "pathname", "value": "/"}]},
             {"output": "page.children", "inputs": [{"id": "url", "property": "pathname", "value": "/"}],
              "state": "url.search"},
             {"output": "page.children", "inputs": [{"id": "url", "property": "pathname", "value": "/"}], "state": 5},
             {"output": "page.children", "inputs": [[{"id": "url"}]]}]


def test_malformed_callback_bodies_are_400(clients):
    viewer, anonymous = clients["viewer"], clients["anonymous"]
    for body in MALFORMED:
        resp = post_callback(viewer, body)
        assert resp.status_code == 400, (body, resp.status_code, resp.get_data(as_text=True)[:200])
        no_traceback(resp)
        assert resp.get_json() is not None and "error" in resp.get_json()
        resp = post_callback(anonymous, body)
        assert resp.status_code in (400, 401), (body, resp.status_code)


def test_wrong_outputs_shape_is_400(clients, deps):
    viewer = clients["viewer"]
    route = find_callback(deps, "page.children")
    failures = []
    for outputs in (None, "page.children", 5, [], {"id": "nav", "property": "href"},
                    [{"id": "page", "property": "children"}, {"id": "nav", "property": "href"}]):
        body = body_for(route, {"url.pathname": "/about", "url.search": ""})
        if outputs is None:
            del body["outputs"]
        else:
            body["outputs"] = outputs
        resp = post_callback(viewer, body)
        no_traceback(resp)
        if resp.status_code != 400:
            failures.append((outputs, resp.status_code))
    assert not failures, failures


# --------------------------------------------------------------------------- relabelling


def _relabellings(cb: dict) -> list[tuple[str, dict]]:
    """Bodies for ``cb`` whose inputs or state are not the ones the callback was registered with."""
    base = body_for(cb, {"url.pathname": "/", "url.search": ""}, default="/")
    first = base["inputs"][0]
    out = []

    def variant(name, **change):
        b = json.loads(json.dumps(base))
        for key, value in change.items():
            b[key] = value
        out.append((name, b))

    other_id = "nav" if first["id"] == "url" else "url"
    variant("first input renamed to another id", inputs=[{**first, "id": other_id}] + base["inputs"][1:])
    variant("first input's property moved onto another component",
            inputs=[{**first, "id": "page-title"}] + base["inputs"][1:])
    variant("first input's property renamed", inputs=[{**first, "property": "hash"}] + base["inputs"][1:])
    variant("extra input added", inputs=base["inputs"] + [{"id": "url", "property": "search", "value": "?la=202"}])
    variant("input as a pattern-matching id", inputs=[{**first, "id": {"type": first["id"]}}] + base["inputs"][1:])
    variant("pathname sent as an input", inputs=[{"id": "url", "property": "pathname", "value": "/"}]
            if first != {"id": "url", "property": "pathname", "value": "/"} else
            [{"id": "url", "property": "href", "value": "/"}])
    if base.get("state"):
        variant("state dropped", state=[])
        variant("state relabelled", state=[{**s, "id": "nav"} for s in base["state"]])
    else:
        variant("state added", state=[{"id": "url", "property": "search", "value": "?la=202"}])
    if len(base["inputs"]) > 1:
        variant("inputs reordered", inputs=list(reversed(base["inputs"])))
    return out


def test_router_relabelling_fails(clients, deps):
    route = find_callback(deps, "page.children")
    cases = _relabellings(route)
    names = {n for n, _ in cases}
    assert "first input renamed to another id" in names and "extra input added" in names
    for name, body in cases:
        for role in SIGNED_IN_ROLES:
            resp = post_callback(clients[role], body)
            assert resp.status_code == 400, (name, role, resp.status_code, resp.get_data(as_text=True)[:200])
        assert post_callback(clients["anonymous"], body).status_code == 401, name


def test_relabelling_fails_for_every_callback(app, clients, deps):
    viewer, inspector, anonymous = clients["viewer"], clients["inspector"], clients["anonymous"]
    for cb in deps:
        if _callback_roles(app, cb["output"]) is None:
            continue
        for name, body in _relabellings(cb):
            for client in (viewer, inspector):
                resp = post_callback(client, body)
                assert resp.status_code == 400, (cb["output"][:50], name, resp.status_code)
            assert post_callback(anonymous, body).status_code == 401, (cb["output"][:50], name)


# --------------------------------------------------------------------------- inspector scope


def _gss(app, code: str) -> str:
    mgr = app.server.config["DASHBOARD_MANAGER"]
    return mgr.snapshot().area(code)["code"]


@pytest.mark.parametrize("path", ["/", "/topic/child_protection", "/metric/cp_rate_31mar", "/about"])
def test_inspector_other_authority_page_is_not_available(app, clients, deps, path):
    inspector = clients["inspector"]  # link scoped to 883
    for la in ("202", _gss(app, "202")):
        page = page_of(router(inspector, deps, path, f"?la={la}"))
        assert text_of(by_id(page, "page-heading")) == "Not available", (path, la)
        assert "Camden" in text_of(page)  # the refusal names the authority asked for, nothing more
        assert by_id(page, "view-banner") is None
    page = page_of(router(inspector, deps, path, "?la=883"))
    assert text_of(by_id(page, "page-heading")) != "Not available"


def test_staff_can_open_another_authority(clients, deps):
    page = page_of(router(clients["viewer"], deps, "/metric/cp_rate_31mar", "?la=202"))
    assert text_of(by_id(page, "page-heading")) != "Not available"
    assert "Camden" in text_of(page)


@pytest.mark.parametrize("url", ["/download/metric/cp_rate_31mar.csv", "/download/scorecard.csv"])
def test_inspector_download_for_another_authority_is_403(app, clients, url):
    inspector = clients["inspector"]
    for la in ("202", _gss(app, "202")):
        resp = inspector.get(f"{url}?la={la}")
        assert resp.status_code == 403, (url, la, resp.status_code)
        assert "202" not in resp.get_data(as_text=True) and "Camden" not in resp.get_data(as_text=True)
    assert inspector.get(f"{url}?la=883").status_code == 200
    assert clients["viewer"].get(f"{url}?la=202").status_code == 200


def test_inspector_authority_picker_cannot_leave_scope(app, clients, deps):
    cb = find_callback(deps, "nav.href")
    body = body_for(cb, {"la-select.value": _gss(app, "202"), "url.pathname": "/", "url.search": ""})
    resp = post_callback(clients["inspector"], body)
    assert resp.status_code == 204 or "nav" not in (resp.get_json() or {}).get("response", {}), resp.get_data()[:200]
    resp = post_callback(clients["viewer"], body)  # staff: the same request moves the page
    assert resp.status_code == 200
    assert "la=202" in resp.get_json()["response"]["nav"]["href"]


def test_inspector_callbacks_with_another_authority_change_nothing(clients, deps):
    inspector = clients["inspector"]
    for prefix, values in (("scorecard-body.children", {"topic-filter.value": "workforce", "rag-filter.value": [],
                                                        "url.search": "?la=202"}),
                           ("trend-container.children", {"cmp-toggle.value": ["england"], "sn-model.value": "2025",
                                                         "cell-select.value": "||",
                                                         "url.pathname": "/metric/cp_rate_31mar",
                                                         "url.search": "?la=202"})):
        resp = post_callback(inspector, body_for(find_callback(deps, prefix), values))
        assert resp.status_code == 204, (prefix, resp.status_code, resp.get_data(as_text=True)[:200])


@pytest.mark.parametrize("method,path", [("GET", "/admin"), ("GET", "/admin/audit"), ("GET", "/admin/audit.csv"),
                                         ("POST", "/admin/links"), ("POST", "/admin/links/revoke-all"),
                                         ("POST", "/admin/links/1/revoke")])
def test_inspectors_cannot_reach_admin(clients, method, path):
    inspector = clients["inspector"]
    form = {"label": "x", "expires": "2099-01-01"}
    resp = inspector.get(path) if method == "GET" else inspector.post(path, data=form)
    assert resp.status_code == 403, (method, path, resp.status_code)
    assert "Inspector links" not in resp.get_data(as_text=True)
    assert inspector.get("/_dash-layout").status_code == 200  # still signed in: the refusal did not revoke anything


# --------------------------------------------------------------------------- audit


def test_denials_and_downloads_are_audited(app, engine, deps):
    start = last_audit_id(engine)
    viewer = client_as(app, engine, "viewer")
    ip = viewer.environ_base["REMOTE_ADDR"]
    assert viewer.get("/admin").status_code == 403
    body = router_body(deps, "/")
    body["output"] = "nope.children"
    assert post_callback(viewer, body).status_code == 403
    assert viewer.get("/download/scorecard.csv?la=883").status_code == 200
    anonymous = client_as(app, engine, "anonymous")
    assert anonymous.get("/_dash-layout").status_code == 401
    now = utc_now()

    rows = audit_events(engine, ip=ip, since_id=start)
    by_action = {r.action: r for r in rows}
    denied = by_action["request.denied"]
    assert (denied.actor, denied.role, denied.outcome, denied.target) == ("test-viewer", "viewer", "denied", "/admin")
    cb = by_action["callback.denied"]
    assert (cb.actor, cb.outcome, cb.target) == ("test-viewer", "denied", "nope.children")
    dl = by_action["download"]
    assert dl.actor == "test-viewer" and dl.target.startswith("/download/scorecard.csv") and dl.outcome == "ok"
    for r in rows:
        assert abs((now - r.at).total_seconds()) < 120, (r.action, r.at, now)  # stored in UTC
        assert r.ip == ip
    anon = audit_events(engine, ip=anonymous.environ_base["REMOTE_ADDR"], since_id=start)
    assert [(r.actor, r.action, r.target) for r in anon] == [("anonymous", "request.denied", "/_dash-layout")]


def test_audit_log_is_append_only_in_the_database(engine):
    from dashboard.auth import service as auth

    auth.audit(engine, actor="tests", role="admin", action="test.append_only", target=unique("row"))
    with Session(engine) as s:
        before = s.execute(select(func.count()).select_from(AuditEvent)).scalar()
        row_id = s.execute(select(func.max(AuditEvent.id))).scalar()
    for stmt in (update(AuditEvent).where(AuditEvent.id == row_id).values(detail="changed"),
                 update(AuditEvent).values(actor="nobody"),
                 delete(AuditEvent).where(AuditEvent.id == row_id),
                 delete(AuditEvent)):
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(stmt)
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(AuditEvent)).scalar() == before
        row = s.get(AuditEvent, row_id)
        assert row.detail == "" and row.actor == "tests"


def test_only_admins_read_the_audit_log(clients, engine):
    admin = clients["admin"]
    marker = unique("audit-marker")
    from dashboard.auth import service as auth

    auth.audit(engine, actor="tests", role="admin", action="test.marker", target=marker)
    page = admin.get("/admin/audit")
    assert page.status_code == 200 and marker in page.get_data(as_text=True)
    csv_resp = admin.get("/admin/audit.csv")
    assert csv_resp.status_code == 200 and csv_resp.mimetype == "text/csv"
    text = csv_resp.get_data(as_text=True)
    assert next(csv.reader(io.StringIO(text))) == ["id", "at_utc", "actor", "role", "action", "target", "outcome",
                                                   "ip", "detail"]
    assert marker in text
    for role in ("viewer", "analyst", "inspector"):
        client = clients[role]
        for path in ("/admin/audit", "/admin/audit.csv"):
            resp = client.get(path)
            assert resp.status_code == 403, (role, path)
            assert marker not in resp.get_data(as_text=True)
    anonymous = clients["anonymous"]
    assert anonymous.get("/admin/audit").status_code == 302
    assert anonymous.get("/admin/audit.csv").status_code == 302
