"""The demand page and the demand command for a second authority chosen by configuration.

A database is built with ``DASHBOARD_LA=383`` (Leeds), so the build makes Leeds's illustrative
months (as well as Thurrock's, always); the app serves it through the router as a browser asks,
for a signed-in staff viewer, with no ``?la=`` (the configured authority) and with ``?la=883``.
The command prints the same numbers: JSON is the view function's record, and the text and CSV
carry the page's figures (flow, latest month, 12-month change, projection with its interval and
back-test error, capacity, rates and conversions).
"""
from __future__ import annotations

import csv
import io
import json
import os

import pytest

from dashboard import cli, store
from dashboard.demand_view import demand_view
from dashboard.formatting import number
from dashboard.state import parse_query
from dashboard.views import make_context
from tests.conftest import TEST_DATABASE_ENV, make_test_settings
from tests.helpers import render_page, sign_in

from .conftest import all_text, by_id, graphs, text_of

LEEDS = "E08000035"


@pytest.fixture(scope="module")
def leeds(tmp_path_factory):
    from dashboard.build import build

    env = {k: v for k, v in os.environ.items() if k != TEST_DATABASE_ENV and not k.startswith("DASHBOARD_")}
    env.update({"DASHBOARD_LA": "383"})
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    settings = make_test_settings(tmp_path_factory.mktemp("leeds"), env)
    assert settings.database_url.startswith("sqlite:///") and settings.la_code == "383"
    build(settings)
    return settings


@pytest.fixture(scope="module")
def leeds_app(leeds):
    from dashboard.web.app import create_app

    app = create_app(leeds)
    client = app.server.test_client()
    sign_in(client, store.get_engine(leeds.database_url), "viewer")
    deps = client.get("/_dash-dependencies").get_json()
    return app, client, deps


def _view(settings, search=""):
    from dashboard.data import DataManager

    mgr = DataManager(settings)
    topics = tuple(t.id for t in mgr.registry.topics)
    ctx = make_context(mgr.snapshot(), mgr.registry, parse_query(search, topics, mgr.settings.sn_model),
                       mgr.settings.la_code)
    return demand_view(ctx)


def test_the_configured_authority_gets_its_own_illustrative_demand(leeds_app, leeds):
    _app, client, deps = leeds_app
    page = render_page(client, deps, "/demand")
    text = all_text(page)
    assert "Leeds" in text and "Thurrock" not in text_of(by_id(page, "page-heading")) + text_of(
        by_id(page, "demand-flow-table"))
    assert text_of(by_id(page, "demand-illustrative")).startswith("Illustrative")
    view = _view(leeds)
    assert view.la_code == LEEDS and view.illustrative and all(s.n_months == 36 for s in view.series)
    ids = [g["props"]["id"] for g in graphs(page)]
    assert ids[:3] == ["graph-demand-flow", "graph-demand-conversions", "graph-demand-capacity"]
    flow = text_of(by_id(page, "demand-flow-table"))
    for step in view.flow:
        assert number(step.current, 0) in flow and number(step.previous, 0) in flow, step.metric_id
    rates = text_of(by_id(page, "demand-rates-table"))
    ref = view.by_id("demand_referrals")
    assert f"{ref.rate.value:,.1f}" in rates and number(ref.rate.england, 1) in rates
    # calibrated months: the 12 months to 31 March give DfE's published rate for the year
    assert ref.rate.value == ref.rate.published_la
    conv = text_of(by_id(page, "demand-conversions-table"))
    for c in view.conversions:
        if c.england is not None:
            assert number(c.england, 1) in conv and number(c.published_la, 1) in conv
    assert view.capacity.crossing_words in text_of(by_id(page, "demand-crossing"))
    # Thurrock's months are built too, and ?la= picks them on the same server
    other = render_page(client, deps, "/demand", "?la=883")
    assert "Thurrock" in all_text(other) and by_id(other, "demand-illustrative") is not None
    assert _view(leeds, "?la=883").la_code == "E06000034"


def test_the_command_prints_the_pages_numbers_for_the_configured_authority(leeds_app, leeds, monkeypatch, capsys):
    import dashboard.data

    monkeypatch.setenv("DATABASE_URL", leeds.database_url)
    monkeypatch.setenv("DASHBOARD_INSTANCE_DIR", str(leeds.instance_dir))
    monkeypatch.setenv("DASHBOARD_LA", "383")
    monkeypatch.delenv("DASHBOARD_DATA_DIR", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(dashboard.data, "_manager", None)
    view = _view(leeds)
    _app, client, deps = leeds_app
    page = render_page(client, deps, "/demand")

    assert cli.main(["demand", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == json.loads(json.dumps(view.record(), default=str))
    assert out["area"]["code"] == LEEDS

    assert cli.main(["demand", "--format", "table"]) == 0
    text = capsys.readouterr().out
    series_table = text_of(by_id(page, "demand-series-table"))
    for mid in ("demand_referrals", "demand_cin_open", "demand_cp_open"):
        s = view.by_id(mid)
        a = s.ahead(12)
        d = s.decimals
        for figure in (number(s.latest_value, d), number(a["point"], d), number(a["lower_80"], d),
                       number(a["upper_95"], d), f"{s.projection.backtest.mape:.1f}%"):
            assert figure in text and figure in series_table, (mid, figure)
        change = f"{s.change:+,.{d}f}"
        assert change in text and change in series_table
    cap = view.capacity
    crossing = text_of(by_id(page, "demand-crossing"))
    for figure in (number(cap.projected[6], 1), number(cap.projected[12], 1)):
        assert figure in text and figure in crossing
    assert number(cap.implied_caseload, 1) in text and number(cap.implied_caseload, 1) in all_text(page)
    assert f"{cap.agency_share:.1f}%" in text and f"{cap.agency_share:.1f}%" in all_text(page)
    assert cap.crossing_words in text
    for st in view.flow:
        assert number(st.current, 0) in text

    assert cli.main(["demand", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    by = {(r["section"], r["metric_id"]): r for r in rows}
    ref = view.by_id("demand_referrals")
    r = by[("series", "demand_referrals")]
    assert float(r["current"]) == ref.current and float(r["ahead_12_upper_95"]) == pytest.approx(
        ref.ahead(12)["upper_95"])
    assert float(r["rate_value"]) == ref.rate.value and float(r["backtest_mape"]) == pytest.approx(
        ref.projection.backtest.mape)
    assert float(by[("capacity", "capacity")]["implied_caseload"]) == cap.implied_caseload
    assert {k[0] for k in by} >= {"flow", "series", "capacity", "conversion"}
