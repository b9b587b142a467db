"""Fixtures for the Flask test-client tier: one built database and one app per session.

The app is driven the way a browser drives it: sign in, GET the index page, GET
``/_dash-layout`` and ``/_dash-dependencies``, then POST ``/_dash-update-component`` with a
body built from the callback graph the server publishes (``callback_body``). ``client`` is
signed in as a staff viewer (unsuppressed figures); ``inspector_client`` through an inspector
link (small numbers suppressed, own authority only). Expected values come from the store (read
with SQLAlchemy), the raw registry YAML, or ``dashboard.views`` for the same URL state and view.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterator

import pytest
import yaml
from sqlalchemy import func, select

from dashboard import store
from dashboard.config import Settings
from dashboard.data import DataManager
from dashboard.state import parse_query
from dashboard.views import Context, make_context
from tests.conftest import sign_in, by_id, text_of, walk  # noqa: F401  - re-exported for the tier's tests

UPDATE_URL = "/_dash-update-component"


# --------------------------------------------------------------------------- app and data


@pytest.fixture(scope="session")
def web_settings(built_db: Settings) -> Settings:
    """Settings of the session database (built once by tests/conftest.py)."""
    return built_db


@pytest.fixture(scope="session")
def dash_app(web_settings: Settings):
    from dashboard.web.app import create_app

    return create_app(web_settings)


@pytest.fixture(scope="session")
def engine(web_settings: Settings):
    return store.get_engine(web_settings.database_url)


@pytest.fixture(scope="session")
def client(dash_app, engine):
    """A test client signed in as a staff viewer (sends its CSRF header on every request)."""
    return sign_in(dash_app.server.test_client(), engine, "viewer")


@pytest.fixture(scope="session")
def inspector_client(dash_app, engine):
    """A test client signed in through an inspector link scoped to the configured authority (883)."""
    return sign_in(dash_app.server.test_client(), engine, "inspector")


CITY_OF_LONDON = "201"  # the smallest authority: many of its counts are 1 to 5


@pytest.fixture(scope="session")
def city_inspector_client(dash_app, engine):
    """A test client signed in through an inspector link scoped to the City of London (201)."""
    from dashboard.auth import service as auth

    _link, token = auth.create_link(engine, label="web tier: City of London", issued_by="tests",
                                    expires_at=auth.utcnow() + dt.timedelta(days=1),
                                    scope={"las": [CITY_OF_LONDON]})
    client = dash_app.server.test_client()
    resp = client.get(f"/share/{token}")
    assert resp.status_code == 303, resp.status_code
    client.environ_base["HTTP_X_CSRFTOKEN"] = client.get_cookie("_csrf_token").value
    return client


@pytest.fixture(scope="session")
def manager(web_settings: Settings) -> DataManager:
    return DataManager(web_settings)


@pytest.fixture(scope="session")
def registry(manager: DataManager):
    return manager.registry


@pytest.fixture(scope="session")
def raw_registry(web_settings: Settings) -> dict:
    """data/metrics.yaml as plain YAML, independent of the registry module."""
    return yaml.safe_load(web_settings.registry_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def raw_metrics(raw_registry: dict) -> list[dict]:
    return raw_registry["metrics"]


@pytest.fixture(scope="session")
def raw_topics(raw_registry: dict) -> list[dict]:
    return raw_registry["topics"]


@pytest.fixture(scope="session")
def store_facts(web_settings: Settings) -> dict:
    """The current data version and newest non-illustrative period, read straight from the store."""
    engine = store.get_engine(web_settings.database_url)
    with engine.connect() as conn:
        version = conn.execute(select(func.max(store.DataVersion.id))).scalar()
        newest = conn.execute(
            select(func.max(store.Observation.period_end)).where(
                store.Observation.illustrative.is_(False), store.Observation.version_id == version
            )
        ).scalar()
    if isinstance(newest, dt.datetime):
        newest = newest.date()
    return {"version": version, "newest": newest}


@pytest.fixture(scope="session")
def dependencies(client) -> list[dict]:
    resp = client.get("/_dash-dependencies")
    assert resp.status_code == 200
    return resp.get_json()


def long_date(day: dt.date) -> str:
    """A date as the "as at" line prints it: 30 September 2025."""
    return f"{day.day} {day:%B %Y}"


def view_context(manager: DataManager, search: str = "", *, external: bool = False) -> Context:
    """The dashboard.views context for a URL query, as the server builds it for a staff viewer
    (``external=False``) or an inspector (``external=True``: small numbers suppressed)."""
    topics = tuple(t.id for t in manager.registry.topics)
    return make_context(manager.snapshot(), manager.registry,
                        parse_query(search, topics, manager.settings.sn_model), manager.settings.la_code,
                        external=external)


# --------------------------------------------------------------------------- callbacks


def find_callback(dependencies: list[dict], output: str, trigger: str | None = None) -> dict:
    """The callback whose output list names ``output`` ("id.property"), and, when several write it
    (allow_duplicate), whose inputs include ``trigger`` ("id.property")."""
    found = [cb for cb in dependencies if output in output_ids(cb)]
    if trigger is not None:
        found = [cb for cb in found if trigger in [f"{i['id']}.{i['property']}" for i in cb["inputs"]]]
    assert len(found) == 1, f"expected one callback writing {output} on {trigger}, found {len(found)}"
    return found[0]


def _output_specs(cb: dict) -> list[dict]:
    out = cb["output"]
    parts = out[2:-2].split("...") if out.startswith("..") else [out]
    specs = []
    for part in parts:
        cid, _, prop = part.partition(".")
        specs.append({"id": cid, "property": prop})
    return specs


def output_ids(cb: dict) -> list[str]:
    """``id.property`` of each output, without any ``@hash`` of allow_duplicate."""
    return [f"{s['id']}.{s['property'].split('@')[0]}" for s in _output_specs(cb)]


def callback_body(dependencies: list[dict], output: str, values: dict[str, Any],
                  changed: list[str]) -> dict:
    """The JSON body the Dash renderer POSTs for the callback that writes ``output`` when
    ``changed[0]`` changes. ``values`` maps "id.property" to the value sent for each input and state.
    """
    cb = find_callback(dependencies, output, changed[0] if changed else None)
    specs = _output_specs(cb)

    def fill(items: list[dict]) -> list[dict]:
        return [{"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")}
                for i in items]

    body = {
        "output": cb["output"],
        "outputs": specs if cb["output"].startswith("..") else specs[0],
        "inputs": fill(cb["inputs"]),
        "changedPropIds": changed,
    }
    if cb["state"]:
        body["state"] = fill(cb["state"])
    return body


def post_callback(client, body: dict):
    return client.post(UPDATE_URL, data=json.dumps(body), content_type="application/json")


def router_body(dependencies: list[dict], path: str, search: str = "") -> dict:
    return callback_body(dependencies, "page.children", {"url.pathname": path, "url.search": search},
                         ["url.pathname"])


def render_page(client, dependencies: list[dict], path: str, search: str = "") -> dict:
    """The router's output for a path and query: the page component tree."""
    resp = post_callback(client, router_body(dependencies, path, search))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    data = resp.get_json()
    return data["response"]["page"]["children"]


# --------------------------------------------------------------------------- component trees




def strings(node: Any) -> Iterator[str]:
    """Every string in the tree: texts, hrefs, titles, ids."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)




def all_text(node: Any) -> str:
    return "\n".join(strings(node))




def graphs(node: Any) -> list[dict]:
    return [c for c in walk(node) if c["type"] == "Graph" and c.get("namespace") == "dash_core_components"]


def links(node: Any) -> list[str]:
    return [c["props"].get("href", "") for c in walk(node) if c["type"] in ("Link", "A")]


def class_has(component: dict, name: str) -> bool:
    return name in (component["props"].get("className") or "").split()
