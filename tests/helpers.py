"""Helpers said once for every test tier: driving Dash callbacks over HTTP, signing in, reading layouts.

Callbacks are driven as the browser's renderer drives them: the body of a POST to
``/_dash-update-component`` is built from the ``/_dash-dependencies`` graph the server publishes,
never from the app's internals. Signing in goes through the real form (a staff user) or an
inspector link; afterwards a Flask test client sends its CSRF header itself, as the renderer does.

The tier conftests import what they need from here (and re-export it to their tests); nothing here
is a fixture.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Iterator
from urllib.parse import urljoin

UPDATE_URL = "/_dash-update-component"
ROLE_PASSWORD = "correct horse battery staple"
DEFAULT_INSPECTOR_LAS = ("883",)


# --------------------------------------------------------------------------- callbacks


def output_specs(output: str) -> list[dict]:
    """The outputs named by a dependency's ``output`` string ("id.prop" or "..a.p...b.q..")."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [{"id": p.partition(".")[0], "property": p.partition(".")[2]} for p in parts]


def output_ids(cb: dict) -> list[str]:
    """``id.property`` of each output of ``cb``, without any ``@hash`` of allow_duplicate."""
    return [f"{s['id']}.{s['property'].split('@')[0]}" for s in output_specs(cb["output"])]


def find_callback(dependencies: list[dict], output: str, trigger: str | None = None) -> dict:
    """The one callback that writes ``output`` ("id.property").

    When several write it (allow_duplicate), the one whose inputs include ``trigger``
    ("id.property"); without a trigger, the one that names ``output`` first (its primary writer,
    e.g. the router for "page.children").
    """
    found = [cb for cb in dependencies if output in output_ids(cb)]
    if trigger is not None:
        found = [cb for cb in found if trigger in [f"{i['id']}.{i['property']}" for i in cb["inputs"]]]
    elif len(found) > 1:
        found = [cb for cb in found if output_ids(cb)[0] == output]
    assert len(found) == 1, (f"expected one callback writing {output} on {trigger}, found {len(found)}",
                             [cb["output"] for cb in dependencies])
    return found[0]


def body_for(cb: dict, values: dict[str, Any] | None = None, *, changed: list[str] | None = None,
             default: Any = None) -> dict:
    """The body the renderer POSTs for dependency ``cb``.

    ``values`` maps "id.property" to the value sent for each input and state (``default`` for the
    others); ``changed`` is ``changedPropIds`` (default: the first input).
    """
    values = values or {}

    def fill(items: list[dict]) -> list[dict]:
        return [{"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}", default)}
                for i in items]

    specs = output_specs(cb["output"])
    if changed is None:
        changed = [f"{cb['inputs'][0]['id']}.{cb['inputs'][0]['property']}"]
    body = {"output": cb["output"], "outputs": specs if cb["output"].startswith("..") else specs[0],
            "inputs": fill(cb["inputs"]), "changedPropIds": changed}
    if cb["state"]:
        body["state"] = fill(cb["state"])
    return body


def callback_body(dependencies: list[dict], output: str, values: dict[str, Any], changed: list[str]) -> dict:
    """The body for the callback that writes ``output`` when ``changed[0]`` changes."""
    cb = find_callback(dependencies, output, changed[0] if changed else None)
    return body_for(cb, values, changed=changed)


def router_body(dependencies: list[dict], path: str, search: str = "") -> dict:
    """The body the renderer POSTs to the router when the URL becomes ``path`` + ``search``."""
    return callback_body(dependencies, "page.children", {"url.pathname": path, "url.search": search},
                         ["url.pathname"])


def post_callback(client, body: Any, **kw):
    """POST ``body`` (a dict, or raw str/bytes) to /_dash-update-component."""
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(UPDATE_URL, data=data, content_type="application/json", **kw)


def router(client, dependencies: list[dict], path: str, search: str = ""):
    """The router callback's response for a path and query."""
    return post_callback(client, router_body(dependencies, path, search))


def page_of(resp) -> dict:
    """The page component tree in a successful router response."""
    assert resp.status_code == 200, (resp.status_code, resp.get_data(as_text=True)[:500])
    return resp.get_json()["response"]["page"]["children"]


def render_page(client, dependencies: list[dict], path: str, search: str = "") -> dict:
    """The router's output for a path and query: the page component tree."""
    return page_of(router(client, dependencies, path, search))


# --------------------------------------------------------------------------- signing in


def csrf_in(html: str) -> str:
    """The CSRF token of the (first) form in a server-rendered page."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def form_csrf(client, **kw) -> str:
    """The CSRF token of the sign-in form (``kw`` goes to ``client.get``: headers, base_url ...)."""
    return csrf_in(client.get("/login", **kw).get_data(as_text=True))


def csrf_of(client) -> str:
    """The value of ``client``'s CSRF cookie (what the renderer sends as X-CSRFToken)."""
    return client.get_cookie("_csrf_token").value


def send_csrf_header(client):
    """Make ``client`` send its CSRF cookie as the X-CSRFToken header on every request, as the renderer does."""
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_of(client)
    return client


def ensure_user(engine, role: str) -> str:
    """A user of ``role`` named ``test-<role>`` with ROLE_PASSWORD (created once per database)."""
    from dashboard.auth import service as auth
    from dashboard.store import init_db

    init_db(engine)
    name = f"test-{role}"
    try:
        auth.create_user(engine, name, role, ROLE_PASSWORD)
    except auth.AuthError:
        pass  # already there
    return name


def sign_in_as(client, name: str, password: str = ROLE_PASSWORD, next_url: str = "/"):
    """POST the sign-in form for ``name``; returns the response (the client keeps its cookies)."""
    return client.post("/login", data={"username": name, "password": password, "csrf_token": form_csrf(client),
                                       "next": next_url})


def sign_in_named(client, name: str, password: str = ROLE_PASSWORD):
    """Sign ``client`` in as the staff user ``name``; it then sends its CSRF header itself."""
    resp = sign_in_as(client, name, password)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return send_csrf_header(client)


def create_inspector_link(engine, scope: dict | None = None, *, label: str = "test inspector",
                          lifetime: dt.timedelta = dt.timedelta(days=1)):
    """A new inspector link (``service.create_link``), scoped to 883 unless told; returns (link, token)."""
    from dashboard.auth import service as auth

    return auth.create_link(engine, label=label, expires_at=auth.utcnow() + lifetime, issued_by="tests",
                            scope=scope if scope is not None else {"las": list(DEFAULT_INSPECTOR_LAS)})


def open_inspector_link(client, token: str):
    """Open the inspector link ``token`` in ``client`` (303 expected); it then sends its CSRF header itself."""
    resp = client.get(f"/share/{token}")
    assert resp.status_code == 303, resp.status_code
    return send_csrf_header(client)


def sign_in(client, engine, role: str, las: tuple[str, ...] = DEFAULT_INSPECTOR_LAS):
    """Sign ``client`` (a Flask test client) in as ``role``; afterwards it sends the CSRF header itself.

    Staff roles sign in through the form as ``test-<role>``; "inspector" opens a fresh inspector
    link scoped to ``las``.
    """
    if role == "inspector":
        _link, token = create_inspector_link(engine, {"las": list(las)})
        return open_inspector_link(client, token)
    return sign_in_named(client, ensure_user(engine, role))


#: JavaScript: the live page has replaced the first screen (the page as sent, drawn over it until Dash is ready)
LIVE_PAGE_JS = "!document.getElementById('first-screen')"


def browser_sign_in(duo, engine, role: str = "viewer", base_url: str | None = None, timeout: float = 15) -> None:
    """Sign a dash.testing browser in as ``role`` through the real sign-in form (or an inspector link).

    ``base_url`` defaults to ``duo.server_url`` (pass the server's URL before ``server_url`` is set).
    """
    from selenium.webdriver.support.wait import WebDriverWait

    base = base_url or duo.server_url
    if role == "inspector":
        _link, token = create_inspector_link(engine, label="browser inspector")
        duo.driver.get(urljoin(base, f"/share/{token}"))
        return
    name = ensure_user(engine, role)
    duo.driver.get(urljoin(base, "/login"))
    duo.wait_for_element("#username").send_keys(name)
    duo.find_element("#password").send_keys(ROLE_PASSWORD)
    duo.find_element("form.signin button[type=submit]").click()
    WebDriverWait(duo.driver, timeout).until(lambda d: "/login" not in d.current_url)


# --------------------------------------------------------------------------- serialised layouts


def walk(node: Any) -> Iterator[dict]:
    """Every component (dict with "type" and "props") in a serialised layout, depth first."""
    if isinstance(node, dict):
        if "type" in node and "props" in node:
            yield node
            for value in node["props"].values():
                yield from walk(value)
        else:
            for value in node.values():
                yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def text_of(node: Any) -> str:
    """The visible text of a component: its children's strings, joined."""
    out: list[str] = []

    def collect(n: Any) -> None:
        if isinstance(n, str):
            out.append(n)
        elif isinstance(n, (int, float)) and not isinstance(n, bool):
            out.append(str(n))
        elif isinstance(n, list):
            for i in n:
                collect(i)
        elif isinstance(n, dict) and "props" in n:
            collect(n["props"].get("children"))

    collect(node)
    return "".join(out)


def by_id(node: Any, component_id: str) -> dict | None:
    """The first component with ``id`` ``component_id``, or None."""
    return next((c for c in walk(node) if c["props"].get("id") == component_id), None)


# --------------------------------------------------------------------------- shipped data


def dfe_file(stem: str) -> str:
    """The name of the one file in data/dfe/ whose name starts with ``stem`` (e.g.
    "d5_cpps_at31march_by_duration_"), so that a refresh that renames a file for its new years
    ("..._2013_to_2026.csv") does not break the tests that read it."""
    from dashboard.config import DEFAULT_DATA_DIR

    found = sorted(p.name for p in (DEFAULT_DATA_DIR / "dfe").glob(f"{stem}*.csv"))
    assert len(found) == 1, f"expected one data/dfe/{stem}*.csv, found {found}"
    return found[0]
