"""Small numbers never reach an inspector: not in a figure, a table, a headline or a download.

The property test asks, as an inspector whose link covers authorities that do have small
numbers, for random pages (overview, every topic, every metric) with random comparators, and
reads the router's JSON and every CSV the page offers. Counts, numerators and denominators of
metrics under DfE's small-numbers rule must never be 1 to 5, a suppressed row shows nothing but
its symbol, and a rate and the count it is built on are suppressed together. Staff asking for
the same cell see the real number, so the test is not vacuous.
"""
from __future__ import annotations

import csv
import io
import re
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dashboard.registry import Unit

from .conftest import by_id, client_as, new_client, open_link, page_of, router, text_of, walk

# Authorities whose published workforce figures include counts of 1 to 5 (full-time equivalents
# of agency workers, leavers, vacancies): Hartlepool, Isles of Scilly, Rutland; and Thurrock, the
# partnership's own authority. City of London (201) also has them, and a fraction of one that a
# table rounds into the range: test_a_fraction_shown_as_one_to_five_is_suppressed.
SMALL_LAS = ("883", "805", "420", "857")

# A rate per 10,000 and the count it is built on (the rate's numerator is the count).
RATE_OF_COUNT = {"cp_rate_31mar": "cp_plans_31mar", "cp_started_rate": "cp_started", "cin_rate_31mar": "cin_31mar",
                 "referral_rate": "referrals", "lac_rate_31mar": "lac_31mar"}
PARTNER = {**RATE_OF_COUNT, **{c: r for r, c in RATE_OF_COUNT.items()}}

COMPARATORS = ("england", "region", "sn")
_NUMBER = re.compile(r"^[-−]?\d[\d,]*(\.\d+)?$")


def small(value) -> bool:
    return value is not None and 1 <= value <= 5


def number(text) -> float | None:
    """A figure as a page or CSV prints it ("1,234", "3", "4.50%") or None for text and blanks."""
    if isinstance(text, bool) or text is None:
        return None
    if isinstance(text, (int, float)):
        return None if text != text else float(text)
    t = str(text).strip().rstrip("%").strip()
    return float(t.replace(",", "").replace("−", "-")) if _NUMBER.match(t) else None


@pytest.fixture(scope="module")
def registry(app):
    return app.server.config["DASHBOARD_MANAGER"].registry


@pytest.fixture(scope="module")
def governed(registry) -> set[str]:
    return {m.id for m in registry.metrics if m.suppression.rule == "small_numbers"}


@pytest.fixture(scope="module")
def counts(registry, governed) -> set[str]:
    return {m.id for m in registry.metrics if m.unit is Unit.COUNT and m.id in governed}


@pytest.fixture(scope="module")
def inspector(app, engine):
    _link, _token, client = open_link(app, engine, {"las": list(SMALL_LAS)})
    return client


@pytest.fixture(scope="module")
def staff(app, engine):
    return client_as(app, engine, "viewer")


def _csv(client, url: str) -> list[dict]:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    assert resp.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))


def _candidates(app, governed: set[str], la: str) -> list[str]:
    """Metrics whose unsuppressed headline rows for ``la`` have a numerator or denominator of 1 to 5."""
    snap = app.server.config["DASHBOARD_MANAGER"].snapshot()
    f = snap.frame
    f = f[(f["area_code"] == snap.area(la)["code"]) & f["metric_id"].isin(sorted(governed))
          & (f["agency"].fillna("") == "") & (f["breakdown"] == "")]
    hit = f["numerator"].between(1, 5) | f["denominator"].between(1, 5)
    return sorted(set(f.loc[hit, "metric_id"]))


def _staff_small_cells(app, staff, governed, la: str) -> list[tuple[str, dict]]:
    """(metric, CSV row) of each cell with a numerator or denominator of 1 to 5 that staff download for ``la``."""
    out = []
    for mid in _candidates(app, governed, la):
        for row in _csv(staff, f"/download/metric/{mid}.csv?la={la}&cmp=none"):
            if small(number(row["numerator"])) or small(number(row["denominator"])):
                out.append((mid, row))
    return out


def test_the_chosen_authorities_do_have_small_numbers(app, staff, governed):
    with_small = [la for la in SMALL_LAS if _staff_small_cells(app, staff, governed, la)]
    assert len(with_small) >= 3, with_small


# --------------------------------------------------------------------------- checks


def check_csv_rows(rows: list[dict], metric_of, governed: set[str], counts: set[str], where) -> None:
    """No count, numerator or denominator of 1 to 5, and no value on a row marked "c"."""
    for row in rows:
        mid = metric_of(row)
        if mid not in governed:
            continue
        status = row.get("status", row.get("status_symbol", "")) or ""
        for col in ("numerator", "denominator") + (("value",) if mid in counts else ()):
            assert not small(number(row.get(col))), (where, mid, col, row)
        if status == "c":  # (a publisher's "c" row may keep a 0 or a population: neither is a small count)
            assert (row.get("value") or "") == "", (where, mid, "a suppressed row shows its value", row)


def check_linked(client, url: str, rows: list[dict], where) -> None:
    """A rate and its count: when one is suppressed ("c"), the other shows no value either."""
    parts = urlsplit(url)
    mid = parts.path.rsplit("/", 1)[-1].removesuffix(".csv")
    partner = PARTNER.get(mid)
    if partner is None or not rows:
        return
    other = _csv(client, f"/download/metric/{partner}.csv?{parts.query}")
    if not other:
        return
    own = {r["period_end"]: r for r in rows if r["series"] == rows[0]["series"]}
    theirs = {r["period_end"]: r for r in other if r["series"] == other[0]["series"]}
    for period in own.keys() & theirs.keys():
        a, b = own[period], theirs[period]
        if a["status"] == "c":
            assert b["value"] == "", (where, mid, partner, period, a, b)
        if b["status"] == "c":
            assert a["value"] == "", (where, mid, partner, period, a, b)


def _table_cells(table: dict):
    """(row component, {heading: cell text}) for each body row of an html.Table."""
    heads: list[str] = []
    rows = []
    for comp in walk(table["props"].get("children")):
        if comp["type"] == "Thead":
            heads = [text_of(c) for c in walk(comp) if c["type"] == "Th"]
        elif comp["type"] == "Tbody":
            children = comp["props"].get("children") or []
            for tr in children if isinstance(children, list) else [children]:
                if not isinstance(tr, dict) or tr.get("type") != "Tr":
                    continue
                cells = tr["props"].get("children") or []
                cells = cells if isinstance(cells, list) else [cells]
                rows.append((tr, dict(zip(heads, [text_of(c) for c in cells if isinstance(c, dict)]))))
    return rows


def _sparkline_numbers(alt: str) -> list[float | None]:
    m = re.match(r"Trend from (\S+) in .* to (\S+) in ", alt or "")
    return [number(m.group(1)), number(m.group(2))] if m else []


def check_page(page: dict, metric: str | None, governed: set[str], counts: set[str], where) -> int:
    """Walk a page's component tree; returns how many figure points and cells of governed metrics it read."""
    seen = 0

    def visit(node, metric):
        nonlocal seen
        if isinstance(node, list):
            for item in node:
                visit(item, metric)
            return
        if not isinstance(node, dict):
            return
        if "props" not in node or "type" not in node:
            for value in node.values():
                visit(value, metric)
            return
        props = node["props"]
        cid = props.get("id")
        if isinstance(cid, str) and cid.startswith(("panel-", "row-")):
            metric = cid.split("-", 1)[1]  # a topic panel or a scorecard row: one metric's region
        kind = node["type"]
        if kind == "Graph" and metric in counts:
            for trace in (props.get("figure") or {}).get("data", []):
                if trace.get("name") == "Target":
                    continue
                values = trace.get("x") if trace.get("orientation") == "h" else trace.get("y")
                for v in list(values or []) + list(trace.get("text") or []):
                    seen += 1
                    assert not small(number(v)), (where, metric, "figure", trace.get("name"), v)
        elif kind == "Table":
            for tr, cells in _table_cells(node):
                rid = tr["props"].get("id")
                row_metric = rid[4:] if isinstance(rid, str) and rid.startswith("row-") else metric
                if row_metric not in governed:
                    continue
                for head in ("Numerator", "Denominator", "Count", "Total"):
                    if head in cells:
                        seen += 1
                        assert not small(number(cells[head])), (where, row_metric, head, cells)
                if row_metric in counts:
                    for head in ("Value", "Latest"):
                        if head in cells:
                            seen += 1
                            assert not small(number(cells[head])), (where, row_metric, head, cells)
        elif kind == "Img" and metric in counts:
            for v in _sparkline_numbers(props.get("alt")):
                assert not small(v), (where, metric, "sparkline", props.get("alt"))
        elif metric in counts and (kind == "Strong" or "headline-value" in (props.get("className") or "")):
            assert not small(number(text_of(node))), (where, metric, "headline", text_of(node))
        for value in props.values():
            visit(value, metric)

    visit(page, metric)
    return seen


def _downloads(page: dict) -> list[str]:
    return sorted({c["props"]["href"] for c in walk(page)
                   if c["type"] == "A" and str(c["props"].get("href", "")).startswith("/download/")})


def _pages(registry) -> list[str]:
    return (["/"] + [f"/topic/{t.id}" for t in registry.topics] + [f"/metric/{m.id}" for m in registry.metrics])


def _page_paths():
    from dashboard.config import load_settings
    from dashboard.registry import load_registry

    return _pages(load_registry(load_settings().registry_path))


# --------------------------------------------------------------------------- the property


@settings(max_examples=10, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(_page_paths()), cmp=st.lists(st.sampled_from(COMPARATORS), unique=True),
       la=st.sampled_from(SMALL_LAS))
@example(path="/topic/workforce", cmp=["england", "region", "sn"], la="805")
@example(path="/", cmp=[], la="420")
def test_no_small_number_reaches_an_inspector(inspector, deps, governed, counts, path, cmp, la):
    search = f"?la={la}&cmp={','.join(cmp) or 'none'}"
    where = (path, search)
    page = page_of(router(inspector, deps, path, search))
    banner = by_id(page, "view-banner")
    assert banner is not None and text_of(banner).startswith("Published view"), where
    metric = path.split("/")[2] if path.startswith("/metric/") else None
    check_page(page, metric, governed, counts, where)
    downloads = _downloads(page)
    assert downloads, (where, "every page offers a download")
    for url in downloads:
        rows = _csv(inspector, url)
        if url.startswith("/download/scorecard.csv"):
            check_csv_rows(rows, lambda r: r["metric_id"], governed, counts, (where, url))
        else:
            mid = urlsplit(url).path.rsplit("/", 1)[-1].removesuffix(".csv")
            check_csv_rows(rows, lambda r, mid=mid: mid, governed, counts, (where, url))
            check_linked(inspector, url, rows, (where, url))
        for row in rows:
            assert row.get("view", "").startswith("published"), (url, row.get("view"))


# --------------------------------------------------------------------------- staff and inspectors, same cell


@pytest.mark.parametrize("la", ["805", "420"])
def test_staff_see_the_number_inspectors_see_c(app, staff, inspector, deps, governed, counts, la):
    cells = _staff_small_cells(app, staff, governed, la)
    assert cells, f"no small number for {la} in the staff view"
    mid, staff_row = cells[0]
    url = f"/download/metric/{mid}.csv?la={la}&cmp=none"
    ext = {r["period_end"]: r for r in _csv(inspector, url)}
    row = ext[staff_row["period_end"]]
    assert row["status"] == "c", row
    assert row["value"] == row["numerator"] == "", row
    assert not small(number(row["denominator"])), row
    assert staff_row["view"].startswith("staff") and row["view"].startswith("published")

    def table_row(client):
        page = page_of(router(client, deps, f"/metric/{mid}", f"?la={la}&cmp=none"))
        rows = [cells for _tr, cells in _table_cells(by_id(page, "metric-table"))
                if cells.get("Period") == staff_row["period"]]
        assert len(rows) == 1, (mid, staff_row["period"])
        return page, rows[0]

    page, staff_cells = table_row(staff)
    assert text_of(by_id(page, "view-banner")).startswith("Staff view")
    shown = {number(staff_cells["Numerator"]), number(staff_cells["Denominator"])}
    assert any(small(v) for v in shown), staff_cells
    page, ext_cells = table_row(inspector)
    assert text_of(by_id(page, "view-banner")).startswith("Published view")
    assert ext_cells["Value"] == "c" and ext_cells["Numerator"] == "", ext_cells
    assert not small(number(ext_cells["Denominator"])), ext_cells
    assert check_page(page, mid, governed, counts, (mid, la)) > 0


def test_staff_pages_do_show_small_numbers(app, staff, deps, governed, counts):
    """The page checker finds small numbers when they are there (staff view), so its silence means something."""
    la = "805"
    mid, _row = _staff_small_cells(app, staff, governed, la)[0]
    page = page_of(router(staff, deps, f"/metric/{mid}", f"?la={la}&cmp=none"))
    with pytest.raises(AssertionError):
        check_page(page, mid, governed, counts, "staff")


def test_the_default_inspector_link_is_the_published_view(app, engine, deps, staff):
    inspector = client_as(app, engine, "inspector")  # scoped to 883
    page = page_of(router(inspector, deps, "/metric/cp_rate_31mar", ""))
    assert text_of(by_id(page, "view-banner")).startswith("Published view")
    rows = _csv(inspector, "/download/scorecard.csv")
    assert rows and all(r["view"].startswith("published") for r in rows)
    assert all(r["view"].startswith("staff") for r in _csv(staff, "/download/scorecard.csv"))
    assert new_client(app).get("/download/scorecard.csv").status_code == 302


@pytest.mark.xfail(strict=True, reason="hole: suppression compares the unrounded figure with 1 to 5, but tables print "
                                       "numerators and denominators as whole numbers, so 0.6 FTE agency workers (City "
                                       "of London, sw_agency_rate, 30 Sep 2018) reaches an inspector as Numerator 1")
def test_a_fraction_shown_as_one_to_five_is_suppressed(app, engine, deps, governed, counts):
    _link, _token, inspector = open_link(app, engine, {"las": ["201"]})
    page = page_of(router(inspector, deps, "/metric/sw_agency_rate", "?la=201&cmp=none"))
    check_page(page, "sw_agency_rate", governed, counts, ("/metric/sw_agency_rate", "?la=201"))
