"""The demand page (/demand) through the router: flow, capacity, projections, all marked Illustrative."""
from __future__ import annotations

from dashboard.demand_view import demand_view
from dashboard.formatting import number

from .conftest import all_text, by_id, graphs, links, render_page, text_of, view_context

MAX_GRAPHS = 12


def test_demand_page_for_the_default_authority(client, dependencies, manager):
    page = render_page(client, dependencies, "/demand")
    assert text_of(by_id(page, "page-heading")) == "Demand pressures (monthly)"
    text = all_text(page)
    assert "Thurrock" in text
    assert text_of(by_id(page, "demand-illustrative")).startswith("Illustrative")
    ids = [g["props"]["id"] for g in graphs(page)]
    assert ids[:3] == ["graph-demand-flow", "graph-demand-conversions", "graph-demand-capacity"]
    assert "graph-demand_referrals" in ids and len(ids) <= MAX_GRAPHS
    # every chart says its values are illustrative
    assert text.count("Some values in this chart are generated examples") == len(ids)
    # the same numbers as the view function (and so as the demand command)
    view = demand_view(view_context(manager, ""))
    flow = text_of(by_id(page, "demand-flow-table"))
    for step in view.flow:
        assert number(step.current, 0) in flow and number(step.previous, 0) in flow, step.metric_id
    assert view.capacity.crossing_words in text_of(by_id(page, "demand-crossing"))
    table = text_of(by_id(page, "demand-series-table"))
    ref = view.by_id("demand_referrals")
    a = ref.ahead(12)
    assert f"{number(a['point'], 0)} (80%: {number(a['lower_80'], 0)} to {number(a['upper_80'], 0)}" in table
    assert f"{ref.projection.backtest.mape:.1f}%" in table
    assert table.count("Illustrative") == 1 + 20  # the column heading and each series
    # rates per 10,000 and SPC, as a table (words, never colour alone)
    rates = text_of(by_id(page, "demand-rates-table"))
    assert f"{ref.rate.value:,.1f} (12 months to {ref.rate.period:%b %Y})" in rates
    assert ref.spc_words in rates
    cin = view.by_id("demand_cin_open")
    assert f"{cin.rate.value:,.1f} (at {cin.rate.period:%b %Y})" in rates
    assert view.by_id("demand_sw_fte").rate is None  # staff, not children: no rate
    # conversions against DfE's published ratios
    conv = text_of(by_id(page, "demand-conversions-table"))
    s47_icpc = next(c for c in view.conversions if c.to_id == "demand_icpc")
    assert s47_icpc.england is not None and number(s47_icpc.england, 1) in conv
    assert "not published" in conv  # referrals to assessments: no published ratio
    assert by_id(page, "demand-recorded") is None  # nothing recorded yet


def test_demand_page_for_another_authority_without_months(client, dependencies):
    page = render_page(client, dependencies, "/demand", "?la=202")
    assert "Camden" in all_text(page)
    assert by_id(page, "demand-none") is not None
    assert graphs(page) == []
    assert by_id(page, "demand-illustrative") is None


def test_navigation_links_the_demand_page(client, dependencies):
    page = render_page(client, dependencies, "/")
    assert any(h.split("?")[0] == "/demand" for h in links(page))
    assert client.get("/demand").status_code == 200


def test_external_viewers_do_not_get_illustrative_counts(manager):
    """Generated counts are not suppressed (they are not real children), so inspectors do not get them."""
    staff = view_context(manager, "")
    external = view_context(manager, "", external=True)
    assert staff.registry.get("demand_icpc") is not None
    assert external.registry.get("demand_icpc") is None
    assert external.registry.get("demand_assessments_45d_pct") is None
    assert external.registry.get("demand_sw_fte") is not None  # staff FTE: not under the small-numbers rule
    assert external.registry.get("cp_plans_31mar") is not None
    view = demand_view(external)
    assert [s.metric_id for s in view.series] == ["demand_sw_fte", "demand_agency_fte", "demand_vacancies",
                                                  "demand_caseload"]
    assert view.flow == [] and view.capacity.implied_caseload is None


def test_an_inspector_gets_no_generated_count_on_the_demand_page(client, inspector_client, dependencies, manager):
    """Through an inspector link the page shows the staff FTE series only: no flow, no generated count."""
    staff = demand_view(view_context(manager, ""))
    page = render_page(inspector_client, dependencies, "/demand")
    text = all_text(page)
    assert by_id(page, "demand-flow-table") is None and by_id(page, "demand-rates-table") is not None
    series = text_of(by_id(page, "demand-series-table"))
    for mid in ("demand_referrals", "demand_icpc", "demand_placements_20mi", "demand_cp_open"):
        s = staff.by_id(mid)
        assert s.title not in series, mid
    assert staff.by_id("demand_sw_fte").title in series
    for step in staff.flow:
        assert step.title not in text
