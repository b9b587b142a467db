"""The return parser: normalisation, each rule, computed values, targets, workbooks, and the seed file.

Expected values are worked out here (decimal arithmetic, the csv module, openpyxl), not copied
from the parser.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest

from dashboard.config import DEFAULT_DATA_DIR
from dashboard.importers.returns import (
    COLUMNS,
    RULES,
    ParsedReturn,
    Problem,
    ReturnRefused,
    TARGET_COLUMNS,
    parse_return,
)
from dashboard.registry import parse_registry

THURROCK = "E06000034"
CODES = {"883": THURROCK, THURROCK: THURROCK, "202": "E09000007", "E09000007": "E09000007"}
D = dt.date
HEADER = ",".join(COLUMNS)
TEMPLATES = DEFAULT_DATA_DIR / "templates"


def half_up(x: Decimal, places: int) -> float:
    return float(x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def row(metric_id="cp_plans_31mar", period="31/03/2017", value="", numerator="", denominator="", breakdown="",
        breakdown_value="", agency="", area="883", note="") -> str:
    return ",".join([metric_id, period, value, numerator, denominator, breakdown, breakdown_value, agency, area, note])


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def parse(data: bytes, registry, name="return.csv", **kw) -> ParsedReturn:
    return parse_return(data, name, registry, CODES, **kw)


def one(ret: ParsedReturn, severity="error") -> Problem:
    found = [p for p in ret.problems if p.severity == severity]
    assert len(found) == 1, [str(p) for p in ret.problems]
    return found[0]


def workbook(sheets: dict[str, list[list]], formats: dict[tuple[str, int, int], str] | None = None) -> bytes:
    """An .xlsx with the given sheets (rows of cell values); formats: (sheet, row, col) -> number format."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for i, r in enumerate(rows, start=1):
            for j, v in enumerate(r, start=1):
                if v is not None:
                    ws.cell(row=i, column=j, value=v)
    for (name, i, j), fmt in (formats or {}).items():
        wb[name].cell(row=i, column=j).number_format = fmt
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- Problem and result


def test_problem_text_names_everything():
    p = Problem("return.xlsx", "NELFT", 7, "value", "104%", "a percentage cannot be above 100")
    assert str(p) == "return.xlsx, sheet 'NELFT', row 7, column 'value', value '104%': a percentage cannot be above 100"
    p = Problem("r.csv", None, 3, "metric_id", "cp_rate_31mr", "not a metric id", suggestion="did you mean 'x'?")
    assert str(p) == "r.csv, row 3, column 'metric_id', value 'cp_rate_31mr': not a metric id; did you mean 'x'?"
    assert str(Problem("r.csv", None, None, None, "", "the file is empty")) == "r.csv: the file is empty"
    assert p.severity == "error" and p.to_dict()["message"] == str(p)


def test_result_fields_and_refusal(registry):
    data = csv_bytes(row(value="294"), row(metric_id="nope", value="1"))
    ret = parse(data, registry, name="C:\\Users\\analyst\\Desktop\\q4.csv")
    assert ret.filename == "q4.csv"  # never a path from someone's machine
    assert ret.sha256 == hashlib.sha256(data).hexdigest() and ret.size == len(data)
    assert ret.file_type == "csv" and ret.encoding == "utf-8" and ret.sheets == []
    assert not ret.ok and len(ret.errors) == 1 and ret.warnings == []
    with pytest.raises(ReturnRefused) as exc:
        ret.raise_if_refused()
    assert exc.value.parsed is ret and isinstance(exc.value, ValueError)
    assert "q4.csv" in str(exc.value) and "nope" in str(exc.value)
    s = ret.summary()
    assert (s["rows"], s["errors"], s["accepted"]) == (1, 1, False)
    assert s["per_metric"] == {"cp_plans_31mar": 1}
    assert s["per_sheet"] == {"q4.csv": {"rows": 1, "targets": 0, "errors": 1, "warnings": 0}}
    ok = parse(csv_bytes(row(value="294")), registry)
    assert ok.raise_if_refused() is ok


def test_every_rule_code_is_described():
    assert all(isinstance(v, str) and v for v in RULES.values())


# --------------------------------------------------------------------------- the seed file


def test_the_seed_return_reads_as_it_is(registry, dfe):
    data = dfe.local_csv.read_bytes()
    ret = parse(data, registry, name=dfe.local_csv.name)
    assert ret.errors == []
    records = [r for r in dfe.read_csv_rows(dfe.local_csv) if any(v.strip() for v in r.values())]
    assert len(ret.rows) == len(records)
    for rec, r in zip(records, ret.rows):
        assert r["metric_id"] == rec["metric_id"]
        assert r["period_end"] == dt.date.fromisoformat(rec["period_end"])
        assert r["area_code"] == THURROCK
        assert (r["breakdown"], r["breakdown_value"], r["agency"]) == (
            rec["breakdown"], rec["breakdown_value"], rec["agency"])
        if rec["value"]:
            assert r["value"] == float(rec["value"])
        else:
            expected = half_up(Decimal(rec["numerator"]) * 100 / Decimal(rec["denominator"]), 1)
            assert r["value"] == expected
        assert r["note"] == rec["note"]
    # the report's categories sum to 297 and its age bands to 289, against 294 children: flagged, not fixed
    warnings = ret.warnings
    assert [w.code for w in warnings] == ["breakdown_total", "breakdown_total"]
    cat = sum(int(r["numerator"]) for r in records if r["breakdown"] == "category_of_abuse")
    age = sum(int(r["numerator"]) for r in records if r["breakdown"] == "age_band")
    assert (cat, age) == (297, 289)
    assert "297" in str(warnings[0]) and "294" in str(warnings[0]) and "cp_by_category" in str(warnings[0])
    assert "289" in str(warnings[1]) and "294" in str(warnings[1]) and "cp_by_age" in str(warnings[1])


# --------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    "metric_id, period, end, label",
    [
        ("cp_started", "2016-17", D(2017, 3, 31), "2016-17"),
        ("cp_started", "2016/17", D(2017, 3, 31), "2016-17"),
        ("cp_started", "2016-2017", D(2017, 3, 31), "2016-17"),
        ("cp_started", "FY 2016-17", D(2017, 3, 31), "2016-17"),
        ("cp_started", "1999-00", D(2000, 3, 31), "1999-00"),
        ("cp_started", "31/03/2017", D(2017, 3, 31), "2016-17"),
        ("cp_started", "2017", D(2017, 3, 31), "2016-17"),
        ("cp_plans_31mar", "31/03/2017", D(2017, 3, 31), "31 Mar 2017"),
        ("cp_plans_31mar", "31-03-2017", D(2017, 3, 31), "31 Mar 2017"),
        ("cp_plans_31mar", "31.03.2017", D(2017, 3, 31), "31 Mar 2017"),
        ("cp_plans_31mar", "31/3/17", D(2017, 3, 31), "31 Mar 2017"),
        ("cp_plans_31mar", "2017-03-31", D(2017, 3, 31), "31 Mar 2017"),
        ("cp_plans_31mar", "2017-03-31 00:00:00", D(2017, 3, 31), "31 Mar 2017"),
        ("cp_plans_31mar", "31 March 2017", D(2017, 3, 31), "31 Mar 2017"),
        ("cp_plans_31mar", "31-Mar-17", D(2017, 3, 31), "31 Mar 2017"),
        ("cp_plans_31mar", "42825", D(2017, 3, 31), "31 Mar 2017"),  # Excel's serial number for 31/03/2017
        ("cp_plans_31mar", "2016-17", D(2017, 3, 31), "31 Mar 2017"),
        ("sw_agency_rate", "30/09/2017", D(2017, 9, 30), "30 Sep 2017"),
        ("sw_agency_rate", "2017", D(2017, 9, 30), "30 Sep 2017"),
        ("sw_turnover_rate", "30/09/2017", D(2017, 9, 30), "Year to 30 Sep 2017"),
        ("sw_agency_rate_local", "Mar 2017", D(2017, 3, 31), "Mar 2017"),
        ("sw_agency_rate_local", "March 2017", D(2017, 3, 31), "Mar 2017"),
        ("sw_agency_rate_local", "Sept 2016", D(2016, 9, 30), "Sep 2016"),
        ("sw_agency_rate_local", "2017-02", D(2017, 2, 28), "Feb 2017"),
        ("sw_agency_rate_local", "02/2016", D(2016, 2, 29), "Feb 2016"),
        ("sw_agency_rate_local", "2011-12", D(2011, 12, 31), "Dec 2011"),  # a month here, not a financial year
        ("sw_agency_rate_local", "31/08/2016", D(2016, 8, 31), "Aug 2016"),
        ("supervision_compliance", "2016-17 Q4", D(2017, 3, 31), "2016-17 Q4"),
        ("supervision_compliance", "Q4 2016-17", D(2017, 3, 31), "2016-17 Q4"),
        ("supervision_compliance", "Q1 2016/17", D(2016, 6, 30), "2016-17 Q1"),
        ("supervision_compliance", "2016-17 Q2", D(2016, 9, 30), "2016-17 Q2"),
        ("supervision_compliance", "2016-2017 q3", D(2016, 12, 31), "2016-17 Q3"),
        ("supervision_compliance", "30/06/2017", D(2017, 6, 30), "2017-18 Q1"),
        ("supervision_compliance", "Dec 2016", D(2016, 12, 31), "2016-17 Q3"),
    ],
)
def test_period_forms(registry, metric_id, period, end, label):
    agency = {"sw_agency_rate_local": "Thurrock Council", "supervision_compliance": "NELFT"}.get(metric_id, "")
    bd = ("supervision_type", "group") if metric_id == "supervision_compliance" else ("", "")
    ret = parse(csv_bytes(row(metric_id=metric_id, period=period, value="50", agency=agency, breakdown=bd[0],
                              breakdown_value=bd[1])), registry)
    assert ret.problems == [], [str(p) for p in ret.problems]
    (r,) = ret.rows
    assert (r["period_end"], r["period_label"]) == (end, label)


@pytest.mark.parametrize(
    "metric_id, period, words",
    [
        ("cp_started", "Mar 2017", "year to 31 March"),  # a month for a year_to_31_march metric
        ("cp_started", "2016-17 Q4", "year to 31 March"),
        ("cp_started", "30/09/2017", "year to 31 March"),
        ("cp_plans_31mar", "30/09/2017", "snapshot at 31 March"),
        ("cp_plans_31mar", "01/04/2017", "snapshot at 31 March"),
        ("sw_agency_rate", "2016-17", "30 September"),  # a financial year ends in March
        ("sw_agency_rate", "31/03/2017", "30 September"),
        ("sw_agency_rate_local", "15/03/2017", "monthly"),
        ("sw_agency_rate_local", "2016-17", "monthly"),
        ("supervision_compliance", "28/02/2017", "quarterly"),  # not a quarter end
        ("supervision_compliance", "Feb 2017", "quarterly"),
        ("supervision_compliance", "2016-17", "quarterly"),
    ],
)
def test_period_that_does_not_fit_the_metric(registry, metric_id, period, words):
    ret = parse(csv_bytes(row(metric_id=metric_id, period=period, value="5")), registry)
    p = one(ret)
    assert (p.code, p.row, p.column, p.value) == ("period_mismatch", 2, "period", period)
    assert words in p.rule and metric_id in p.rule
    assert ret.rows == []


@pytest.mark.parametrize("period", ["", "soon", "2016-18", "31/13/2017", "29/02/2017", "Q5 2016-17", "2017-13",
                                    "12345", "1800", "Smarch 2017", "31/03/1899"])
def test_unreadable_periods(registry, period):
    ret = parse(csv_bytes(row(period=period, value="5")), registry)
    p = one(ret)
    assert p.code == ("required_blank" if period == "" else "unreadable_period"), str(p)
    assert (p.row, p.column, p.value) == (2, "period", period)


def test_us_date_order_is_explained(registry):
    p = one(parse(csv_bytes(row(period="03/31/2017", value="5")), registry))
    assert "day/month/year" in p.rule and "31/03/2017" in p.rule


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "metric_id, cell, value",
    [
        ("cp_plans_31mar", "294", 294.0),
        ("cp_plans_31mar", '"1,234"', 1234.0),
        ("cp_plans_31mar", " 294 ", 294.0),
        ("cin_31mar", '"12,345.0"', 12345.0),
        ("training_compliance", "42%", 42.0),
        ("training_compliance", "42.5 %", 42.5),
        ("training_compliance", "94.47", 94.47),
        ("training_compliance", "0", 0.0),
        ("sickness_days_local", "4.32", 4.32),
    ],
)
def test_numbers_are_normalised(registry, metric_id, cell, value):
    agency = {"training_compliance": "NELFT", "sickness_days_local": "Thurrock Council"}.get(metric_id, "")
    period = "Mar 2017" if metric_id == "training_compliance" else "2016-17" if metric_id == "sickness_days_local" \
        else "31/03/2017"
    bd = ("training_level", "L1") if metric_id == "training_compliance" else ("", "")
    ret = parse(csv_bytes(row(metric_id=metric_id, period=period, value=cell, agency=agency, breakdown=bd[0],
                              breakdown_value=bd[1])), registry)
    assert ret.problems == [], [str(p) for p in ret.problems]
    assert ret.rows[0]["value"] == value and ret.rows[0]["status"] == ""


@pytest.mark.parametrize("symbol", ["c", "C", "k", "K", "x", "X", "z", "Z", "u", "U", ":", "low", "LOW", "Low", " c "])
def test_suppression_symbols_are_typed_missing_values_never_zero(registry, symbol):
    ret = parse(csv_bytes(row(value=symbol)), registry)
    assert ret.problems == []
    (r,) = ret.rows
    assert r["value"] is None and r["status"] == symbol.strip().lower()


def test_suppressed_numerator_keeps_its_denominator(registry):
    ret = parse(csv_bytes(row(metric_id="lac_out_of_borough_local", numerator="c", denominator="338")), registry)
    assert ret.problems == []
    (r,) = ret.rows
    assert (r["value"], r["status"], r["numerator"], r["denominator"]) == (None, "c", None, 338.0)


@pytest.mark.parametrize("cell", ["many", "nan", "inf", "-inf", "1.2.3", '"12,5"', "1 234", "£5", "0x10", "TRUE",
                                  "n/a", "-", "5 %%", "c%"])
def test_not_numbers(registry, cell):
    p = one(parse(csv_bytes(row(value=cell)), registry))
    assert (p.code, p.row, p.column) == ("not_a_number", 2, "value"), str(p)
    assert p.value == cell.strip('"')


@pytest.mark.parametrize("line, column", [
    (row(value="1e999"), "value"),
    (row(value="2000000000000"), "value"),
    (row(metric_id="cp_rate_31mar", numerator="285", denominator="1e-300"), "denominator"),
])
def test_numbers_too_large_to_be_real(registry, line, column):
    p = one(parse(csv_bytes(line), registry))
    assert (p.code, p.column) == ("out_of_range", column) and len(p.rule) < 200


def test_percent_sign_only_for_percentage_values(registry):
    ret = parse(csv_bytes(
        row(value="42%"),
        row(metric_id="lac_out_of_borough_local", numerator="20%", denominator="338"),
    ), registry)
    assert [(p.code, p.row, p.column) for p in ret.errors] == [("percent_not_allowed", 2, "value"),
                                                               ("percent_not_allowed", 3, "numerator")]


@pytest.mark.parametrize(
    "metric_id, num, den, places, scale",
    [
        ("cp_rate_31mar", "285", "41750", 1, 10_000),  # DfE's worked example: 68.3
        ("lac_out_of_borough_local", "203", "338", 1, 100),
        ("lac_placed_20_miles", "1", "8", 0, 100),  # 12.5 -> 13: half up, where round() gives 12
        ("training_compliance", "1889", "2000", 2, 100),
        ("sickness_days_local", "432", "100", 2, 1),
        ("lac_rate_31mar", "338", "41750", 0, 10_000),
    ],
)
def test_values_computed_from_parts(registry, metric_id, num, den, places, scale):
    agency = {"training_compliance": "NELFT", "sickness_days_local": "Thurrock Council"}.get(metric_id, "")
    period = {"training_compliance": "Mar 2017", "sickness_days_local": "2016-17"}.get(metric_id, "31/03/2017")
    bd = ("training_level", "L3") if metric_id == "training_compliance" else ("", "")
    ret = parse(csv_bytes(row(metric_id=metric_id, period=period, numerator=num, denominator=den, agency=agency,
                              breakdown=bd[0], breakdown_value=bd[1])), registry)
    assert ret.problems == [], [str(p) for p in ret.problems]
    (r,) = ret.rows
    assert r["value"] == half_up(Decimal(num) * scale / Decimal(den), places)
    assert (r["numerator"], r["denominator"], r["published_value"]) == (float(num), float(den), None)
    assert registry.metric(metric_id).decimals == places


def test_half_up_rounding_is_real():
    assert half_up(Decimal(1) * 100 / Decimal(8), 0) == 13.0 and round(12.5) == 12


@pytest.mark.parametrize(
    "value, warned",
    [("48.6", False), ("48.64", False), ("49", False), ("48", True), ("50", True), ("48.7", True), ("48.5", True)],
)
def test_value_and_parts_that_disagree_give_a_warning(registry, value, warned):
    # 143 / 294 = 48.639...%: a value agrees when it is that figure rounded to the places it is written with
    ret = parse(csv_bytes(row(metric_id="lac_out_of_borough_local", value=value, numerator="143",
                              denominator="294")), registry)
    assert ret.errors == []
    assert [p.code for p in ret.warnings] == (["value_mismatch"] if warned else [])
    if warned:
        assert "48.6" in ret.warnings[0].rule and ret.warnings[0].value == value
    assert ret.rows[0]["value"] == float(value)  # loaded as given


@pytest.mark.parametrize(
    "line, code, column, value",
    [
        (row(value="-1"), "negative", "value", "-1"),
        (row(metric_id="lac_out_of_borough_local", numerator="5", denominator="-10"), "negative", "denominator", "-10"),
        (row(metric_id="lac_out_of_borough_local", numerator="5", denominator="0"), "zero_denominator", "denominator",
         "0"),
        (row(metric_id="lac_out_of_borough_local", numerator="339", denominator="338"), "numerator_above_denominator",
         "numerator", "339"),
        (row(metric_id="lac_out_of_borough_local", value="100.1"), "percent_above_100", "value", "100.1"),
        (row(metric_id="lac_out_of_borough_local", numerator="5"), "no_value", "denominator", ""),
        (row(metric_id="lac_out_of_borough_local", denominator="5"), "no_value", "numerator", ""),
        (row(value=""), "no_value", "value", ""),
        (row(metric_id="lac_31mar", numerator="5", denominator="1"), "count_from_parts", "value", ""),
        (row(metric_id="", value="5"), "required_blank", "metric_id", ""),
        (row(area="999", value="5"), "unknown_area", "area", "999"),
        (row(area="", value="5"), "no_area", "area", ""),
    ],
)
def test_each_rule(registry, line, code, column, value):
    ret = parse(csv_bytes(row(metric_id="cin_cases_local", value="618"), line), registry)
    p = one(ret)
    assert (p.code, p.row, p.column, p.value, p.file) == (code, 3, column, value, "return.csv"), str(p)
    assert [r["metric_id"] for r in ret.rows] == ["cin_cases_local"]  # the good row is kept


def test_every_problem_in_the_file_is_reported_at_once(registry):
    ret = parse(csv_bytes(
        row(metric_id="nope", period="never", value="x1", area="000"),
        row(value="5"),
        row(metric_id="lac_out_of_borough_local", numerator="400", denominator="338"),
    ), registry)
    assert [(p.row, p.code) for p in ret.errors] == [
        (2, "unknown_metric"), (2, "unknown_area"), (2, "unreadable_period"), (2, "not_a_number"),
        (4, "numerator_above_denominator")]


def test_area_codes_map_to_gss(registry):
    ret = parse(csv_bytes(row(area="883", value="1"), row(area="e06000034", value="2", period="31/03/2016"),
                          row(area="202", value="3")), registry)
    assert ret.problems == []
    assert [r["area_code"] for r in ret.rows] == [THURROCK, THURROCK, "E09000007"]
    ret = parse(csv_bytes(row(area="", value="1")), registry, default_area="202")
    assert ret.rows[0]["area_code"] == "E09000007"


# --------------------------------------------------------------------------- metrics, breakdowns, agencies


def test_unknown_metric_suggests_ids_and_matches_short_titles(registry):
    ret = parse(csv_bytes(row(metric_id="cp_rate_31mr", value="1"), row(metric_id="CP plans at 31 Mar", value="1"),
                          row(metric_id="CP_PLANS_31MAR", value="5", period="31/03/2016")), registry)
    a, b = ret.errors
    assert "'cp_rate_31mar'" in a.suggestion
    assert "'cp_plans_31mar'" in b.suggestion  # found through the metric's short title
    assert [r["metric_id"] for r in ret.rows] == ["cp_plans_31mar"]  # an id in capitals is the id


def test_breakdown_codes_and_labels(registry):
    ret = parse(csv_bytes(
        row(metric_id="cp_by_category", numerator="143", denominator="294", breakdown="category_of_abuse",
            breakdown_value="Neglect"),
        row(metric_id="cp_by_category", numerator="151", denominator="294", breakdown="Category of abuse",
            breakdown_value="emo"),
        row(metric_id="cp_by_age", numerator="89", denominator="89", breakdown_value="0 - 4"),
    ), registry)
    assert ret.problems == [], [str(p) for p in ret.problems]
    assert [(r["breakdown"], r["breakdown_value"]) for r in ret.rows] == [
        ("category_of_abuse", "NEG"), ("category_of_abuse", "EMO"), ("age_band", "0-4")]


def test_breakdown_rules(registry):
    ret = parse(csv_bytes(
        row(metric_id="cp_by_category", numerator="1", denominator="2", breakdown="category_of_abuse",
            breakdown_value="Neglct"),
        row(metric_id="cp_by_category", numerator="1", denominator="2", breakdown="category_of_abuse"),
        row(metric_id="cp_by_category", numerator="1", denominator="2", breakdown="age_band", breakdown_value="17"),
        row(value="5", breakdown_value="NEG"),
    ), registry)
    assert [(p.row, p.code, p.column, p.value) for p in ret.errors] == [
        (2, "unknown_breakdown_value", "breakdown_value", "Neglct"),
        (3, "breakdown_value_missing", "breakdown_value", ""),
        (4, "breakdown_not_allowed", "breakdown", "age_band"),
        (5, "breakdown_not_allowed", "breakdown_value", "NEG"),
    ]
    assert "'NEG'" in ret.errors[0].suggestion


def test_agency_not_listed_is_a_warning_and_case_is_normalised(registry):
    ret = parse(csv_bytes(
        row(metric_id="training_compliance", period="Mar 2017", value="90", agency="nelft", breakdown="training_level",
            breakdown_value="L1"),
        row(metric_id="training_compliance", period="Mar 2017", value="90", agency="Kent Police",
            breakdown="training_level", breakdown_value="L1"),
        row(value="5", agency="Anyone"),  # cp_plans_31mar lists no agencies: any is fine
    ), registry)
    assert ret.ok
    w = one(ret, "warning")
    assert (w.code, w.row, w.value) == ("agency_not_listed", 3, "Kent Police")
    assert [r["agency"] for r in ret.rows] == ["NELFT", "Kent Police", "Anyone"]


def test_duplicates_name_both_rows_after_normalising(registry):
    ret = parse(csv_bytes(row(value="294"), row(period="2017-03-31", value="294", area="E06000034"),
                          row(period="31/03/2016", value="289")), registry)
    p = one(ret)
    assert (p.code, p.row) == ("duplicate_row", 3) and "row 2" in p.rule
    assert len(ret.rows) == 2


# --------------------------------------------------------------------------- breakdown totals

SMALL_REGISTRY = """
version: 1
topics: [{id: t, title: T}]
breakdowns:
  sex: {title: Sex, partition: true, values: {m: Male, f: Female}}
  level: {title: Level, partition: false, values: {a: A, b: B}}
metrics:
  - {id: kids, title: Kids, short_title: Kids, topic: t, definition: d, methodology: m, unit: count, decimals: 0,
     polarity: neutral, period_type: snapshot_31_march, source: s, breakdowns: [sex]}
  - {id: share, title: Share, short_title: Share, topic: t, definition: d, methodology: m, unit: percent,
     decimals: 0, polarity: neutral, period_type: snapshot_31_march, source: s, breakdowns: [sex, level],
     suppression: {rule: small_numbers, total_metric: kids}}
"""


def test_count_breakdown_against_the_total_row():
    reg = parse_registry(SMALL_REGISTRY)
    ok = parse(csv_bytes(row("kids", value="10"), row("kids", value="6", breakdown="sex", breakdown_value="m"),
                         row("kids", value="4", breakdown="sex", breakdown_value="f")), reg)
    assert ok.problems == []
    gap = parse(csv_bytes(row("kids", value="6", breakdown="sex", breakdown_value="m"),
                          row("kids", value="5", breakdown="sex", breakdown_value="f"),
                          row("kids", value="10")), reg)
    w = one(gap, "warning")
    assert (w.code, w.row, w.value) == ("breakdown_total", 2, "11")
    assert "11" in w.rule and "10" in w.rule and "row 4" in w.rule and "1 more" in w.rule
    assert gap.ok


def test_percentage_breakdowns_add_up_to_100_within_rounding_and_only_partitions():
    reg = parse_registry(SMALL_REGISTRY)
    assert parse(csv_bytes(row("share", value="51", breakdown="sex", breakdown_value="m"),
                           row("share", value="47", breakdown="sex", breakdown_value="f")), reg).problems != []
    assert parse(csv_bytes(row("share", value="50.5", breakdown="sex", breakdown_value="m"),
                           row("share", value="49.5", breakdown="sex", breakdown_value="f")), reg).problems == []
    # whole percentages may each be off by half a point: 50 + 51 = 101 is within 2 x 0.5
    assert parse(csv_bytes(row("share", value="50", breakdown="sex", breakdown_value="m"),
                           row("share", value="51", breakdown="sex", breakdown_value="f")), reg).problems == []
    # "level" is not a partition: each value is its own rate
    assert parse(csv_bytes(row("share", value="90", breakdown="level", breakdown_value="a"),
                           row("share", value="95", breakdown="level", breakdown_value="b")), reg).problems == []


def test_breakdown_with_different_denominators_is_flagged(registry):
    ret = parse(csv_bytes(
        row(metric_id="cp_by_category", numerator="150", denominator="294", breakdown="category_of_abuse",
            breakdown_value="NEG"),
        row(metric_id="cp_by_category", numerator="144", denominator="295", breakdown="category_of_abuse",
            breakdown_value="EMO"),
    ), registry)
    w = one(ret, "warning")
    assert w.code == "breakdown_denominators" and "294" in w.rule and "295" in w.rule


def test_no_total_warning_when_a_category_row_was_refused(registry):
    ret = parse(csv_bytes(
        row(metric_id="cp_by_category", numerator="150", denominator="294", breakdown="category_of_abuse",
            breakdown_value="NEG"),
        row(metric_id="cp_by_category", numerator="many", denominator="294", breakdown="category_of_abuse",
            breakdown_value="EMO"),
    ), registry)
    assert [p.code for p in ret.problems] == ["not_a_number"]


# --------------------------------------------------------------------------- file level


@pytest.mark.parametrize(
    "data, code",
    [
        (b"", "empty_file"),
        (b"   \r\n\r\n", "empty_file"),
        (b"\xef\xbb\xbf", "empty_file"),
        (b"\xef\xbb\xbf\r\n,,,\r\n", "empty_file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not_a_return"),
        (b"PK\x03\x04garbage", "unreadable_workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old_excel_format"),
        (HEADER.encode() + b"\n", "no_rows"),
        (b"\x81\x8d\x8f\x90\x9d" * 10, "not_a_return"),  # bytes that are neither UTF-8 nor Windows-1252
    ],
)
def test_file_level_problems_are_one_error(registry, data, code):
    ret = parse(data, registry)
    p = one(ret)
    assert p.code == code and p.file == "return.csv"
    assert ret.rows == [] and ret.targets == []


def test_missing_columns_are_named_in_one_problem(registry):
    ret = parse(csv_bytes("cp_plans_31mar,294", header="metric_id,numerator"), registry)
    p = one(ret)
    assert p.code == "missing_columns" and p.row == 1
    assert p.column == "period, denominator, area"
    # with a default area the area column may be left out
    ret = parse(csv_bytes("cp_plans_31mar,31/03/2017,294", header="metric_id,period,value"), registry,
                default_area="883")
    assert ret.ok and ret.rows[0]["area_code"] == THURROCK


def test_header_names_are_forgiving(registry):
    ret = parse(csv_bytes("cp_plans_31mar,2017-03-31,294,883",
                          header=" METRIC_ID , Period End ,Value,Area Code"), registry)
    assert ret.problems == [] and ret.rows[0]["value"] == 294.0
    dup = parse(csv_bytes("cp_plans_31mar,2017-03-31,294,883,1", header="metric_id,period,value,area,Value"), registry)
    assert one(dup).code == "duplicate_column"


def test_too_many_rows(registry):
    lines = [row(period=f"31/03/{2000 + i}", value=str(i)) for i in range(10)]
    assert parse(csv_bytes(*lines), registry, max_rows=10).ok
    ret = parse(csv_bytes(*lines), registry, max_rows=9)
    assert [p.code for p in ret.problems] == ["too_many_rows"] and ret.rows == []


def test_windows_1252_is_read_with_a_warning(registry):
    data = csv_bytes(row(value="294", note="Réunion – £5")).decode("utf-8").encode("cp1252")
    ret = parse(data, registry)
    w = one(ret, "warning")
    assert w.code == "encoding_cp1252" and w.row is None
    assert ret.ok and ret.encoding == "cp1252" and ret.rows[0]["note"] == "Réunion – £5"
    utf8 = parse(csv_bytes(row(value="294", note="Réunion – £5")), registry)
    assert utf8.problems == [] and utf8.rows[0]["note"] == "Réunion – £5"


def test_bom_crlf_blank_lines_and_semicolons(registry):
    text = "\ufeff" + HEADER + "\r\n\r\n" + row(value="294") + "\r\n,,,,,,,,,\r\n\r\n"
    ret = parse(text.encode("utf-8"), registry)
    assert ret.problems == [] and ret.rows[0]["row"] == 3  # the blank line is row 2, as Excel shows it
    semi = parse((HEADER.replace(",", ";") + "\n" + row(value="294").replace(",", ";") + "\n").encode(), registry)
    assert semi.problems == [] and semi.rows[0]["value"] == 294.0


def test_quoted_note_with_commas_and_line_breaks(registry):
    data = csv_bytes(row(value="294", note='"one, two\nthree"'), row(metric_id="lac_31mar", value="338"))
    ret = parse(data, registry)
    assert ret.problems == []
    assert ret.rows[0]["note"] == "one, two\nthree" and ret.rows[1]["row"] == 3


def test_row_with_more_cells_than_the_header(registry):
    ret = parse(csv_bytes(row(value="294"), "cin_31mar,31/03/2017,1,788,,,,,,883,"), registry)
    p = one(ret)
    assert (p.code, p.row) == ("too_many_fields", 3) and "1,788" in p.value


# --------------------------------------------------------------------------- workbooks


def test_workbook_cells_are_read_by_type(registry):
    head = COLUMNS
    data = workbook(
        {
            "Instructions": [["metric_id"], ["cp_plans_31mar"]],
            "NELFT": [head,
                      ["training_compliance", D(2017, 3, 31), 0.9447, None, None, "training_level", "L2", "NELFT", 883],
                      ["training_compliance", dt.datetime(2017, 3, 31), 96, None, None, "training_level", "L1",
                       "NELFT", 883.0, None, "a comment beside the table"],
                      [None],
                      ["supervision_compliance", 42825, 0.97, None, None, "supervision_type", "group", "NELFT", "883"]],
            "Blank": [],
            "Council": [head, ["cp_rate_31mar", "31/03/2017", None, 285, 41750, None, None, None, 883]],
        },
        formats={("NELFT", 2, 3): "0.00%", ("NELFT", 5, 3): "0%"},
    )
    ret = parse(data, registry, name="q4.xlsx")
    assert ret.file_type == "xlsx"
    assert ret.sheets == ["NELFT", "Council"] and ret.skipped_sheets == ["Instructions", "Blank"]
    assert [(p.code, p.sheet, p.row, p.column, p.value) for p in ret.problems] == [
        ("unheaded_cell", "NELFT", 3, "K", "a comment beside the table")]
    assert ret.ok
    l2, l1, sup, rate = ret.rows
    assert (l2["value"], l2["period_end"], l2["sheet"], l2["row"]) == (94.47, D(2017, 3, 31), "NELFT", 2)
    assert (l1["value"], l1["area_code"], l1["row"]) == (96.0, THURROCK, 3)
    assert (sup["value"], sup["period_end"], sup["row"]) == (97.0, D(2017, 3, 31), 5)
    assert rate["value"] == half_up(Decimal(285) * 10000 / Decimal(41750), 1) and rate["sheet"] == "Council"
    s = ret.summary()
    assert s["per_sheet"]["NELFT"]["rows"] == 3 and s["per_sheet"]["NELFT"]["warnings"] == 1
    assert s["per_sheet"]["Council"]["rows"] == 1


def test_workbook_problems_name_the_sheet(registry):
    data = workbook({"Police": [COLUMNS, ["training_compliance", "Mar 2017", "104%", None, None, "training_level",
                                          "L1", "Essex Police", 883],
                                ["training_compliance", "Mar 2017", True, None, None, "training_level", "L2",
                                 "Essex Police", 883],
                                ["training_compliance", D(2017, 3, 31), D(2017, 3, 31), None, None,
                                 "training_level", "L3", "Essex Police", 883]]})
    ret = parse(data, registry, name="police.xlsx")
    assert [(p.code, p.sheet, p.row, p.value) for p in ret.problems] == [
        ("percent_above_100", "Police", 2, "104%"), ("not_a_number", "Police", 3, "TRUE"),
        ("not_a_number", "Police", 4, "31/03/2017")]
    assert str(ret.problems[0]).startswith("police.xlsx, sheet 'Police', row 2, column 'value', value '104%'")


def test_workbook_with_only_skipped_sheets(registry):
    ret = parse(workbook({"readme": [["hello"]], "Notes": [["x"]], "Empty": []}), registry, name="w.xlsx")
    p = one(ret)
    assert p.code == "no_rows" and "readme" in p.rule and "Empty" in p.rule


def test_duplicates_across_sheets(registry):
    line = ["cp_plans_31mar", D(2017, 3, 31), 294, None, None, None, None, None, 883]
    ret = parse(workbook({"A": [COLUMNS, line], "B": [COLUMNS, [None], line]}), registry, name="w.xlsx")
    p = one(ret)
    assert (p.code, p.sheet, p.row) == ("duplicate_row", "B", 3) and "sheet 'A' row 2" in p.rule


# --------------------------------------------------------------------------- targets


def test_targets_file(registry):
    data = csv_bytes(
        "training_compliance,80,,,NELFT,CQC target,5,,",
        "training_compliance,85%,2017-18,,Essex Police,Board decision,10,relative,yes",
        "sw_agency_rate,20,,2020,,Illustrative: example,2,absolute,TRUE",
        "sw_agency_rate,15,2021,,,Illustrative: example,,,",
        header=",".join(TARGET_COLUMNS),
    )
    ret = parse(data, registry, name="targets.csv")
    assert ret.problems == [], [str(p) for p in ret.problems]
    assert ret.rows == []
    a, b, c, d = ret.targets
    assert a == {"metric_id": "training_compliance", "value": 80.0, "start": None, "end": None, "agency": "NELFT",
                 "source": "CQC target", "tolerance": 5.0, "tolerance_kind": "absolute", "illustrative": False,
                 "sheet": None, "row": 2}
    assert (b["value"], b["start"], b["tolerance_kind"], b["illustrative"]) == (85.0, D(2018, 3, 31), "relative", True)
    # a bare year is the metric's period end in that year: 30 September for workforce metrics
    assert (c["end"], d["start"], d["tolerance"], d["tolerance_kind"]) == (D(2020, 9, 30), D(2021, 9, 30), None, None)
    assert ret.summary()["targets"] == 4


def test_target_rules(registry):
    data = csv_bytes(
        "nope,80,,,,src,,,",
        "training_compliance,lots,,,NELFT,src,,,",
        "training_compliance,80,31/03/2018,31/03/2017,NELFT,src,,,",
        "training_compliance,80,,,NELFT,,,,",
        "training_compliance,101,,,Probation,src,,,",
        "training_compliance,80,,,Schools,src,-1,sideways,maybe",
        "training_compliance,80,,,Essex Police,src,,,",
        "training_compliance,82,31/03/2017,,essex police,src,,,",
        header=",".join(TARGET_COLUMNS),
    )
    ret = parse(data, registry)
    assert [(p.row, p.code, p.column) for p in ret.errors] == [
        (2, "unknown_metric", "metric_id"), (3, "not_a_number", "target"), (4, "from_after_to", "from"),
        (5, "required_blank", "source"), (6, "percent_above_100", "target"), (7, "negative", "tolerance"),
        (7, "bad_tolerance_kind", "tolerance_kind"), (7, "bad_illustrative", "illustrative"),
        (9, "target_overlap", "from")]
    assert "row 8" in ret.errors[-1].rule
    assert [t["row"] for t in ret.targets] == [8]


def test_targets_sheet_in_a_workbook(registry):
    data = workbook({"Data": [COLUMNS, ["cp_plans_31mar", D(2017, 3, 31), 294, None, None, None, None, None, 883]],
                     "TARGETS ": [["metric_id", "value", "start", "end", "source", "illustrative"],
                                  ["supervision_compliance", 0.85, D(2017, 4, 1), None, "KPI", False]]},
                    formats={("TARGETS ", 2, 2): "0%"})
    ret = parse(data, registry, name="w.xlsx")
    assert ret.problems == [], [str(p) for p in ret.problems]
    (t,) = ret.targets
    assert (t["value"], t["start"], t["sheet"], t["row"]) == (85.0, D(2017, 4, 1), "TARGETS ", 2)
    assert len(ret.rows) == 1


# --------------------------------------------------------------------------- templates

TEMPLATE_PERIODS = {"31/03/2017": D(2017, 3, 31), "Aug 2016": D(2016, 8, 31), "Jun 2017": D(2017, 6, 30),
                    "2016-17": D(2017, 3, 31), "Mar 2017": D(2017, 3, 31), "2016-17 Q4": D(2017, 3, 31)}


def _expected_value(rec: dict, registry) -> float:
    if rec["value"]:
        return float(rec["value"].rstrip("%"))
    m = registry.metric(rec["metric_id"])
    return half_up(Decimal(rec["numerator"]) * 100 / Decimal(rec["denominator"]), m.decimals)


def test_csv_template_round_trip(registry):
    path = TEMPLATES / "return_template.csv"
    records = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert len(records) >= 10
    ret = parse(path.read_bytes(), registry, name=path.name)
    assert ret.problems == [], [str(p) for p in ret.problems]
    assert len(ret.rows) == len(records)
    for rec, r in zip(records, ret.rows):
        assert r["metric_id"] == rec["metric_id"]
        assert r["period_end"] == TEMPLATE_PERIODS[rec["period"]]
        assert r["value"] == _expected_value(rec, registry)
        assert (r["breakdown"], r["breakdown_value"], r["agency"], r["note"]) == (
            rec["breakdown"], rec["breakdown_value"], rec["agency"], rec["note"])
        assert r["area_code"] == CODES[rec["area"]]


def test_targets_template_round_trip(registry):
    path = TEMPLATES / "targets_template.csv"
    records = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    ret = parse(path.read_bytes(), registry, name=path.name)
    assert ret.problems == [] and ret.rows == []
    assert [(t["metric_id"], t["value"], t["agency"] or "", t["source"], t["illustrative"]) for t in ret.targets] == [
        (r["metric_id"], float(r["target"]), r["agency"], r["source"], r["illustrative"] == "yes") for r in records]
    # the targets agree with the registry's own targets for the same metric and agency
    for t in ret.targets:
        reg_values = {(x.value, x.agency) for x in registry.metric(t["metric_id"]).targets}
        assert (t["value"], t["agency"]) in reg_values


def test_workbook_template_round_trip(registry):
    path = TEMPLATES / "return_template.xlsx"
    wb = openpyxl.load_workbook(path, data_only=True)
    data_sheets = [ws for ws in wb.worksheets if ws.title.lower() not in ("readme", "targets")]
    expected = []
    for ws in data_sheets:
        header = [c.value for c in ws[1]]
        for cells in ws.iter_rows(min_row=2):
            if all(c.value is None for c in cells):
                continue
            rec = {h: c for h, c in zip(header, cells)}
            v = rec["value"]
            value = (round(v.value * 100, 4) if "%" in v.number_format else v.value) if v.value is not None else None
            expected.append((ws.title, rec["metric_id"].value, value))
    ret = parse(path.read_bytes(), registry, name=path.name)
    assert ret.problems == [], [str(p) for p in ret.problems]
    assert ret.sheets == [ws.title for ws in data_sheets] + ["targets"] and ret.skipped_sheets == ["readme"]
    got = [(r["sheet"], r["metric_id"], r["value"] if r["numerator"] is None else None) for r in ret.rows]
    assert got == expected
    # the workbook and the CSV template hold the same figures
    csv_ret = parse((TEMPLATES / "return_template.csv").read_bytes(), registry)
    key = ("metric_id", "period_end", "value", "breakdown_value", "agency", "area_code")
    assert sorted(tuple(r[k] for k in key) for r in ret.rows) == sorted(tuple(r[k] for k in key) for r in csv_ret.rows)
    assert len(ret.targets) == len(parse((TEMPLATES / "targets_template.csv").read_bytes(), registry).targets)


# --------------------------------------------------------------------------- the documentation


def _doc_blocks() -> list[str]:
    text = (Path(__file__).resolve().parents[2] / "docs" / "data-format.md").read_text(encoding="utf-8")
    return [b.split("```", 1)[0] for b in text.split("```csv\n")[1:]]


def test_the_documented_examples_load_cleanly(registry):
    data_example, targets_example = _doc_blocks()
    ret = parse(data_example.encode(), registry)
    assert ret.problems == [], [str(p) for p in ret.problems]
    assert len(ret.rows) == len(data_example.strip().splitlines()) - 1
    assert {r["status"] for r in ret.rows} == {"", "c"}
    ret = parse(targets_example.encode(), registry)
    assert ret.problems == [] and len(ret.targets) == 3


def test_the_documented_rule_table_matches_the_codes():
    text = (Path(__file__).resolve().parents[2] / "docs" / "data-format.md").read_text(encoding="utf-8")
    documented = {line.split("`")[1] for line in text.splitlines() if line.startswith("| `") and
                  line.split("|")[2].strip() in ("error", "warning")}
    assert documented == set(RULES)


def test_an_unknown_default_area_is_one_error_for_the_file(registry):
    ret = parse(csv_bytes(row(area="", value="1"), row(area="", value="2", period="31/03/2016"),
                          row(area="883", value="3", period="31/03/2015")), registry, default_area="Thurrock")
    p = one(ret)
    assert (p.code, p.row, p.value) == ("unknown_area", None, "") and "'Thurrock'" in p.rule
    assert [r["value"] for r in ret.rows] == [3.0]
