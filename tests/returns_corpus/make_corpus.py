"""Write the return corpus: small files, each breaking one rule or showing one harmless variation.

    python tests/returns_corpus/make_corpus.py      # from the repository root

The files are committed; this script is kept so that they can be remade or extended. What each
file must give (accepted or refused, and every problem) is written by hand in expected.yaml,
not generated from the parser. Workbooks are written with fixed timestamps so that remaking
them without changes gives the same bytes.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXED_TIME = dt.datetime(2017, 3, 31, 12, 0, 0)
H = "metric_id,period,value,numerator,denominator,breakdown,breakdown_value,agency,area,note"
T = "metric_id,target,from,to,agency,source,tolerance,tolerance_kind,illustrative"
DM = "month,area,demand_referrals,demand_icpc_15d_pct,cp_open"


def lines(*rows: str, header: str = H) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


CSV_FILES: dict[str, bytes] = {
    # ---- refused: one rule each
    "01_unknown_metric.csv": lines(
        "cp_plans_31mar,31/03/2017,294,,,,,,883,",
        "cp_rate_31mr,31/03/2017,68.3,,,,,,883,",
    ),
    "02_unreadable_period.csv": lines(
        "cp_plans_31mar,sometime in March,294,,,,,,883,",
        "lac_31mar,31/02/2017,338,,,,,,883,",
        "uasc_31mar,03/31/2017,57,,,,,,883,US order",
    ),
    "03_month_for_year_metric.csv": lines(
        "cp_started,Mar 2017,450,,,,,,883,",
    ),
    "04_snapshot_wrong_date.csv": lines(
        "cp_plans_31mar,30/09/2017,294,,,,,,883,",
    ),
    "05_quarter_end_wrong.csv": lines(
        "supervision_compliance,28/02/2017,97,,,supervision_type,group,NELFT,883,",
    ),
    "06_numerator_above_denominator.csv": lines(
        "lac_out_of_borough_local,31/03/2017,,340,338,,,,883,",
    ),
    "08_negative.csv": lines(
        "cp_plans_31mar,31/03/2017,-3,,,,,,883,",
        "lac_out_of_borough_local,31/03/2017,,-1,338,,,,883,",
    ),
    "09_zero_denominator.csv": lines(
        "lac_out_of_borough_local,31/03/2017,,0,0,,,,883,",
    ),
    "10_not_a_number.csv": lines(
        "cp_plans_31mar,31/03/2017,many,,,,,,883,",
        "lac_31mar,31/03/2017,n/a,,,,,,883,",
        'cin_cases_local,31/03/2017,"12,5",,,,,,883,',
        "uasc_31mar,31/03/2017,#DIV/0!,,,,,,883,",
    ),
    "11_duplicate_rows.csv": lines(
        "cp_plans_31mar,31/03/2017,294,,,,,,883,",
        "lac_31mar,31/03/2017,338,,,,,,883,",
        "cp_plans_31mar,2016-17,289,,,,,,E06000034,same cell: a year is 31 March for a snapshot",
    ),
    "12_breakdown_not_allowed.csv": lines(
        "cp_plans_31mar,31/03/2017,89,,,age_band,0-4,,883,",
        "cp_by_age,31/03/2017,,89,294,gender,male,,883,",
    ),
    "13_unknown_breakdown_value.csv": lines(
        "cp_by_category,31/03/2017,,143,294,category_of_abuse,Neglekt,,883,",
        "cp_by_category,31/03/2017,,129,294,category_of_abuse,emo,,883,lower case code: accepted",
        "cp_by_category,31/03/2017,,15,294,Category of abuse,Physical abuse,,883,titles: accepted",
        "cp_by_age,31/03/2017,,6,294,age_band,18+,,883,",
    ),
    "14_unknown_area.csv": lines(
        "cp_plans_31mar,31/03/2017,294,,,,,,999,",
    ),
    "15_blank_area.csv": lines(
        "cp_plans_31mar,31/03/2017,294,,,,,,,",
        "lac_31mar,31/03/2017,338,,,,,,883,",
    ),
    "16_missing_columns.csv": lines(
        "cp_plans_31mar,2017-03-31,294,883",
        header="metric,period_end,amount,area",
    ),
    "17_too_many_rows.csv": lines(
        "cp_plans_31mar,31/03/2017,294,,,,,,883,",
        "lac_31mar,31/03/2017,338,,,,,,883,",
        "uasc_31mar,31/03/2017,57,,,,,,883,",
        "cin_cases_local,31/03/2017,618,,,,,,883,",
        "cp_plans_31mar,31/03/2016,289,,,,,,883,",
        "lac_31mar,31/03/2016,335,,,,,,883,",
    ),
    "18_targets_unknown_metric.csv": lines(
        "trainign_compliance,80,,,NELFT,CQC target,5,absolute,no",
        header=T,
    ),
    "19_targets_not_a_number.csv": lines(
        "training_compliance,eighty,,,NELFT,CQC target,5,absolute,no",
        header=T,
    ),
    "20_targets_from_after_to.csv": lines(
        "supervision_compliance,85,31/03/2018,31/03/2017,NELFT,NELFT KPI,5,absolute,no",
        header=T,
    ),
    "21_targets_missing_source.csv": lines(
        "sickness_days_local,9,,,Thurrock Council,,1,absolute,no",
        header=T,
    ),
    "22_targets_overlap.csv": lines(
        "training_compliance,80,,,NELFT,CQC target,5,absolute,no",
        "training_compliance,95,,,Probation,Probation aim,5,absolute,no",
        "training_compliance,85,2017-18,,NELFT,Board decision,5,absolute,no",
        header=T,
    ),
    "23_not_a_return.pdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
                            + bytes(range(0, 40))),
    "24_empty.csv": b"",
    "27_spilled_thousands.csv": lines(
        "cp_plans_31mar,31/03/2017,294,,,,,,883,",
        "cin_31mar,31/03/2017,1,788,,,,,,883,",
    ),
    "29_unclosed_quote.csv": lines(
        "cp_plans_31mar,31/03/2017,294,,,,,,883,\"from the report",
        "lac_31mar,31/03/2017,338,,,,,,883,",
        "uasc_31mar,31/03/2017,57,,,,,,883,",
    ),
    "40_header_only.csv": lines(),
    "41_percent_on_count.csv": lines(
        "cp_plans_31mar,31/03/2017,42%,,,,,,883,",
    ),
    "42_no_value.csv": lines(
        "cp_plans_31mar,31/03/2017,,,,,,,883,",
        "lac_out_of_borough_local,31/03/2017,,203,,,,,883,",
    ),
    "43_count_from_parts.csv": lines(
        "lac_31mar,31/03/2017,,338,1,,,,883,",
    ),
    # ---- accepted, with warnings
    "30_agency_not_listed.csv": lines(
        "training_compliance,Mar 2017,88%,,,training_level,L1,Essex Polce,883,",
    ),
    "31_breakdown_total_gap.csv": lines(
        "cp_by_category,31/03/2017,,143,294,category_of_abuse,NEG,,883,Report: 143 (48%)",
        "cp_by_category,31/03/2017,,129,294,category_of_abuse,EMO,,883,Report: 129 (44%)",
        "cp_by_category,31/03/2017,,15,294,category_of_abuse,PHY,,883,Report: 15 (5%)",
        "cp_by_category,31/03/2017,,10,294,category_of_abuse,SAB,,883,Report: 10 (3%)",
    ),
    "32_value_mismatch.csv": lines(
        "lac_out_of_borough_local,31/03/2017,55,203,338,,,,883,",
        "lac_out_of_borough_local,31/03/2016,60.1,200,333,,,,883,agrees to 1 decimal place",
    ),
    # ---- accepted, messy but valid
    "33_messy_valid.csv": (
        " Metric_ID ,Period_End,VALUE,Numerator, Denominator ,Breakdown,Breakdown Value,Agency,Area,Note\n"
        "cp_plans_31mar,31-03-2017,294,,,,,,883,UK date with dashes\n"
        "cp_plans_31mar,31.03.2016,289,,,,,,883,UK date with dots\n"
        "cp_plans_31mar,2014-03-31,288,,,,,,883,ISO date\n"
        'cin_31mar,31/03/2017,"1,788",,,,,,E06000034,thousands separator\n'
        'cp_rate_31mar,31/03/2017,,285,"41,750",,,,883,rate computed: 68.3\n'
        "sw_turnover_local,2016/17,7.8%,,,,,Thurrock Council,883,financial year with a slash\n"
        "sickness_days_local,2016-2017,4.32,,,,,thurrock council,883,four-digit financial year; agency case\n"
        "sw_agency_rate_local,August 2016,42 %,,,,,Thurrock Council,883,month name\n"
        "sw_agency_rate_local,2017-06,28%,,,,,Thurrock Council,883,year-month\n"
        "supervision_compliance,Q4 2016-17,97%,,,supervision_type,Group,NELFT,883,quarter first\n"
        "supervision_compliance,42825,97,,,supervision_type,individual,NELFT,883,Excel serial number\n"
        "training_compliance,Mar-17,94.47%,,,Training level,l2,NELFT,883,Excel display of a month\n"
        "cp_by_category,31 March 2017,,143,294,category_of_abuse,Neglect,,883,\n"
        "cp_by_category,31/03/2017,,151,294,category_of_abuse,EMO,,883,\n"
    ).encode("utf-8"),
    "34_bom_crlf_blank_rows.csv": (
        "\ufeff" + H + "\r\n"
        "cp_plans_31mar,31/03/2017,294,,,,,,883,\r\n"
        "\r\n"
        "lac_31mar,31/03/2017,338,,,,,,883,\r\n"
        ",,,,,,,,,\r\n"
        "uasc_31mar,31/03/2017,57,,,,,,883,\r\n"
        ",,,,,,,,,\r\n"
        "\r\n"
        "   ,,,,,,,,,\r\n"
    ).encode("utf-8"),
    "35_cp1252_note.csv": lines(
        "cp_plans_31mar,31/03/2017,294,,,,,,883,Agreed at the café meeting – see minutes",
    ).decode("utf-8").encode("cp1252"),
    "36_suppression_symbols.csv": lines(
        "cp_plans_31mar,31/03/2017,c,,,,,,883,",
        "lac_31mar,31/03/2017,K,,,,,,883,",
        "uasc_31mar,31/03/2017, x ,,,,,,883,",
        "cin_31mar,31/03/2017,z,,,,,,883,",
        "cin_cases_local,31/03/2017,u,,,,,,883,",
        "cp_started,2016-17,:,,,,,,883,",
        "referrals,2016-17,LOW,,,,,,883,",
        "lac_out_of_borough_local,31/03/2017,,c,338,,,,883,suppressed numerator",
    ),
    "38_excel_unicode_text.csv": b"\xff\xfe" + (
        H.replace(",", "\t") + "\r\n"
        "cp_plans_31mar\t31/03/2017\t294\t\t\t\t\t\t883\tsaved by Excel as Unicode Text\r\n"
        "cin_31mar\t31/03/2017\t1,788\t\t\t\t\t\t883\t\r\n"
    ).encode("utf-16-le"),
    # ---- issue 13: wrong data that must not go in silently, and every problem at once
    "44_future_periods.csv": lines(
        "cp_plans_31mar,31/03/2017,294,,,,,,883,",
        "cp_plans_31mar,31/03/2027,300,,,,,,883,next March",
        "cp_plans_31mar,31/03/2199,301,,,,,,883,a typing slip",
        "sw_agency_rate,30/09/2030,20,,,,,,883,",
        "sw_agency_rate_local,Dec 2026,20,,,,,Thurrock Council,883,next month",
        "sw_agency_rate_local,Nov 2026,21,,,,,Thurrock Council,883,this month: not ended yet",
    ),
    "45_distant_past.csv": lines(
        "cp_plans_31mar,31/03/2017,294,,,,,,883,",
        "cp_plans_31mar,1990,250,,,,,,883,",
        "lac_31mar,1900,300,,,,,,883,",
        "uasc_31mar,31/03/1999,12,,,,,,883,",
    ),
    "47_percent_fractions.csv": lines(
        "training_compliance,Mar 2017,0.96,,,training_level,L1,NELFT,883,",
        "training_compliance,Mar 2017,0.9447,,,training_level,L2,NELFT,883,",
        "training_compliance,Mar 2017,0.912,,,training_level,L3,NELFT,883,",
    ),
    "48_mojibake.csv": (
        H + "\n"
        "cp_plans_31mar,31/03/2017,294,,,,,,883,Caf\u00e9 staff \u2013 agreed\n"
    ).encode("utf-8") + (
        "lac_31mar,31/03/2017,338,,,,,,883,cost \u00a35\n"
    ).encode("utf-8") + (
        "uasc_31mar,31/03/2017,57,,,,,,883,\u201cas reported\u201d\n"
    ).encode("cp1252"),
    "49_fractional_counts.csv": lines(
        "cp_plans_31mar,31/03/2017,12.5,,,,,,883,",
        "lac_out_of_borough_local,31/03/2017,,203.5,338,,,,883,",
        "cp_rate_31mar,31/03/2017,,285,41750.5,,,,883,",
        "sw_caseload,30/09/2016,,300,18.5,,,,883,FTE: fractions allowed",
        "sw_agency_rate,30/09/2016,,10.5,60.2,,,,883,FTE: fractions allowed",
        "sickness_days_local,2016-17,4.32,,,,,Thurrock Council,883,days per employee",
    ),
    "50_every_problem_at_once.csv": lines(
        "lac_out_of_borough_local,31/03/2017,104,340,338,,,,883,",
        "lac_out_of_borough_local,31/03/2016,61,203,338,,,,883,",
        "cp_plans_31mar,31/03/2027,294,,,,,,883,",
        "lac_31mar,1900,338,,,,,,883,",
        "cp_plans_31mar,31/03/2016,294,,,,,,Thurrock,",
    ),
    "51_targets_overlap_with_error.csv": lines(
        "training_compliance,80,,,NELFT,CQC target,5,sometimes,no",
        "training_compliance,85,01/04/2017,,NELFT,Board decision,,,",
        header=T,
    ),
    "52_spilled_then_unclosed.csv": lines(
        "cp_plans_31mar,31/03/2017,294,,,,,,883,",
        "cin_31mar,31/03/2017,1,788,,,,,,883,",
        'lac_31mar,31/03/2017,338,,,,,,883,"from the report',
        "uasc_31mar,31/03/2017,57,,,,,,883,",
    ),
    # ---- the monthly demand sheet (one row per month, one column per measure)
    "53_demand_month_gap.csv": lines(
        "Apr 2024,883,154,90.5,115", "May 2024,883,175,88.0,114", "Jul 2024,883,170,85.0,118", header=DM),
    "54_demand_duplicate_month.csv": lines(
        "Apr 2024,883,154,90.5,115", "May 2024,883,175,88.0,114", "2024-05,883,175,88.0,114", header=DM),
    "55_demand_negative_count.csv": lines(
        "Apr 2024,883,154,90.5,115", "May 2024,883,-175,88.0,114", header=DM),
    "56_demand_share_above_100.csv": lines(
        "Apr 2024,883,154,90.5,115", "May 2024,883,175,108%,114", header=DM),
    "57_demand_month_in_future.csv": lines(
        "Nov 2099,883,154,90.5,115", header=DM),
    "58_demand_valid.csv": lines(
        "Apr 2024,883,154,90.5,115", "May 2024,883,175,88%,c", "Jun 2024,883,160,,116", header=DM),
}


# ---------------------------------------------------------------------------- workbooks


def _header(ws, names: str = H) -> None:
    for j, h in enumerate(names.split(","), start=1):
        ws.cell(row=1, column=j, value=h)


def _put(ws, row: int, values: list) -> None:
    for j, v in enumerate(values, start=1):
        if v is None or v == "":
            continue
        if isinstance(v, tuple):  # (number, number_format)
            ws.cell(row=row, column=j, value=v[0]).number_format = v[1]
        else:
            c = ws.cell(row=row, column=j, value=v)
            if isinstance(v, dt.date):
                c.number_format = "dd/mm/yyyy"


def _save(wb) -> bytes:
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>2017-03-31T12:00:00Z\g<2>", body)
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, body)
    return out.getvalue()


PCT = "0%"
PCT2 = "0.00%"
MAR17 = dt.date(2017, 3, 31)


def percent_above_100() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "NELFT"
    _header(ws)
    for r, (level, v) in enumerate([("L1", 0.96), ("L2", 0.9447), ("L3", 0.9508), ("PREVENT1", 0.9673),
                                    ("PREVENT2", 0.9274)], start=2):
        _put(ws, r, ["training_compliance", MAR17, (v, PCT2), None, None, "training_level", level, "NELFT", 883])
    _put(ws, 7, ["training_compliance", dt.date(2017, 2, 28), (1.04, PCT), None, None, "training_level", "L1",
                 "NELFT", 883, "typed 104 into a percentage cell"])
    return _save(wb)


def duplicate_across_sheets() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "NELFT"
    _header(ws)
    _put(ws, 2, ["training_compliance", "Mar 2017", (0.96, PCT), None, None, "training_level", "L1", "NELFT", "883"])
    _put(ws, 3, ["training_compliance", "Mar 2017", (0.9447, PCT2), None, None, "training_level", "L2", "NELFT",
                 "883"])
    ws2 = wb.create_sheet("Training")
    _header(ws2)
    _put(ws2, 2, ["training_compliance", MAR17, 96, None, None, "training_level", "L1", "nelft", "883",
                  "the same figure as on the NELFT sheet"])
    return _save(wb)


def several_sheets() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    readme = wb.active
    readme.title = "README"
    readme["A1"] = "Instructions: this sheet is not read"
    readme["A2"] = "metric_id"
    nelft = wb.create_sheet("NELFT")
    _header(nelft)
    _put(nelft, 2, ["training_compliance", MAR17, (0.96, PCT), None, None, "training_level", "L1", "NELFT", 883])
    _put(nelft, 3, ["training_compliance", MAR17, (0.9447, PCT2), None, None, "training_level", "L2", "NELFT", 883])
    # row 4 left blank on purpose
    _put(nelft, 5, ["supervision_compliance", "2016-17 Q4", 97, None, None, "supervision_type", "group", "NELFT", 883,
                    "a blank row above"])
    council = wb.create_sheet("Thurrock Council")
    _header(council)
    _put(council, 2, ["cp_plans_31mar", MAR17, 294, None, None, None, None, None, "E06000034"])
    _put(council, 3, ["lac_out_of_borough_local", MAR17, None, 203, 338, None, None, None, 883])
    _put(council, 4, ["sickness_days_local", "2016-17", 4.32, None, None, None, None, "Thurrock Council", 883])
    _put(council, 5, ["cp_rate_31mar", 42825, None, 285, 41750, None, None, None, 883, "period as a serial number"])
    police = wb.create_sheet("Essex Police")
    _header(police)  # a header and nothing else: skipped
    wb.create_sheet("Sheet3")  # empty: skipped
    notes = wb.create_sheet("notes")
    notes["A1"] = "cp_plans_31mar"
    targets = wb.create_sheet("Targets")
    _header(targets, "Metric ID,Target,From,To,Agency,Source,Tolerance,Tolerance kind,Illustrative")
    _put(targets, 2, ["training_compliance", 80, None, None, "NELFT", "CQC target (seed report)", 5, "absolute", False])
    _put(targets, 3, ["supervision_compliance", (0.85, PCT), None, None, "NELFT", "NELFT KPI (seed report)", None,
                      None, None])
    _put(targets, 4, ["sickness_days_local", 9, dt.date(2016, 4, 1), dt.date(2018, 3, 31), "Thurrock Council",
                      "Council sickness target (seed report)", 1, "absolute", "no"])
    return _save(wb)


def breakdown_value_as_date() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Child protection"
    _header(ws)
    _put(ws, 2, ["cp_by_age", MAR17, None, 89, 294, "age_band", "0-4", None, 883])
    _put(ws, 3, ["cp_by_age", MAR17, None, 128, 294, "age_band", dt.date(2017, 11, 5), None, 883,
                 "Excel turned 5-11 into 5 November"])
    _put(ws, 4, ["cp_by_age", MAR17, None, 71, 294, "age_band", "12-16", None, 883])
    _put(ws, 5, ["cp_by_age", MAR17, None, 6, 294, "age_band", 17, None, 883])
    return _save(wb)


def merged_cells() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "NELFT"
    _header(ws)
    _put(ws, 2, ["training_compliance", "Mar 2017", 96, None, None, "training_level", "L1", None, 883, "typed once"])
    _put(ws, 3, ["training_compliance", "Mar 2017", 94.47, None, None, "training_level", "L2", "NELFT", 883])
    _put(ws, 4, ["training_compliance", "Mar 2017", 95.08, None, None, "training_level", "L3", None, 883])
    _put(ws, 5, ["training_compliance", "Mar 2017", 96.73, None, None, "training_level", "PREVENT1", None, 883])
    ws.merge_cells("H3:H5")  # the agency typed once for three rows
    ws.merge_cells("J2:J3")
    return _save(wb)


def corrupt() -> bytes:
    return several_sheets()[:300]


XLSX_FILES = {
    "07_percent_above_100.xlsx": percent_above_100,
    "25_corrupt.xlsx": corrupt,
    "28_duplicate_across_sheets.xlsx": duplicate_across_sheets,
    "37_several_sheets.xlsx": several_sheets,
    "39_breakdown_value_as_date.xlsx": breakdown_value_as_date,
    "46_merged_cells.xlsx": merged_cells,
}

OTHER_FILES = {
    "26_old_excel.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
}


def main() -> None:
    for name, data in {**CSV_FILES, **OTHER_FILES}.items():
        (HERE / name).write_bytes(data)
    for name, make in XLSX_FILES.items():
        (HERE / name).write_bytes(make())
    print(f"wrote {len(CSV_FILES) + len(OTHER_FILES) + len(XLSX_FILES)} files in {HERE.name}/")


if __name__ == "__main__":
    main()
