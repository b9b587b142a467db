"""Local returns: every rule gives a problem that names the file, row, column, value and rule."""
from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest

from dashboard.importers.local_return import COLUMNS, read_local_return

THURROCK = "E06000034"
CODES = {"883": THURROCK, THURROCK: THURROCK, "202": "E09000007", "E09000007": "E09000007"}
HEADER = ",".join(COLUMNS)


def write(tmp_path, *lines, name="return.csv", header=HEADER):
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def row(metric_id="cp_plans_31mar", area="883", period_end="2017-03-31", agency="", breakdown="", breakdown_value="",
        value="", numerator="", denominator="", note=""):
    return ",".join([metric_id, area, period_end, agency, breakdown, breakdown_value, value, numerator, denominator,
                     note])


@pytest.mark.parametrize(
    "line, column, value, rule_words",
    [
        (row(metric_id="cp_plans", value="3"), "metric_id", "cp_plans", "not a metric id"),
        (row(area="999", value="3"), "area", "999", "area code"),
        (row(area="E12000006x", value="3"), "area", "E12000006x", "area code"),
        (row(period_end="31/03/2017", value="3"), "period_end", "31/03/2017", "YYYY-MM-DD"),
        (row(period_end="2017-02-30", value="3"), "period_end", "2017-02-30", "YYYY-MM-DD"),
        (row(value="many"), "value", "many", "not a number"),
        (row(value="nan"), "value", "nan", "not a number"),
        (row(value="inf"), "value", "inf", "not a number"),
        (row(value='"12,5"'), "value", "12,5", "thousands separators"),
        (row(metric_id="cp_by_category", breakdown="category_of_abuse", breakdown_value="NEG", numerator="abc",
             denominator="294"), "numerator", "abc", "not a number"),
        (row(metric_id="cp_by_category", breakdown="category_of_abuse", breakdown_value="NEG", numerator="143",
             denominator="n/a"), "denominator", "n/a", "not a number"),
        (row(breakdown="age_band", breakdown_value="0-4", value="89"), "breakdown", "age_band", "no breakdown"),
        (row(metric_id="cp_by_age", breakdown="age_band", breakdown_value="18+", numerator="5", denominator="294"),
         "breakdown_value", "18+", "not one of"),
        (row(metric_id="cp_by_category", breakdown="category_of_abuse", breakdown_value="NEG", numerator="143",
             denominator="0"), "denominator", "0", "greater than zero"),
        (row(metric_id="cp_by_category", breakdown="category_of_abuse", breakdown_value="NEG", numerator="-1",
             denominator="294"), "numerator", "-1", "negative"),
        (row(metric_id="cp_by_category", breakdown="category_of_abuse", breakdown_value="NEG", numerator="300",
             denominator="294"), "numerator", "300", "greater than the denominator"),
        (row(metric_id="training_compliance", agency="NELFT", breakdown="training_level", breakdown_value="L1",
             value="100.5"), "value", "100.5", "above 100"),
        (row(value="-3"), "value", "-3", "negative"),
        (row(value=""), "value", "", "give a value"),
        (row(metric_id="cp_rate_31mar", numerator="285"), "value", "", "give a value"),
    ],
)
def test_each_rule_gives_a_problem(tmp_path, registry, line, column, value, rule_words):
    good = row(metric_id="cin_cases_local", value="618")
    path = write(tmp_path, good, line, name="bad_return.csv")
    ret = read_local_return(path, registry, CODES)
    assert len(ret.errors) == 1, [str(p) for p in ret.problems]
    (p,) = ret.errors
    assert (p.file, p.row, p.column, p.value) == ("bad_return.csv", 3, column, value)
    assert rule_words in p.rule
    text = str(p)
    for part in ("bad_return.csv", "row 3", f"'{column}'", repr(value), p.rule):
        assert part in text
    # the bad row is left out, the good one kept
    assert [r["metric_id"] for r in ret.rows] == ["cin_cases_local"]


def test_missing_header_columns(tmp_path, registry):
    header = "metric_id,area,period_end,value,note"
    path = write(tmp_path, "cp_plans_31mar,883,2017-03-31,3,", header=header, name="short.csv")
    ret = read_local_return(path, registry, CODES)
    (p,) = ret.errors
    assert (p.file, p.row) == ("short.csv", 1)
    for col in ("agency", "breakdown", "breakdown_value", "numerator", "denominator"):
        assert col in p.column
    assert "missing" in p.rule
    assert ret.rows == []


def test_row_with_more_fields_than_the_header(tmp_path, registry):
    # "1,234" unquoted spills into the next column: refused, not read as value 1 and numerator 234
    path = write(tmp_path, "cp_plans_31mar,883,2017-03-31,,,,1,234,,,", name="spill.csv")
    ret = read_local_return(path, registry, CODES)
    (p,) = ret.errors
    assert p.row == 2
    assert "1,234" in p.value
    assert "fields" in p.rule
    assert ret.rows == []


def test_the_same_cell_twice(tmp_path, registry):
    path = write(tmp_path, row(value="289"), row(value="294"), name="dup.csv")
    ret = read_local_return(path, registry, CODES)
    (p,) = ret.errors
    assert p.row == 3 and "row 2" in p.rule
    assert [r["value"] for r in ret.rows] == [289.0]
    # the same metric and period in different cells is fine
    path = write(tmp_path, row(value="289"), row(area="202", value="151"), name="ok.csv")
    assert read_local_return(path, registry, CODES).errors == []


def test_several_problems_collected(tmp_path, registry):
    path = write(tmp_path, row(metric_id="nope", value="1"), row(area="000", value="1"), row(value="x"), name="m.csv")
    ret = read_local_return(path, registry, CODES)
    assert [(p.row, p.column) for p in ret.errors] == [(2, "metric_id"), (3, "area"), (4, "value")]


def _half_up(x: Decimal, places: int) -> float:
    return float(x.quantize(Decimal(1).scaleb(-places), rounding="ROUND_HALF_UP"))


def test_valid_file_gives_rows_with_computed_values(tmp_path, registry):
    path = write(
        tmp_path,
        row(metric_id="cp_by_category", breakdown="category_of_abuse", breakdown_value="NEG", numerator="143",
            denominator="294", note="Report: 143 (48%)"),
        row(metric_id="cp_rate_31mar", numerator="285", denominator='"41,750"'),
        row(metric_id="cin_31mar", area="E06000034", value='"1,788"'),
        row(metric_id="training_compliance", agency=" NELFT ", breakdown="training_level", breakdown_value="L2",
            value="94.47"),
        "",
        ",,,,,,,,,",
        row(metric_id="sickness_days_local", period_end="2017-03-31", agency="Thurrock Council", value="4.32"),
        name="valid.csv",
    )
    ret = read_local_return(path, registry, CODES)
    assert ret.problems == []
    assert len(ret.rows) == 5
    neg, rate, cin, training, sickness = ret.rows
    assert neg["value"] == _half_up(Decimal(143) * 100 / Decimal(294), 1) == 48.6
    assert (neg["numerator"], neg["denominator"], neg["published_value"]) == (143.0, 294.0, None)
    assert (neg["breakdown"], neg["breakdown_value"], neg["note"]) == ("category_of_abuse", "NEG", "Report: 143 (48%)")
    # 285 / 41,750 x 10,000 = 68.26... -> 68.3 (the DfE README's worked example)
    assert rate["value"] == _half_up(Decimal(285) * 10000 / Decimal(41750), 1) == 68.3
    assert rate["denominator"] == 41750.0
    assert cin["value"] == 1788.0 and cin["published_value"] == 1788.0
    assert training["agency"] == "NELFT" and training["value"] == 94.47
    assert sickness["value"] == 4.32
    for r in ret.rows:
        assert r["area_code"] == THURROCK
        assert r["period_end"] == dt.date(2017, 3, 31)
        assert r["status"] == ""
        assert r["source_key"] == "local/valid.csv"
    assert ret.source["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert ret.source["kind"] == "local_return"


def test_value_that_disagrees_with_its_parts_is_a_warning(tmp_path, registry):
    path = write(tmp_path, row(metric_id="cp_by_category", breakdown="category_of_abuse", breakdown_value="NEG",
                               value="50", numerator="143", denominator="294"), name="w.csv")
    ret = read_local_return(path, registry, CODES)
    assert ret.errors == []
    (w,) = ret.warnings
    assert w.column == "value" and w.value == "50" and "48.6" in w.rule
    assert ret.rows[0]["value"] == 50.0  # shown as given


def test_the_seed_return_reads_cleanly(registry, dfe):
    lines = [r for r in dfe.read_csv_rows(dfe.local_csv) if any(v.strip() for v in r.values())]
    ret = read_local_return(dfe.local_csv, registry, CODES)
    assert ret.problems == []
    assert len(ret.rows) == len(lines)
    assert ret.source["key"] == "local/thurrock_lscb_2016_17.csv"
    assert ret.source["publisher"] == "Thurrock LSCB"
    by_cell = {(r["metric_id"], r["period_end"], r["breakdown_value"]): r for r in ret.rows}
    # "203 of the 338" placed outside the borough: a percentage computed from the counts
    oob = by_cell[("lac_out_of_borough_local", dt.date(2017, 3, 31), "")]
    assert oob["value"] == _half_up(Decimal(203) * 100 / Decimal(338), 1)
    assert by_cell[("cp_plans_31mar", dt.date(2017, 3, 31), "")]["value"] == 294.0


def test_no_sidecar_gives_default_provenance(tmp_path, registry):
    path = write(tmp_path, row(value="3"), name="plain.csv")
    ret = read_local_return(path, registry, CODES)
    assert ret.source["key"] == "local/plain.csv"
    assert ret.source["title"] == "plain.csv"


def test_sidecar_provenance(tmp_path, registry):
    path = write(tmp_path, row(value="3"), name="q1.csv")
    (tmp_path / "q1.source.yaml").write_text("key: local/q1-2017\ntitle: Quarter 1 return\npublisher: Thurrock LSCB\n")
    ret = read_local_return(path, registry, CODES)
    assert (ret.source["key"], ret.source["title"], ret.source["publisher"]) == (
        "local/q1-2017", "Quarter 1 return", "Thurrock LSCB")
    assert ret.rows[0]["source_key"] == "local/q1-2017"


def test_byte_order_mark_is_ignored(tmp_path, registry):
    path = tmp_path / "bom.csv"
    path.write_text(HEADER + "\n" + row(value="3") + "\n", encoding="utf-8-sig")
    ret = read_local_return(path, registry, CODES)
    assert ret.problems == [] and len(ret.rows) == 1
