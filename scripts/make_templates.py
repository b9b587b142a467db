"""Write the blank-ish return templates in data/templates/ from one list of example rows.

    python scripts/make_templates.py            # from the repository root

Writes ``return_template.csv``, ``targets_template.csv`` and ``return_template.xlsx`` (a
"readme" sheet with the instructions and the metric list, one sheet per agency, and a "targets"
sheet), and the monthly demand templates ``demand_template.csv`` and ``demand_template.xlsx``
(a "readme" sheet and a "demand" sheet: one row per month, one column per demand measure, the
months and area filled in and the figures left blank to fill). The example figures are real
ones from the Thurrock LSCB annual report 2016-17 (the seed report), so a template read back
gives rows that are true. The workbook is written with fixed timestamps, so regenerating it
without changes gives the same bytes.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard.config import DEFAULT_DATA_DIR  # noqa: E402
from dashboard.importers.returns import COLUMNS, TARGET_COLUMNS  # noqa: E402
from dashboard.registry import load_registry  # noqa: E402

OUT = DEFAULT_DATA_DIR / "templates"
FIXED_TIME = dt.datetime(2017, 3, 31, 12, 0, 0)
D = dt.date
SEED = "LSCB annual report 2016-17"

# (sheet, metric_id, period, value, numerator, denominator, breakdown, breakdown_value, agency, area, note)
# period: a date, or text as an analyst would type it. value: a number, or text such as "42%".
EXAMPLES = [
    ("Thurrock Council", "cp_plans_31mar", D(2017, 3, 31), 294, None, None, "", "", "", "883",
     f"Example ({SEED}): children on a plan, April 2017"),
    ("Thurrock Council", "cp_by_gender", D(2017, 3, 31), "51%", None, None, "gender", "male", "", "883",
     f"Example ({SEED}): percentages only"),
    ("Thurrock Council", "cp_by_gender", D(2017, 3, 31), "48%", None, None, "gender", "female", "", "883",
     f"Example ({SEED})"),
    ("Thurrock Council", "cp_by_gender", D(2017, 3, 31), "1%", None, None, "gender", "unborn", "", "883",
     f"Example ({SEED})"),
    ("Thurrock Council", "lac_31mar", D(2017, 3, 31), 338, None, None, "", "", "", "883", f"Example ({SEED})"),
    ("Thurrock Council", "lac_out_of_borough_local", D(2017, 3, 31), None, 203, 338, "", "", "", "883",
     f"Example ({SEED}): the value is computed from the numerator and denominator"),
    ("Thurrock Council", "uasc_31mar", D(2017, 3, 31), 57, None, None, "", "", "", "883", f"Example ({SEED})"),
    ("Thurrock Council", "cin_cases_local", D(2017, 3, 31), 618, None, None, "", "", "", "883", f"Example ({SEED})"),
    ("Thurrock Council", "sw_agency_rate_local", "Aug 2016", "42%", None, None, "", "", "Thurrock Council", "883",
     f"Example ({SEED}): a monthly figure"),
    ("Thurrock Council", "sw_agency_rate_local", "Jun 2017", "28%", None, None, "", "", "Thurrock Council", "883",
     f"Example ({SEED})"),
    ("Thurrock Council", "sw_turnover_local", "2016-17", 7.8, None, None, "", "", "Thurrock Council", "883",
     f"Example ({SEED}): a financial year"),
    ("Thurrock Council", "sickness_days_local", "2016-17", 4.32, None, None, "", "", "Thurrock Council", "883",
     f"Example ({SEED})"),
    ("NELFT", "training_compliance", "Mar 2017", "96%", None, None, "training_level", "L1", "NELFT", "883",
     f"Example ({SEED}): Thurrock staff"),
    ("NELFT", "training_compliance", "Mar 2017", "94.47%", None, None, "training_level", "L2", "NELFT", "883",
     f"Example ({SEED})"),
    ("NELFT", "training_compliance", "Mar 2017", "95.08%", None, None, "training_level", "L3", "NELFT", "883",
     f"Example ({SEED})"),
    ("NELFT", "training_compliance", "Mar 2017", "96.73%", None, None, "training_level", "PREVENT1", "NELFT", "883",
     f"Example ({SEED})"),
    ("NELFT", "training_compliance", "Mar 2017", "92.74%", None, None, "training_level", "PREVENT2", "NELFT", "883",
     f"Example ({SEED})"),
    ("NELFT", "supervision_compliance", "2016-17 Q4", "97%", None, None, "supervision_type", "group", "NELFT", "883",
     f"Example ({SEED}): a quarter"),
    ("NELFT", "supervision_compliance", "2016-17 Q4", "97%", None, None, "supervision_type", "individual", "NELFT",
     "883", f"Example ({SEED})"),
]

# metric_id, target, from, to, agency, source, tolerance, tolerance_kind, illustrative
TARGETS = [
    ("training_compliance", 80, None, None, "NELFT", "CQC target for safeguarding training (NELFT, seed report)", 5,
     "absolute", "no"),
    ("training_compliance", 95, None, None, "Probation", "Probation aim: 95% of workforce trained (seed report)", 5,
     "absolute", "no"),
    ("supervision_compliance", 85, None, None, "NELFT", "NELFT safeguarding supervision KPI (seed report)", 5,
     "absolute", "no"),
    ("sickness_days_local", 9, None, None, "",
     "Thurrock Council sickness target, days per employee (seed report)", 1, "absolute", "no"),
    ("sw_agency_rate", 20, None, D(2020, 9, 29), "",
     "Illustrative: a first step towards the England figure; set your own local target", 2, "absolute", "yes"),
    ("sw_agency_rate", 15, D(2020, 9, 30), None, "",
     "Illustrative: around the England figure at 30 September 2020; set your own local target", 2, "absolute",
     "yes"),
]

INSTRUCTIONS = [
    "Performance-framework return: how to fill it in",
    "",
    "One figure per row. Each agency (or topic) may have its own sheet; every sheet has the same columns.",
    "Sheets named readme, notes or instructions are not read. Empty sheets are skipped.",
    "The sheet named targets holds targets (columns: " + ", ".join(TARGET_COLUMNS) + ").",
    "",
    "Columns: " + ", ".join(COLUMNS),
    "metric_id: an id from the list below (data/metrics.yaml).",
    "period: a date (31/03/2017), a financial year (2016-17), a month (Mar 2017) or a quarter (2016-17 Q4),",
    "        as the metric's period type below requires.",
    "value: the figure, in the metric's unit (a percentage as 42.5 or 42.5%). Or leave it blank and give",
    "       numerator and denominator: the value is then computed. Suppressed or missing: c, k, x, z, u, low or :.",
    "breakdown / breakdown_value: only for metrics with a breakdown (codes below); blank for the total.",
    "agency: the agency the figure is for; blank for the whole authority.",
    "area: the DfE code (883) or GSS code (E06000034) of the authority.",
    "note: where the figure came from, caveats. Shown beside the figure.",
    "",
    "The example rows are real figures from the Thurrock LSCB annual report 2016-17: replace them with yours.",
    "A file with any error is refused whole, with every problem listed (sheet, row, column, value, rule).",
]


def csv_text(header: list[str], rows: list[list[object]]) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else (v.strftime("%d/%m/%Y") if isinstance(v, dt.date) else v) for v in r])
    return buf.getvalue()


def return_csv() -> str:
    return csv_text(COLUMNS, [list(r[1:]) for r in EXAMPLES])


def targets_csv() -> str:
    return csv_text(TARGET_COLUMNS, [list(t) for t in TARGETS])


def _percent_cell(cell, value: object) -> None:
    """A "42%" example as Excel holds it: the fraction 0.42 formatted as a percentage."""
    text = str(value)
    places = len(text.rstrip("%").partition(".")[2])
    cell.value = round(float(text.rstrip("%")) / 100, places + 2)
    cell.number_format = "0" + ("." + "0" * places if places else "") + "%"


def return_workbook() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    registry = load_registry(DEFAULT_DATA_DIR / "metrics.yaml")
    wb = Workbook()
    readme = wb.active
    readme.title = "readme"
    for i, line in enumerate(INSTRUCTIONS, start=1):
        readme.cell(row=i, column=1, value=line)
    readme["A1"].font = Font(bold=True, size=14)
    first = len(INSTRUCTIONS) + 2
    head = ["metric_id", "short title", "unit", "decimals", "period type", "breakdowns", "agencies"]
    for j, h in enumerate(head, start=1):
        readme.cell(row=first, column=j, value=h).font = Font(bold=True)
    for i, m in enumerate(registry.metrics, start=first + 1):
        for j, v in enumerate([m.id, m.short_title, m.unit.value, m.decimals, m.period_type.value,
                               ", ".join(m.breakdowns), ", ".join(m.agencies)], start=1):
            readme.cell(row=i, column=j, value=v)
    last_metric = first + len(registry.metrics)
    row = last_metric + 2
    readme.cell(row=row, column=1, value="breakdown").font = Font(bold=True)
    readme.cell(row=row, column=2, value="breakdown_value").font = Font(bold=True)
    readme.cell(row=row, column=3, value="meaning").font = Font(bold=True)
    for key, b in registry.breakdowns.items():
        for code, label in b.values.items():
            row += 1
            readme.cell(row=row, column=1, value=key)
            readme.cell(row=row, column=2, value=code).number_format = "@"
            readme.cell(row=row, column=3, value=label)
    for col, width in zip("ABCDEFG", (28, 30, 16, 9, 22, 20, 50)):
        readme.column_dimensions[col].width = width

    widths = {"metric_id": 26, "period": 13, "value": 10, "numerator": 11, "denominator": 12, "breakdown": 17,
              "breakdown_value": 16, "agency": 17, "area": 8, "note": 60}
    sheets = list(dict.fromkeys(r[0] for r in EXAMPLES))
    for name in sheets:
        ws = wb.create_sheet(name)
        for j, h in enumerate(COLUMNS, start=1):
            c = ws.cell(row=1, column=j, value=h)
            c.font = Font(bold=True)
            ws.column_dimensions[c.column_letter].width = widths[h]
        ws.freeze_panes = "A2"
        rows = [r for r in EXAMPLES if r[0] == name]
        for i, r in enumerate(rows, start=2):
            for j, (h, v) in enumerate(zip(COLUMNS, r[1:]), start=1):
                c = ws.cell(row=i, column=j)
                if v is None or v == "":
                    continue
                if isinstance(v, dt.date):
                    c.value, c.number_format = v, "dd/mm/yyyy"
                elif isinstance(v, str) and v.endswith("%"):
                    _percent_cell(c, v)
                else:
                    c.value = v
                    if h in ("period", "breakdown_value", "area"):
                        c.number_format = "@"
                if h == "note":
                    c.alignment = Alignment(wrap_text=False)
        # typed codes such as 5-11 must stay text, not become dates
        for i in range(len(rows) + 2, 201):
            for h in ("period", "breakdown_value", "area"):
                ws.cell(row=i, column=COLUMNS.index(h) + 1).number_format = "@"
        dv = DataValidation(type="list", formula1=f"readme!$A${first + 1}:$A${last_metric}", allow_blank=True,
                            showErrorMessage=True, errorTitle="Unknown metric",
                            error="Choose a metric id from the list on the readme sheet.")
        dv.add("A2:A200")
        ws.add_data_validation(dv)

    ws = wb.create_sheet("targets")
    for j, h in enumerate(TARGET_COLUMNS, start=1):
        c = ws.cell(row=1, column=j, value=h)
        c.font = Font(bold=True)
    for i, t in enumerate(TARGETS, start=2):
        for j, v in enumerate(t, start=1):
            if v is None or v == "":
                continue
            c = ws.cell(row=i, column=j, value=v)
            if isinstance(v, dt.date):
                c.number_format = "dd/mm/yyyy"
    for col, width in zip("ABCDEFGHI", (26, 8, 12, 12, 17, 70, 10, 15, 12)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"

    wb.properties.creator = "safeguarding-dashboard scripts/make_templates.py"
    wb.properties.lastModifiedBy = None
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    buf = io.BytesIO()
    wb.save(buf)
    return reproducible_zip(buf.getvalue())


#: The months the demand templates list (the figures are left blank: there are no real monthly examples).
DEMAND_MONTHS = [dt.date(2025 + (m + 3) // 12, (m + 3) % 12 + 1, 1) for m in range(12)]

DEMAND_INSTRUCTIONS = [
    "Monthly demand return: how to fill it in",
    "",
    "One row per month, one column per measure (the sheet named demand). Columns: month, area, then the",
    "measures by metric id (the 'demand_' may be left off: referrals is demand_referrals), and an optional note.",
    "month: Mar 2025, 2025-03, 03/2025 or the month's last day 31/03/2025. Every month once, none missing,",
    "       none that has not ended yet.",
    "A flow (contacts, referrals, assessments ...) is the count in the month; a stock (children on a plan, in",
    "need, looked after; FTE; vacancies; caseload) is the figure on the last day of the month.",
    "Percentages as 87.5 or 87.5%. A figure not available: x. A suppressed small number: c.",
    "A blank cell means the measure is not given that month: a blank between two months with figures is a",
    "gap and refuses the file (write x instead). A measure may start or stop part-way through.",
    "The months replace the illustrative ones for the area on the demand page. The 12 months to 31 March are",
    "checked against DfE's published figure for the year where there is one (a warning, not an error).",
]


def demand_header(registry) -> list[str]:
    return ["month", "area"] + [m.id for m in registry.by_topic("demand")] + ["note"]


def demand_csv() -> str:
    header = demand_header(load_registry(DEFAULT_DATA_DIR / "metrics.yaml"))
    return csv_text(header, [[f"{d:%b %Y}", "883"] + [""] * (len(header) - 2) for d in DEMAND_MONTHS])


def demand_workbook() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    registry = load_registry(DEFAULT_DATA_DIR / "metrics.yaml")
    wb = Workbook()
    readme = wb.active
    readme.title = "readme"
    for i, line in enumerate(DEMAND_INSTRUCTIONS, start=1):
        readme.cell(row=i, column=1, value=line)
    readme["A1"].font = Font(bold=True, size=14)
    first = len(DEMAND_INSTRUCTIONS) + 2
    for j, h in enumerate(["column", "measure", "unit", "decimals"], start=1):
        readme.cell(row=first, column=j, value=h).font = Font(bold=True)
    for i, m in enumerate(registry.by_topic("demand"), start=first + 1):
        for j, v in enumerate([m.id, m.short_title, m.unit.value, m.decimals], start=1):
            readme.cell(row=i, column=j, value=v)
    readme.column_dimensions["A"].width = 30
    readme.column_dimensions["B"].width = 40
    ws = wb.create_sheet("demand")
    header = demand_header(registry)
    for j, h in enumerate(header, start=1):
        c = ws.cell(row=1, column=j, value=h)
        c.font = Font(bold=True)
        ws.column_dimensions[c.column_letter].width = max(10, len(h) + 2)
    for i, d in enumerate(DEMAND_MONTHS, start=2):
        ws.cell(row=i, column=1, value=f"{d:%b %Y}").number_format = "@"
        ws.cell(row=i, column=2, value="883").number_format = "@"
    for i in range(len(DEMAND_MONTHS) + 2, 201):
        ws.cell(row=i, column=1).number_format = "@"
        ws.cell(row=i, column=2).number_format = "@"
    ws.freeze_panes = "C2"
    wb.properties.creator = "safeguarding-dashboard scripts/make_templates.py"
    wb.properties.lastModifiedBy = None
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    buf = io.BytesIO()
    wb.save(buf)
    return reproducible_zip(buf.getvalue())


def reproducible_zip(data: bytes) -> bytes:
    """The same zip with every entry's timestamp fixed, so that equal content gives equal bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>", body)
            dst.writestr(fixed, body)
    return out.getvalue()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "return_template.csv").write_bytes(return_csv().encode("utf-8"))
    (OUT / "targets_template.csv").write_bytes(targets_csv().encode("utf-8"))
    (OUT / "return_template.xlsx").write_bytes(return_workbook())
    (OUT / "demand_template.csv").write_bytes(demand_csv().encode("utf-8"))
    (OUT / "demand_template.xlsx").write_bytes(demand_workbook())
    for name in ("return_template.csv", "targets_template.csv", "return_template.xlsx", "demand_template.csv",
                 "demand_template.xlsx"):
        print(f"wrote {(OUT / name).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
