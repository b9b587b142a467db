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
import datetime as dt
import io
import re
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dashboard.registry import Unit

from .conftest import by_id, client_as, new_client, open_link, page_of, router, text_of, walk

# Authorities with many cells the publisher already suppressed, and Thurrock, the partnership's own.
SMALL_LAS = ("883", "805", "201", "420", "857")

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


# --------------------------------------------------------------------------- an app with small numbers in it
#
# DfE publishes its own small counts as "c", and the registry leaves staff FTE figures
# unsuppressed, so the built data has no unsuppressed count of 1 to 5 for suppression to act on.
# This module's app therefore serves the real data with three cells changed to small numbers (and
# the rate built on the changed count published without its count, so that only the link between
# the two can hide it), by replacing the rows its data manager hands to the views; everything from
# there to the HTTP response (suppression, views, pages, downloads, the gate) is the product's own.

SMALL_CELLS = [
    # (id, metric, authority, period end, breakdown dimension, breakdown value, column, small value)
    ("uasc count", "uasc_31mar", "883", "2017-03-31", "", "", "value", 4),
    ("cp plans count", "cp_plans_31mar", "805", "2016-03-31", "", "", "value", 3),
    ("placement cell", "lac_new_placements_20_miles", "883", "2024-03-31", "placement_location", "not_known",
     "numerator", 4),
]


def _with_small_cells(snap, registry):
    import dataclasses
    import datetime as dt

    scale = {Unit.PERCENT: 100.0, Unit.RATE_PER_10000: 10000.0}

    f = snap.frame.copy()

    def row(metric, la, period, dim="", code=""):
        hit = ((f["metric_id"] == metric) & (f["area_code"] == snap.area(la)["code"])
               & (f["period_end"] == dt.date.fromisoformat(period)) & (f["agency"].fillna("") == "")
               & (f["breakdown"] == dim) & (f["breakdown_value"].fillna("") == code))
        assert hit.sum() == 1 and (f.loc[hit, "status"].fillna("") == "").all(), (metric, la, period, code)
        return hit

    for _id, metric, la, period, dim, code, column, value in SMALL_CELLS:
        hit = row(metric, la, period, dim, code)
        f.loc[hit, column] = float(value)
        if column == "numerator":  # keep the row consistent: value = numerator / denominator x scale
            per = scale[registry.metric(metric).unit]
            f.loc[hit, "value"] = round(value / f.loc[hit, "denominator"].iloc[0] * per, 1)
        f.loc[hit, "published_value"] = f.loc[hit, "value"]
        if metric in RATE_OF_COUNT.values():  # its rate, as if published without the count or population
            rate = row(PARTNER[metric], la, period)
            f.loc[rate, "value"] = f.loc[rate, "published_value"] = round(
                value / f.loc[rate, "denominator"].iloc[0] * 10000, 1)
            f.loc[rate, ["numerator", "denominator"]] = float("nan")
    return dataclasses.replace(snap, frame=f, _groups={}, _memo={})


@pytest.fixture(scope="module")
def small_app(sec_settings):
    from dashboard.web.app import create_app

    app = create_app(sec_settings)
    mgr = app.server.config["DASHBOARD_MANAGER"]
    patched = {}

    def snapshot():
        real = type(mgr).snapshot(mgr)
        if patched.get("version") != real.version_id:
            patched.update(version=real.version_id, snap=_with_small_cells(real, mgr.registry))
        return patched["snap"]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mgr, "snapshot", snapshot)
        yield app


@pytest.fixture(scope="module")
def registry(small_app):
    return small_app.server.config["DASHBOARD_MANAGER"].registry


@pytest.fixture(scope="module")
def governed(registry) -> set[str]:
    return {m.id for m in registry.metrics if m.suppression.rule == "small_numbers"}


@pytest.fixture(scope="module")
def counts(registry, governed) -> set[str]:
    return {m.id for m in registry.metrics if m.unit is Unit.COUNT and m.id in governed}


@pytest.fixture(scope="module")
def inspector(small_app, engine):
    _link, _token, client = open_link(small_app, engine, {"las": list(SMALL_LAS)})
    return client


@pytest.fixture(scope="module")
def staff(small_app, engine):
    return client_as(small_app, engine, "viewer")


def _csv(client, url: str) -> list[dict]:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    assert resp.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))


def test_the_small_cells_are_governed(governed):
    assert {c[1] for c in SMALL_CELLS} <= governed


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
    return (["/", "/spc"] + [f"/topic/{t.id}" for t in registry.topics] + [f"/metric/{m.id}" for m in registry.metrics]
            + [f"/compare/{m.id}" for m in registry.metrics])


def _page_paths():
    from dashboard.config import load_settings
    from dashboard.registry import load_registry

    return _pages(load_registry(load_settings().registry_path))


# --------------------------------------------------------------------------- the property


@settings(max_examples=8, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(_page_paths()), cmp=st.lists(st.sampled_from(COMPARATORS), unique=True),
       la=st.sampled_from(SMALL_LAS))
@example(path="/metric/uasc_31mar", cmp=[], la="883")
@example(path="/topic/child_protection", cmp=["england", "region", "sn"], la="805")
@example(path="/metric/lac_new_placements_20_miles", cmp=["england"], la="883")
@example(path="/", cmp=["sn"], la="805")
@example(path="/spc", cmp=[], la="805")
@example(path="/metric/lac_out_of_borough_local", cmp=[], la="805")
@example(path="/compare/cp_plans_31mar", cmp=[], la="805")
def test_no_small_number_reaches_an_inspector(inspector, deps, governed, counts, path, cmp, la):
    search = f"?la={la}&cmp={','.join(cmp) or 'none'}"
    where = (path, search)
    page = page_of(router(inspector, deps, path, search))
    banner = by_id(page, "view-banner")
    assert banner is not None and text_of(banner).startswith("Published view"), where
    metric = path.split("/")[2] if path.startswith(("/metric/", "/compare/")) else None
    check_page(page, metric, governed, counts, where)
    for url in _downloads(page):  # (a topic with no data for the authority offers none)
        rows = _csv(inspector, url)
        if url.startswith("/download/scorecard.csv"):
            check_csv_rows(rows, lambda r: r["metric_id"], governed, counts, (where, url))
        else:
            mid = urlsplit(url).path.rsplit("/", 1)[-1].removesuffix(".csv")
            check_csv_rows(rows, lambda r, mid=mid: mid, governed, counts, (where, url))
            if url.startswith("/download/metric/"):  # (a comparison's CSV is by authority, not by series)
                check_linked(inspector, url, rows, (where, url))
        for row in rows:
            assert row.get("view", "").startswith("published"), (url, row.get("view"))


# --------------------------------------------------------------------------- staff and inspectors, same cell


def _cell_query(cell) -> str:
    _id, _metric, la, _period, dim, code, _column, _value = cell
    return f"?la={la}&cmp=none" + (f"&breakdown={dim}:{code}" if dim else "")


def _csv_row(client, cell) -> dict:
    _id, metric, _la, period, *_ = cell
    rows = [r for r in _csv(client, f"/download/metric/{metric}.csv{_cell_query(cell)}") if r["period_end"] == period]
    assert len(rows) == 1, (cell, rows)
    return rows[0]


def _table_row(client, deps, cell) -> tuple[dict, dict]:
    _id, metric, _la, period, *_ = cell
    page = page_of(router(client, deps, f"/metric/{metric}", _cell_query(cell)))
    wanted = dt.date.fromisoformat(period)
    rows = [cells for _tr, cells in _table_cells(by_id(page, "metric-table"))
            if cells.get("Period") and _same_period(cells["Period"], wanted)]
    assert len(rows) == 1, (cell, [c.get("Period") for _t, c in _table_cells(by_id(page, "metric-table"))])
    return page, rows[0]


def _same_period(label: str, day: dt.date) -> bool:
    """A period label ("31 Mar 2017", "2016-17") names the period ending on ``day``."""
    return label in (f"{day.day} {day:%b %Y}", f"{day.year - 1}-{day:%y}", day.isoformat())


@pytest.mark.parametrize("cell", SMALL_CELLS, ids=[c[0] for c in SMALL_CELLS])
def test_staff_see_the_number_inspectors_see_c(staff, inspector, deps, governed, counts, cell):
    _id, metric, _la, _period, _dim, _code, column, value = cell
    staff_row = _csv_row(staff, cell)
    assert number(staff_row[column]) == value and staff_row["status"] == "", staff_row
    assert staff_row["view"].startswith("staff")
    ext = _csv_row(inspector, cell)
    assert ext["status"] == "c" and ext["value"] == "" and ext["numerator"] == "", ext
    assert ext["view"].startswith("published")

    page, shown = _table_row(staff, deps, cell)
    assert text_of(by_id(page, "view-banner")).startswith("Staff view")
    heading = "Value" if column == "value" else "Numerator"
    assert number(shown[heading]) == value, shown
    page, hidden = _table_row(inspector, deps, cell)
    assert text_of(by_id(page, "view-banner")).startswith("Published view")
    assert hidden["Value"] == "c" and hidden["Numerator"] == "", hidden
    assert check_page(page, metric, governed, counts, cell) > 0


def test_a_rate_is_suppressed_with_its_count(staff, inspector):
    """cp_plans_31mar of 3 at 805: the rate per 10,000, published without a count, would give the count back
    (rate x population), so it is "c" too, although nothing in its own row is small."""
    cell = next(c for c in SMALL_CELLS if c[1] == "cp_plans_31mar")
    rate = ("rate", "cp_rate_31mar") + cell[2:]
    shown = _csv_row(staff, rate)
    assert number(shown["value"]) > 0 and shown["numerator"] == "" and shown["status"] == "", shown
    row = _csv_row(inspector, rate)
    assert row["status"] == "c" and row["value"] == "" and row["numerator"] == "", row


def test_a_breakdown_cell_cannot_be_worked_out_from_the_others(staff, inspector):
    """One small cell of a partition hides a second cell and the headline that repeats it."""
    cell = next(c for c in SMALL_CELLS if c[4] == "placement_location")
    _id, metric, la, period, dim, _code, _column, _value = cell
    codes = ["inside_lt20", "inside_gt20", "outside_lt20", "outside_gt20", "not_known"]

    def statuses(client):
        out = {}
        for code in codes:
            out[code] = _csv_row(client, (code, metric, la, period, dim, code, "numerator", 0))
        return out

    staff_rows, ext_rows = statuses(staff), statuses(inspector)
    assert all(r["status"] == "" for r in staff_rows.values()), staff_rows
    hidden = {code for code, r in ext_rows.items() if r["status"] == "c"}
    assert len(hidden) >= 2 and "not_known" in hidden, hidden
    shown = [number(r["numerator"]) for code, r in ext_rows.items() if code not in hidden]
    rest = number(ext_rows["inside_lt20"]["denominator"]) - sum(shown)
    assert not small(rest), rest  # what the total minus the shown cells gives away is not a small number
    headline = _csv_row(inspector, ("head", metric, la, period, "", "", "numerator", 0))
    if "outside_gt20" in hidden:  # the headline is the outside_gt20 share
        assert headline["status"] == "c" and headline["value"] == "", headline


def test_the_page_checker_finds_small_numbers_in_the_staff_view(staff, deps, governed, counts):
    """check_page fails on a staff page with a small number, so its silence on inspectors' pages means something."""
    for cell in SMALL_CELLS:
        page = page_of(router(staff, deps, f"/metric/{cell[1]}", _cell_query(cell)))
        with pytest.raises(AssertionError):
            check_page(page, cell[1], governed, counts, "staff")
        rows = _csv(staff, f"/download/metric/{cell[1]}.csv{_cell_query(cell)}")
        with pytest.raises(AssertionError):
            check_csv_rows(rows, lambda r, m=cell[1]: m, governed, counts, "staff")


def test_the_default_inspector_link_is_the_published_view(app, engine, deps):
    inspector = client_as(app, engine, "inspector")  # scoped to 883, on the session's app (the built data)
    staff = client_as(app, engine, "viewer")
    page = page_of(router(inspector, deps, "/metric/cp_rate_31mar", ""))
    assert text_of(by_id(page, "view-banner")).startswith("Published view")
    page = page_of(router(staff, deps, "/metric/cp_rate_31mar", ""))
    assert text_of(by_id(page, "view-banner")).startswith("Staff view")
    rows = _csv(inspector, "/download/scorecard.csv")
    assert rows and all(r["view"].startswith("published") for r in rows)
    assert all(r["view"].startswith("staff") for r in _csv(staff, "/download/scorecard.csv"))
    assert new_client(app).get("/download/scorecard.csv").status_code == 302
