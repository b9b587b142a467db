"""Fuzzing the return parser: whatever bytes arrive, it returns a ParsedReturn and never raises.

Three kinds of input: arbitrary bytes (some dressed as a zip, a byte-order mark or an old Excel
file), text CSVs with the real header and random cells, and valid template rows with cells
mutated, as CSV and as a workbook. Every problem must name the file and a rule, and the
importer's own safety net (``internal_error``) must never be what caught it.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
from pathlib import Path

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.config import DEFAULT_DATA_DIR
from dashboard.importers.returns import COLUMNS, RULES, TARGET_COLUMNS, ParsedReturn, parse_return
from dashboard.registry import load_registry

REGISTRY = load_registry(DEFAULT_DATA_DIR / "metrics.yaml")
CODES = {"883": "E06000034", "E06000034": "E06000034"}
TEMPLATE = DEFAULT_DATA_DIR / "templates" / "return_template.csv"
TEMPLATE_ROWS = list(csv.reader(io.StringIO(TEMPLATE.read_text(encoding="utf-8"))))[1:]
ROW_KEYS = {"metric_id", "area_code", "period_end", "period_label", "agency", "breakdown", "breakdown_value", "value",
            "numerator", "denominator", "status", "note", "sheet", "row"}
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# cells that are close to valid, or known to be awkward
TOKENS = [
    "", " ", "c", "K", "low", ":", "x", "42%", "104%", "-1", "0", "1,234", "12,5", "1e308", "1e999", "1e-320",
    "0.0000001", "nan", "inf",
    "31/03/2017", "31/02/2017", "2016-17", "2016-17 Q4", "Q5 2016-17", "Mar 2017", "42825", "99999999", "2017",
    "0000-00-00", "9999-12-31", "883", "E06000034", "999", "NELFT", "Essex Polce", "category_of_abuse", "NEG",
    "Neglect", "age_band", "5-11", "training_level", "L1", "#DIV/0!", '"', '""', "\n", "\r", ",", ";", "\t", "\x00",
    "\ufeff", "é", "\u2212", "\xa0", "%", "metric_id", "period", "target",
] + REGISTRY.ids[:8]
CELL = st.one_of(st.sampled_from(TOKENS), st.text(max_size=12))


def check(ret: object, name: str) -> None:
    assert isinstance(ret, ParsedReturn)
    assert ret.filename == name
    for p in ret.problems:
        assert p.file == name and isinstance(p.rule, str) and p.rule
        assert p.severity in ("error", "warning")
        assert p.code in RULES and p.code != "internal_error", str(p)
        assert p.row is None or (isinstance(p.row, int) and p.row >= 1)
        assert isinstance(p.value, str)
        str(p)
    assert ret.ok == (not ret.errors)
    for r in ret.rows:
        assert ROW_KEYS <= set(r)
        assert isinstance(r["period_end"], dt.date)
        assert r["value"] is None or (isinstance(r["value"], float) and math.isfinite(r["value"]))
        for key in ("numerator", "denominator"):
            assert r[key] is None or (isinstance(r[key], float) and math.isfinite(r[key]))
        assert (r["value"] is None) == bool(r["status"])
    for t in ret.targets:
        assert isinstance(t["value"], float) and math.isfinite(t["value"]) and t["source"]
    ret.summary()


@SETTINGS
@given(prefix=st.sampled_from([b"", b"PK\x03\x04", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xd0\xcf\x11\xe0",
                               ",".join(COLUMNS).encode() + b"\n"]),
       body=st.binary(max_size=600))
def test_arbitrary_bytes(prefix, body):
    check(parse_return(prefix + body, "fuzz.bin", REGISTRY, CODES), "fuzz.bin")


@SETTINGS
@given(header=st.sampled_from([COLUMNS, TARGET_COLUMNS, COLUMNS[:5], ["Metric ID", "Period End", "Value", "Area"]]),
       rows=st.lists(st.lists(CELL, max_size=12), max_size=8),
       delimiter=st.sampled_from([",", ";", "\t"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
       quote=st.booleans(),
       default_area=st.sampled_from([None, "883", "nowhere"]))
def test_random_csv_with_the_real_header(header, rows, delimiter, encoding, quote, default_area):
    if quote:
        buf = io.StringIO()
        csv.writer(buf, delimiter=delimiter).writerows([header, *rows])
        text = buf.getvalue()
    else:  # joined without quoting: malformed on purpose
        text = "\n".join(delimiter.join(r) for r in [header, *rows])
    data = text.encode(encoding, errors="replace")
    ret = parse_return(data, "fuzz.csv", REGISTRY, CODES, default_area=default_area, max_rows=6)
    check(ret, "fuzz.csv")


@SETTINGS
@given(data=st.data())
def test_mutated_template_rows(data):
    rows = [list(r) for r in TEMPLATE_ROWS]
    for _ in range(data.draw(st.integers(0, 4))):
        i = data.draw(st.integers(0, len(rows) - 1))
        j = data.draw(st.integers(0, len(COLUMNS) - 1))
        rows[i][j] = data.draw(CELL)
    if data.draw(st.booleans()):
        rows.append(list(rows[data.draw(st.integers(0, len(rows) - 1))]))  # a duplicate
    buf = io.StringIO()
    csv.writer(buf).writerows([COLUMNS, *rows])
    ret = parse_return(buf.getvalue().encode("utf-8"), "mutated.csv", REGISTRY, CODES)
    check(ret, "mutated.csv")
    # rows with no problem are loaded; a file with no error gives one row per line
    if ret.ok:
        assert len(ret.rows) == sum(1 for r in rows if any(c.strip() for c in r))


XLSX_CELL = st.one_of(
    CELL,
    st.integers(-10, 100_000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2100, 1, 1)),
    st.none(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_workbooks(data):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = data.draw(st.sampled_from(["NELFT", "targets", "readme", "Sheet 1"]))
    ws.append(COLUMNS if ws.title != "targets" else TARGET_COLUMNS)
    for r in TEMPLATE_ROWS[:6]:
        ws.append([None if c == "" else c for c in r])
    for _ in range(data.draw(st.integers(0, 6))):
        cell = ws.cell(row=data.draw(st.integers(1, 9)), column=data.draw(st.integers(1, 12)))
        value = data.draw(XLSX_CELL)
        if isinstance(value, str):
            value = "".join(ch for ch in value if ch >= " " or ch in "\t\n\r")  # openpyxl refuses control characters
        cell.value = value
        if data.draw(st.booleans()):
            cell.number_format = data.draw(st.sampled_from(["0%", "0.00%", "dd/mm/yyyy", "@", "General"]))
    buf = io.BytesIO()
    wb.save(buf)
    raw = buf.getvalue()
    if data.draw(st.booleans()):  # damage a few bytes of the zip
        b = bytearray(raw)
        for _ in range(data.draw(st.integers(1, 4))):
            b[data.draw(st.integers(0, 2**20)) % len(b)] = data.draw(st.integers(0, 255))
        raw = bytes(b)
    check(parse_return(raw, "fuzz.xlsx", REGISTRY, CODES), "fuzz.xlsx")


def test_the_templates_parse_cleanly_and_give_their_rows():
    for name in ("return_template.csv", "targets_template.csv", "return_template.xlsx"):
        path = DEFAULT_DATA_DIR / "templates" / name
        ret = parse_return(path.read_bytes(), name, REGISTRY, CODES)
        check(ret, name)
        assert ret.problems == [], [str(p) for p in ret.problems]
    csv_rows = parse_return(TEMPLATE.read_bytes(), "t.csv", REGISTRY, CODES).rows
    assert len(csv_rows) == len(TEMPLATE_ROWS)
    assert [r["metric_id"] for r in csv_rows] == [r[0] for r in TEMPLATE_ROWS]
    assert [r["note"] for r in csv_rows] == [r[COLUMNS.index("note")] for r in TEMPLATE_ROWS]
    assert Path(TEMPLATE).suffix == ".csv"
