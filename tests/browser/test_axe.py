"""axe-core, with the WCAG 2.0, 2.1 and 2.2 A and AA tags, finds nothing on any page.

Pages: every path of the route table (``dashboard/routes.py``: placeholders filled with sample metrics and
every topic) and every parameterless GET page of the Flask server outside Dash (sign-in, password change,
upload, versions, administration, audit, the accessibility statement, and any added later), signed in as
an admin; the sign-in page signed out; the upload check page for an accepted and a refused return; the
overview and a metric page through an inspector link. A violation fails the test with its rule, nodes and
their HTML.
"""
from __future__ import annotations

import pytest

from dashboard.config import load_settings
from dashboard.registry import load_registry
from tests.browser.a11y import (AXE_VERSION, MEETING, dash_page_paths, describe_violations, load, run_axe, server_page_paths,
                                sign_in_as, url)

REGISTRY = load_registry(load_settings().registry_path)
DASH_PAGES = dash_page_paths(REGISTRY)
RETURNS = {"template": "data/templates/return_template.csv", "refused": "tests/returns_corpus/01_unknown_metric.csv"}


@pytest.fixture
def duo(product_duo, product_app, _module_browser):
    """The module's browser, signed in as an admin (it starts as a viewer)."""
    if _module_browser.get("role") != "admin":
        sign_in_as(product_duo, product_app, "admin")
        _module_browser["role"] = "admin"
    return product_duo


def assert_no_violations(duo, path: str) -> None:
    result = run_axe(duo.driver)
    assert result["version"] == AXE_VERSION
    assert result["violations"] == [], describe_violations(path, result["violations"])


@pytest.fixture(scope="module")
def meeting_id(product_app) -> int:
    """A meeting with a published comment and an overdue action on its first exception's metric, so that the
    meeting pages are drawn at their fullest."""
    from dashboard import meetings

    engine = product_app.server.config["DASHBOARD_MANAGER"].engine
    who = {"actor": "axe", "role": "admin"}
    m = meetings.create_meeting(engine, date="2026-01-15", title="Axe panel", **who)
    draft = meetings.add_comment(engine, metric_id="cp_rate_31mar", period_end="2025-03-31", la_code="E06000034",
                                 data_says="Rate fell", why="Fewer repeat plans", doing="Audit of step-downs", **who)
    meetings.publish_comment(engine, draft.id, **who)
    for n, text in enumerate(("Review step-downs", "Audit every plan that lasted two years or more with the "
                              "police and health partners, and report back", "Re-check the data")):
        meetings.add_action(engine, text=text, agency="Council" if n != 1 else "Police and health partners",
                            due_date=f"2026-0{n + 1}-20", metric_id="cp_rate_31mar", la_code="E06000034",
                            meeting_id=m.id, **who)
    return m.id


@pytest.mark.parametrize(("path", "problem"), DASH_PAGES, ids=[p for p, _ in DASH_PAGES])
def test_axe_finds_nothing_on_a_dash_page(duo, path, problem, request):
    assert problem is None, f"{path}: {problem}"
    if MEETING in path:
        path = path.replace(MEETING, str(request.getfixturevalue("meeting_id")))
    load(duo, path)
    assert_no_violations(duo, path)


def test_axe_finds_nothing_on_the_server_pages(duo, product_app):
    paths = server_page_paths(product_app.server)
    for expected in ("/accessibility", "/account/password", "/admin", "/admin/audit", "/admin/versions", "/upload"):
        assert expected in paths, paths
    failures = []
    for path in paths:
        if path == "/login":
            continue  # signed out: below
        load(duo, path)
        assert "/login" not in duo.driver.current_url, path
        violations = run_axe(duo.driver)["violations"]
        if violations:
            failures.append(describe_violations(path, violations))
    assert failures == [], "\n".join(failures)


# db: checking a return stages it in the database (a pending upload), which no other tier does on PostgreSQL.
@pytest.mark.db
@pytest.mark.parametrize("kind", sorted(RETURNS))
def test_axe_finds_nothing_on_the_upload_check_page(duo, kind):
    from dashboard.config import ROOT

    load(duo, "/upload")
    duo.find_element("input[type=file]").send_keys(str(ROOT / RETURNS[kind]))
    duo.find_element("form[action='/upload'] button[type=submit]").click()
    duo.wait_for_element("#page-heading", timeout=30)
    assert duo.driver.current_url.endswith("/upload")
    assert_no_violations(duo, f"/upload ({kind} return checked)")


def test_axe_finds_nothing_on_the_sign_in_page(duo, product_app, _module_browser):
    duo.driver.delete_all_cookies()
    _module_browser["role"] = None
    load(duo, "/login")
    assert_no_violations(duo, "/login")


def test_axe_finds_nothing_through_an_inspector_link(duo, product_app, _module_browser):
    sign_in_as(duo, product_app, "inspector")
    _module_browser["role"] = "inspector"
    duo.wait_for_element("#page-heading", timeout=30)
    for path in ("/", "/metric/cp_rate_31mar?cmp=england,region,sn"):
        load(duo, path)
        assert "/login" not in duo.driver.current_url
        assert duo.find_element("#view-banner").text.startswith("Published view"), url(duo, path)
        assert_no_violations(duo, f"{path} (inspector)")
