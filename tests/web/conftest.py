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
from typing import Any, Iterator

import pytest
import yaml
from sqlalchemy import func, select

from dashboard import store
from dashboard.config import Settings
from dashboard.data import DataManager
from dashboard.state import parse_query
from dashboard.views import Context, make_context
from tests.helpers import (  # noqa: F401  - re-exported for the tier's tests
    by_id, callback_body, find_callback, output_ids, post_callback, render_page, router_body, sign_in, text_of, walk,
)


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


# Inspector clients are made for each test: the security tier's "revoke every link" tests share this database,
# and under pytest-xdist one of them may run on this worker between two web tests.
@pytest.fixture
def inspector_client(dash_app, engine):
    """A test client signed in through an inspector link scoped to the configured authority (883)."""
    return sign_in(dash_app.server.test_client(), engine, "inspector")


CITY_OF_LONDON = "201"  # the smallest authority: many of its counts are 1 to 5


@pytest.fixture
def city_inspector_client(dash_app, engine):
    """A test client signed in through an inspector link scoped to the City of London (201)."""
    return sign_in(dash_app.server.test_client(), engine, "inspector", las=(CITY_OF_LONDON,))


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
