"""The monthly demand sheet of a return (one row per month, one column per measure): the 30-month
fixture reads cleanly, and each kind of bad input is refused (or warned) naming the file, sheet,
row, column, value and rule, as the other returns are.

Expected values are read from the fixture with the csv module, never from the parser.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from dashboard.config import DEFAULT_DATA_DIR
from dashboard.importers.returns import RULES, ParsedReturn, parse_return
from dashboard.registry import load_registry

THURROCK = "E06000034"
CODES = {"883": THURROCK, THURROCK: THURROCK, "202": "E09000007", "E09000007": "E09000007"}
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "demand_return_30_months.csv"
TODAY = dt.date(2026, 11, 27)


@pytest.fixture(scope="module")
def registry():
    return load_registry(DEFAULT_DATA_DIR / "metrics.yaml")


def records() -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(FIXTURE.read_text(encoding="utf-8"))))
    return rows[0], rows[1:]


def as_csv(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    return buf.getvalue().encode("utf-8")


def parse(data: bytes, registry, name="demand.csv", today=TODAY, **kw) -> ParsedReturn:
    return parse_return(data, name, registry, CODES, today=today, **kw)


def errors_of(ret: ParsedReturn, code: str):
    return [p for p in ret.problems if p.code == code]


def test_the_30_month_fixture_reads_cleanly(registry):
    header, rows = records()
    assert len(rows) == 30
    ret = parse(FIXTURE.read_bytes(), registry, FIXTURE.name)
    assert ret.ok, [str(p) for p in ret.problems]
    assert ret.warnings == []
    measures = [h for h in header if h.startswith("demand_")]
    assert len(measures) == 20
    assert len(ret.rows) == 30 * 20 == ret.rows_read * 20
    got = {(r["metric_id"], r["period_end"]): r["value"] for r in ret.rows}
    assert got[("demand_referrals", dt.date(2024, 4, 30))] == float(rows[0][header.index("demand_referrals")])
    assert got[("demand_sw_fte", dt.date(2026, 9, 30))] == float(rows[-1][header.index("demand_sw_fte")])
    assert {r["area_code"] for r in ret.rows} == {THURROCK}
    assert all(r["period_label"] for r in ret.rows)
    first = [r for r in ret.rows if r["period_end"] == dt.date(2024, 4, 30)]
    assert {r["note"] for r in first} == {"test data"}


@pytest.mark.parametrize("month", ["Apr 2024", "April 2024", "Apr-24", "2024-04", "04/2024", "30/04/2024"])
def test_every_month_form_a_return_accepts(registry, month):
    ret = parse(as_csv(["month", "area", "referrals"], [[month, "883", "150"]]), registry)
    assert ret.ok, [str(p) for p in ret.problems]
    assert [(r["metric_id"], r["period_end"], r["value"]) for r in ret.rows] == [
        ("demand_referrals", dt.date(2024, 4, 30), 150.0)]


def test_a_gap_in_the_months_is_refused(registry):
    header, rows = records()
    del rows[5]  # Sep 2024
    ret = parse(as_csv(header, rows), registry)
    assert not ret.ok
    (p,) = errors_of(ret, "month_gap")
    assert (p.file, p.sheet, p.row, p.column, p.value) == ("demand.csv", None, 7, "month", "October 2024")
    assert "September 2024" in p.rule and "missing" in p.rule
    assert [q.code for q in ret.errors] == ["month_gap"]


def test_a_blank_cell_inside_a_measure_is_a_gap(registry):
    header, rows = records()
    col = header.index("demand_s47")
    rows[10][col] = ""
    ret = parse(as_csv(header, rows), registry)
    (p,) = ret.errors
    assert (p.code, p.row, p.column, p.value) == ("month_gap", 12, "demand_s47", "")
    assert "February 2025" in p.rule and "x" in p.rule


def test_a_duplicated_month_is_refused(registry):
    header, rows = records()
    rows.insert(3, list(rows[2]))  # Jun 2024 twice
    ret = parse(as_csv(header, rows), registry)
    (p,) = ret.errors
    assert (p.code, p.row, p.column, p.value) == ("duplicate_month", 5, "month", "Jun 2024")
    assert "row 4" in p.rule


def test_a_negative_count_is_refused(registry):
    header, rows = records()
    col = header.index("demand_referrals")
    rows[7][col] = "-12"
    ret = parse(as_csv(header, rows), registry)
    (p,) = ret.errors
    assert (p.code, p.row, p.column, p.value) == ("negative", 9, "demand_referrals", "-12")
    assert str(p) == "demand.csv, row 9, column 'demand_referrals', value '-12': must not be negative"


def test_a_share_above_100_is_refused(registry):
    header, rows = records()
    col = header.index("demand_icpc_15d_pct")
    rows[0][col] = "104%"
    ret = parse(as_csv(header, rows), registry)
    (p,) = ret.errors
    assert (p.code, p.row, p.column, p.value) == ("percent_above_100", 2, "demand_icpc_15d_pct", "104%")


def test_a_month_in_the_future_is_refused(registry):
    header, rows = records()
    rows.append(["Oct 2026"] + rows[-1][1:])
    rows.append(["Nov 2026"] + rows[-1][1:])  # 27 November 2026: the month has not ended
    ret = parse(as_csv(header, rows), registry)
    (p,) = ret.errors
    assert (p.code, p.row, p.column, p.value) == ("period_in_future", 33, "month", "Nov 2026")
    assert "27 November 2026" in p.rule


def test_a_fraction_in_a_count_and_a_word_are_refused_but_fte_may_have_fractions(registry):
    ret = parse(as_csv(["month", "area", "referrals", "sw_fte", "demand_icpc"],
                       [["Apr 2024", "883", "150.5", "140.3", "n/a"]]), registry)
    assert sorted((p.code, p.column) for p in ret.errors) == [("fractional_count", "referrals"),
                                                             ("not_a_number", "demand_icpc")]


def test_suppression_symbols_are_kept_as_status(registry):
    ret = parse(as_csv(["month", "area", "demand_icpc"], [["Apr 2024", "883", "c"], ["May 2024", "883", "7"]]),
                registry)
    assert ret.ok
    assert [(r["value"], r["status"]) for r in ret.rows] == [(None, "c"), (7.0, "")]


def test_unknown_and_missing_columns(registry):
    ret = parse(as_csv(["month", "area", "referals"], [["Apr 2024", "883", "150"]]), registry)
    codes = sorted(p.code for p in ret.problems)
    assert codes == ["missing_columns", "unknown_column"]
    unknown = errors_of(ret, "unknown_column")[0]
    assert unknown.suggestion == "did you mean 'demand_referrals'?"


def test_a_workbook_sheet_named_demand_names_the_sheet(registry):
    header, rows = records()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Demand"
    ws.append(header)
    for r in rows[:13]:
        ws.append([r[0], r[1]] + [float(x) if x else None for x in r[2:-1]] + [r[-1]])
    ws.cell(row=4, column=header.index("demand_assessments_45d_pct") + 1, value=101)
    ws.delete_rows(6)  # Aug 2024 missing
    buf = io.BytesIO()
    wb.save(buf)
    ret = parse(buf.getvalue(), registry, "return.xlsx")
    got = sorted((p.code, p.sheet, p.row, p.column, p.value) for p in ret.errors)
    assert got == [("month_gap", "Demand", 6, "month", "September 2024"),
                   ("percent_above_100", "Demand", 4, "demand_assessments_45d_pct", "101")]


def test_a_gap_in_long_format_demand_rows_is_refused(registry):
    header = "metric_id,period,value,area"
    body = ["demand_referrals,Apr 2024,150,883", "demand_referrals,May 2024,160,883",
            "demand_referrals,Jul 2024,170,883", "cp_plans_31mar,31/03/2024,120,883"]
    ret = parse(("\n".join([header, *body]) + "\n").encode(), registry)
    (p,) = ret.errors
    assert (p.code, p.row, p.column, p.value) == ("month_gap", 4, "period", "Jul 2024")
    assert "June 2024" in p.rule


def test_new_rules_are_described():
    assert {"month_gap", "duplicate_month"} <= set(RULES)


@pytest.mark.parametrize("name", ["demand_template.csv", "demand_template.xlsx"])
def test_the_demand_templates_parse_cleanly_with_every_measure(registry, name):
    path = DEFAULT_DATA_DIR / "templates" / name
    ret = parse_return(path.read_bytes(), name, registry, CODES)
    assert ret.problems == [] and ret.rows == [], [str(p) for p in ret.problems]
    if name.endswith(".csv"):
        header = next(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    else:
        wb = openpyxl.load_workbook(path, read_only=True)
        header = [c for c in next(wb["demand"].iter_rows(values_only=True))]
    assert header == ["month", "area"] + [m.id for m in registry.by_topic("demand")] + ["note"]
    # the fixture has the same columns as the template
    assert records()[0] == header
