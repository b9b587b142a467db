"""The monthly demand sheet: one row per month, one column per demand measure, as a case
system's monthly extract is laid out, read into the same rows as a long-format return.

A table is a demand sheet when its sheet is named ``demand`` (or ``monthly demand``), or when
it is a CSV whose header has ``month`` and no ``metric_id``. Its columns:

- ``month`` (required; ``period`` is accepted as the same column): any month form a return
  accepts (``Mar 2024``, ``2024-03``, ``03/2024``, ``31/03/2024``);
- ``area`` (optional, as in a long return: blank takes the area chosen on upload);
- ``note`` (optional): stored with every figure of the row;
- one column per measure, headed by its metric id (``demand_referrals``) or the id without
  ``demand_`` (``referrals``): the registry's metrics of topic ``demand``. A blank cell is a
  measure not given that month; a measure may start or stop part-way through the file.

Every cell is checked as a long return's ``value`` is (negative, a percentage above 100, a
fraction in a count, suppression symbols), and the sheet as a whole: a month given twice for
the same area (``duplicate_month``), and a gap (``month_gap``): a month missing between the
first and last month of an area, or a blank cell between two months that have a figure for
that measure (write ``x`` for a figure that is not available). A gap in the months of a demand
measure given in long format is a ``month_gap`` too (:func:`_long_gaps`).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from ...periods import period_label
from ...registry import Metric, PeriodType, Unit
from .cells import _BLANK, _Cell, _clean, _Num, _number, _Table
from .checker import _Checker
from .columns import _header_key
from .periods import _EXPECTED_PERIOD, _describe, _fit, _long, _parse_period
from .problems import _where
from .tables import _check_merged, _count_rows, _each_row
from .values import _values

MONTHLY_SHEETS = ("demand", "monthly_demand", "demand_monthly")
MONTH_ALIASES = ("month", "period", "month_end", "period_end")
DEMAND_TOPIC = "demand"


def demand_metrics(chk: _Checker) -> list[Metric]:
    return [m for m in chk.registry.metrics if m.topic == DEMAND_TOPIC and m.period_type is PeriodType.MONTH]


def _is_monthly(table: _Table) -> bool:
    if table.sheet is not None and _header_key(table.sheet) in MONTHLY_SHEETS:
        return True
    keys = {_header_key(c.text) for c in table.rows[0][1] if not c.blank}
    return "month" in keys and "metric_id" not in keys


def _month_text(d: dt.date) -> str:
    return f"{d:%B %Y}"


def _next_month(d: dt.date) -> dt.date:
    first = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    nxt = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _months_between(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def _monthly_table(chk: _Checker, table: _Table) -> None:
    """Read a demand sheet (see the module docstring) into ``chk.rows``."""
    header_row, header = table.rows[0]
    _check_merged(chk, table)
    by_name: dict[str, Metric] = {}
    for m in demand_metrics(chk):
        by_name[m.id.lower()] = m
        by_name[m.id.lower().removeprefix("demand_")] = m
    month_col: int | None = None
    area_col = note_col = None
    measures: dict[int, tuple[Metric, str]] = {}  # column index -> (metric, heading as written)
    seen_metric: dict[str, str] = {}
    for i, c in enumerate(header):
        if c.blank:
            continue
        heading = _clean(c.text)
        key = _header_key(heading)
        if key in MONTH_ALIASES and month_col is None:
            month_col = i
        elif key in ("area", "area_code") and area_col is None:
            area_col = i
        elif key == "note" and note_col is None:
            note_col = i
        elif key in by_name:
            m = by_name[key]
            if m.id in seen_metric:
                chk.add("duplicate_column", f"the measure '{m.id}' has two columns ('{seen_metric[m.id]}' and "
                        f"'{heading}'); keep one", sheet=table.sheet, row=header_row, column=heading, value=heading)
                continue
            seen_metric[m.id] = heading
            measures[i] = (m, heading)
        else:
            import difflib

            close = difflib.get_close_matches(key, list(by_name), n=1, cutoff=0.7)
            chk.add("unknown_column", "not a column of the monthly demand sheet (month, area, note, or a demand "
                    "measure's id such as demand_referrals): it is ignored", sheet=table.sheet, row=header_row,
                    column=heading, value=heading, severity="warning",
                    suggestion=f"did you mean '{by_name[close[0]].id}'?" if close else None)
    missing = []
    if month_col is None:
        missing.append("month")
    if not measures:
        missing.append("a demand measure (such as demand_referrals)")
    if area_col is None and chk.default_area is None:
        missing.append("area")
    if missing:
        chk.add("missing_columns", f"required column(s) missing from the header of the monthly demand sheet: "
                f"{', '.join(missing)} (the header is the first row: month, area, then one column per measure)",
                sheet=table.sheet, row=header_row, column=", ".join(missing), value="")
        return
    month_heading = _clean(header[month_col].text)
    earliest = min(m.earliest_year for m, _ in measures.values())
    chk.rows_read += _count_rows(table)
    # (area, month) -> row number; per area the months read; per (area, metric) the months with a cell
    first_row: dict[tuple[str, dt.date], int] = {}
    cells_by: dict[tuple[str, str], dict[dt.date, tuple[int, bool]]] = defaultdict(dict)

    def cell_at(cells: list[_Cell], i: int | None) -> _Cell:
        return cells[i] if i is not None and i < len(cells) else _BLANK

    def check(n: int, cells: list[_Cell]) -> None:
        def bad(code, column, rule, *, value=None, severity="error", suggestion=None):
            chk.add(code, rule, sheet=table.sheet, row=n, column=column, value=value or "", severity=severity,
                    suggestion=suggestion)

        mcell = cell_at(cells, month_col)
        month: dt.date | None = None
        if mcell.blank:
            bad("required_blank", month_heading, "the month is blank: every row needs one")
        else:
            readings, why = _parse_period(mcell, table.epoch)
            if not readings:
                bad("unreadable_period", month_heading, why or "not a month we can read", value=mcell.text)
            else:
                month = next((e for e in (_fit(p, PeriodType.MONTH) for p in readings) if e is not None), None)
                if month is None:
                    bad("period_mismatch", month_heading, f"{_describe(readings[0])} does not fit: the demand sheet "
                        f"{_EXPECTED_PERIOD[PeriodType.MONTH]}", value=mcell.text)
                elif month > chk.today:
                    bad("period_in_future", month_heading, f"the month ends on {_long(month)}, after today "
                        f"({_long(chk.today)}): a return gives figures for months that have ended. Check the year",
                        value=mcell.text)
                    month = None
                elif month.year < earliest:
                    bad("period_too_early", month_heading, f"the month ends on {_long(month)}, before {earliest}, "
                        "the first year demand figures can be given for (earliest_year in data/metrics.yaml). "
                        "Check the year", value=mcell.text)
                    month = None
        area: str | None = None
        acell = cell_at(cells, area_col)
        area_heading = _clean(header[area_col].text) if area_col is not None else "area"
        if not acell.blank:
            area = chk.area(_clean(acell.text))
            if area is None:
                bad("unknown_area", area_heading, "not a known area code: give the DfE three-digit code (883) or the "
                    "GSS code (E06000034)", value=acell.text, suggestion=chk.area_suggestion(_clean(acell.text)))
        elif chk.default_area is not None:
            area = chk.area(chk.default_area)
        else:
            bad("no_area", area_heading, "the area is blank and no default area was chosen: give the area code")
        if month is not None and area is not None:
            key = (area, month)
            if key in first_row:
                bad("duplicate_month", month_heading, f"{_month_text(month)} is already given on "
                    f"{_where(table.sheet, first_row[key])} for this area: give each month once", value=mcell.text)
                return
            first_row[key] = n
        note_cell = cell_at(cells, note_col)
        note = _clean(note_cell.text) if not note_cell.blank else ""
        made: list[dict] = []
        for i, (metric, heading) in measures.items():
            c = cell_at(cells, i)
            if c.blank:
                if month is not None and area is not None:
                    cells_by[(area, metric.id)].setdefault(month, (n, False))
                continue
            num = _number(c)
            if num.error:
                code, rule, suggestion = num.error
                bad(code, heading, rule, value=c.text, suggestion=suggestion)
                continue
            before = chk.error_count

            def cell_bad(code, key, rule, *, severity="error", suggestion=None, _h=heading, _c=c):
                bad(code, _h, rule, value=_c.text, severity=severity, suggestion=suggestion)

            value, status, _, _, published = _values(metric, {"value": num, "numerator": _Num(),
                                                              "denominator": _Num()}, cell_bad, False)
            if chk.error_count > before or month is None or area is None:
                continue
            cells_by[(area, metric.id)][month] = (n, True)
            ckey = (metric.id, area, month, "", "", "")
            if ckey in chk.seen:
                s0, r0 = chk.seen[ckey]
                bad("duplicate_row", heading, f"'{metric.id}' for {_month_text(month)} is already given on "
                    f"{_where(s0, r0)}: give each figure once", value=c.text)
                continue
            chk.seen[ckey] = (table.sheet, n)
            made.append({
                "metric_id": metric.id, "area_code": area, "period_end": month,
                "period_label": period_label(metric.period_type, month), "agency": "", "breakdown": "",
                "breakdown_value": "", "value": value, "numerator": None, "denominator": None,
                "published_value": published, "status": status, "note": note or None, "sheet": table.sheet,
                "row": n, "_places": num.places if num.value is not None else metric.decimals, "_monthly": True,
            })
        chk.rows.extend(made)

    _each_row(chk, table, check)
    _sheet_gaps(chk, table, month_heading, first_row, cells_by, measures)
    _fraction_columns(chk, table, measures, header_row)


def _sheet_gaps(chk: _Checker, table: _Table, month_heading: str, first_row: dict, cells_by: dict,
                measures: dict) -> None:
    """A month missing between an area's first and last month; a blank cell inside a measure's run."""
    by_area: dict[str, list[dt.date]] = defaultdict(list)
    for area, month in first_row:
        by_area[area].append(month)
    for area, months in by_area.items():
        months.sort()
        for a, b in zip(months, months[1:]):
            if _months_between(a, b) > 1:
                missing = [_month_text(_next_month(a))]
                if _months_between(a, b) > 2:
                    missing.append(_month_text(_last_before(b)))
                span = " to ".join(missing)
                before = _where(table.sheet, first_row[(area, a)])
                verb = "is" if len(missing) == 1 else "are"
                chk.add("month_gap", f"the months jump from {_month_text(a)} (on {before}) to {_month_text(b)}: "
                        f"{span} {verb} missing. Give every month, with x for a figure that is not available",
                        sheet=table.sheet, row=first_row[(area, b)], column=month_heading, value=_month_text(b))
    headings = {m.id: h for m, h in measures.values()}
    for (_area, mid), months in cells_by.items():
        filled = sorted(d for d, (_, ok) in months.items() if ok)
        if len(filled) < 2:
            continue
        for d in sorted(months):
            n, ok = months[d]
            if not ok and filled[0] < d < filled[-1]:
                chk.add("month_gap", f"'{mid}' has figures before and after {_month_text(d)} but this cell is blank: "
                        "a gap in the months. Write x for a figure that is not available", sheet=table.sheet, row=n,
                        column=headings[mid], value="")


def _last_before(d: dt.date) -> dt.date:
    first = dt.date(d.year, d.month, 1)
    return first - dt.timedelta(days=1)


def _fraction_columns(chk: _Checker, table: _Table, measures: dict, header_row: int) -> None:
    """Warn when every figure in a percentage column is at most 1: 0.912 is read as 0.912%."""
    for i, (metric, heading) in measures.items():
        if metric.unit is not Unit.PERCENT:
            continue
        found = []
        for n, cells in table.rows[1:]:
            if i >= len(cells) or cells[i].blank:
                continue
            c = cells[i]
            num = _number(c)
            if num.error or num.value is None or num.percent or (isinstance(c.raw, str) and "%" in c.raw):
                continue
            if num.value > 1:
                found = []
                break
            found.append((n, c))
        if found and not all(_number(c).value == 0 for _, c in found):
            n0, c0 = found[0]
            chk.add("percent_as_fraction", f"every percentage in this column is at most 1: are they fractions? "
                    f"{c0.text} is read as {c0.text}%; write 91.2 or 91.2%, not 0.912", sheet=table.sheet, row=n0,
                    column=heading, value=c0.text, severity="warning")


def _long_gaps(chk: _Checker) -> None:
    """A gap in the months of a demand measure given in long format (one figure per row)."""
    groups: dict[tuple, dict[dt.date, dict]] = defaultdict(dict)
    for r in chk.rows:
        if r.get("_monthly"):
            continue
        m = chk.metrics.get(r["metric_id"])
        if m is None or m.topic != DEMAND_TOPIC or m.period_type is not PeriodType.MONTH:
            continue
        groups[(r["metric_id"], r["area_code"], r["agency"], r["breakdown"], r["breakdown_value"])][r["period_end"]] = r
    for (mid, _area, _agency, _b, _bv), by_month in groups.items():
        months = sorted(by_month)
        for a, b in zip(months, months[1:]):
            if _months_between(a, b) > 1:
                r = by_month[b]
                missing = _month_text(_next_month(a))
                if _months_between(a, b) > 2:
                    missing += f" to {_month_text(_last_before(b))}"
                before = _where(by_month[a]["sheet"], by_month[a]["row"])
                chk.add("month_gap", f"'{mid}' jumps from {_month_text(a)} (on {before}) to {_month_text(b)}: "
                        f"{missing} missing. Give every month, with x for a figure that is not available",
                        sheet=r["sheet"], row=r["row"], column="period", value=r["period_label"])
