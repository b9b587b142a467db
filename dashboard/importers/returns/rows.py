"""Data rows: a data sheet's required columns, then each row's metric, area, period, figures,
breakdown and agency, checked and turned into a row to load.
"""
from __future__ import annotations

import datetime as dt
import difflib

from ...periods import period_label
from .cells import _Cell, _clean, _Num, _number, _Table
from .checker import _Checker
from .columns import ALIASES, COLUMNS, _did_you_mean, _header_key, _norm_label
from .periods import _EXPECTED_PERIOD, _describe, _fit, _long, _parse_period
from .problems import _where
from .tables import _check_fractions, _check_merged, _column_map, _count_rows, _each_row, _Row
from .values import _values


def _data_table(chk: _Checker, table: _Table) -> None:
    header_row = table.rows[0][0]
    _check_merged(chk, table)
    index, written = _column_map(chk, table, COLUMNS, ALIASES)
    missing = [c for c in ("metric_id", "period") if c not in index]
    if "value" not in index and not ("numerator" in index and "denominator" in index):
        missing.append("value" if "numerator" not in index and "denominator" not in index else
                       ("denominator" if "numerator" in index else "numerator"))
    if "area" not in index and chk.default_area is None:
        missing.append("area")
    if missing:
        chk.add("missing_columns", f"required column(s) missing from the header: {', '.join(missing)} "
                f"(the header is the first row; the columns are {', '.join(COLUMNS)})", sheet=table.sheet,
                row=header_row, column=", ".join(missing), value="")
        return
    chk.rows_read += _count_rows(table)
    _each_row(chk, table, lambda n, cells: _data_row(chk, table, n, cells, index, written))
    _check_fractions(chk, table, index, written, "value")


def _data_row(chk: _Checker, table: _Table, n: int, cells: list[_Cell], index: dict[str, int],
              written: dict[str, str]) -> None:
    sheet = table.sheet
    errors_before = chk.error_count
    row = _Row(chk, table, n, cells, index, written)
    cell, text, bad = row.cell, row.text, row.bad

    # metric
    mid, metric = row.metric("row")

    # area
    area: str | None = None
    area_text = text("area")
    if area_text:
        area = chk.area(area_text)
        if area is None:
            bad("unknown_area", "area", "not a known area code: give the DfE three-digit code (883) or the GSS code "
                "(E06000034)", suggestion=chk.area_suggestion(area_text))
    elif chk.default_area is not None:
        area = chk.area(chk.default_area)  # None when the default is unknown: reported once, for the file
    else:
        bad("no_area", "area", "the area is blank and no default area was chosen: give the area code")

    # period
    period_end: dt.date | None = None
    pcell = cell("period")
    if pcell.blank:
        bad("required_blank", "period", "the period is blank: every row needs one")
    else:
        readings, why = _parse_period(pcell, table.epoch)
        if not readings:
            bad("unreadable_period", "period", why or "not a period we can read")
        elif metric is None:
            # the metric is unknown, but a date after today is wrong whatever the metric
            first = readings[0]
            if first.end is not None and first.end > chk.today and first.form == "date":
                bad("period_in_future", "period", _in_future(first.end, chk.today))
        else:
            for p in readings:
                period_end = _fit(p, metric.period_type)
                if period_end is not None:
                    break
            if period_end is None:
                bad("period_mismatch", "period",
                    f"{_describe(readings[0])} does not fit: '{metric.id}' {_EXPECTED_PERIOD[metric.period_type]}")
            elif period_end > chk.today:
                bad("period_in_future", "period", _in_future(period_end, chk.today))
                period_end = None
            elif period_end.year < metric.earliest_year:
                bad("period_too_early", "period",
                    f"the period ends on {_long(period_end)}, before {metric.earliest_year}, the first year "
                    f"'{metric.id}' can have figures for (earliest_year in data/metrics.yaml). Check the year")
                period_end = None

    # numbers
    nums: dict[str, _Num] = {}
    for key in ("value", "numerator", "denominator"):
        num = _number(cell(key))
        if num.error:
            code, rule, suggestion = num.error
            bad(code, key, rule, suggestion=suggestion)
        else:
            nums[key] = num

    # breakdown
    breakdown, bvalue = "", ""
    btext, bvtext = text("breakdown"), text("breakdown_value")
    bvcell = cell("breakdown_value")
    if metric is not None and (btext or bvtext):
        if btext:
            dim = chk.breakdown_dimension(btext)
            if dim is None or dim not in metric.breakdowns:
                allowed = metric.breakdowns
                rule = (f"'{metric.id}' has no breakdowns: leave the breakdown blank" if not allowed else
                        f"'{metric.id}' has no breakdown '{btext}'; its breakdowns are: {', '.join(allowed)}")
                close = difflib.get_close_matches(_header_key(btext), allowed, n=1, cutoff=0.5)
                bad("breakdown_not_allowed", "breakdown", rule, suggestion=_did_you_mean(close))
                dim = None
        elif len(metric.breakdowns) == 1:
            dim = metric.breakdowns[0]  # the metric has one dimension: the value says which category
        else:
            dim = None
            rule = (f"'{metric.id}' has no breakdowns: leave the breakdown value blank" if not metric.breakdowns else
                    f"a breakdown value needs its breakdown; '{metric.id}' has: {', '.join(metric.breakdowns)}")
            if metric.breakdowns:
                bad("breakdown_value_missing", "breakdown", rule, value="")
            else:
                bad("breakdown_not_allowed", "breakdown_value", rule)
        if dim is not None:
            if not bvtext:
                bad("breakdown_value_missing", "breakdown_value",
                    f"the breakdown '{dim}' needs a value: one of {', '.join(chk.registry.breakdowns[dim].values)}")
            else:
                code = chk.breakdown_value(dim, bvtext)
                if code is None and isinstance(bvcell.raw, (dt.date, dt.datetime)):
                    code = _code_from_date(chk, dim, bvcell.raw)
                    if code is not None:
                        bad("breakdown_value_was_date", "breakdown_value",
                            f"Excel has turned '{code}' into a date; read as '{code}'. Format the column as Text to "
                            "keep it as typed", severity="warning")
                if code is None:
                    values = chk.registry.breakdowns[dim].values
                    options = {_norm_label(c): c for c in values}
                    options.update({_norm_label(lab): c for c, lab in values.items()})
                    close = difflib.get_close_matches(_norm_label(bvtext), list(options), n=3, cutoff=0.5)
                    bad("unknown_breakdown_value", "breakdown_value",
                        f"not a value of the breakdown '{dim}': use one of "
                        + ", ".join(f"{c} ({lab})" for c, lab in values.items()),
                        suggestion=_did_you_mean(list(dict.fromkeys(options[c] for c in close))[:2]))
                else:
                    breakdown, bvalue = dim, code

    # agency
    agency = text("agency")
    if metric is not None and agency and metric.agencies:
        match = chk.agency(metric, agency)
        if match is None:
            close = difflib.get_close_matches(agency, metric.agencies, n=1, cutoff=0.6)
            bad("agency_not_listed", "agency",
                f"'{metric.id}' lists the agencies {', '.join(metric.agencies)}; this row is loaded under "
                f"'{agency}' but check the spelling", severity="warning", suggestion=_did_you_mean(close))
        else:
            agency = match

    value = status = None
    num = den = published = None
    if metric is not None and len(nums) == 3:
        value, status, num, den, published = _values(metric, nums, bad, chk.whole_parts[metric.id])

    errors_now = chk.error_count
    if errors_now > errors_before or metric is None or area is None or period_end is None:
        if metric is not None and area is not None and period_end is not None:
            chk.refused_cells.add((metric.id, area, period_end, agency))
        return

    key = (metric.id, area, period_end, agency, breakdown, bvalue)
    if key in chk.seen:
        first_sheet, first_row = chk.seen[key]
        bad("duplicate_row", "metric_id", f"the same metric, area, period, agency and breakdown are already given on "
            f"{_where(first_sheet, first_row)}: give each figure once", value=mid)
        return
    chk.seen[key] = (sheet, n)
    note = _clean(cell("note").text) if not cell("note").blank else ""
    chk.rows.append({
        "metric_id": metric.id,
        "area_code": area,
        "period_end": period_end,
        "period_label": period_label(metric.period_type, period_end),
        "agency": agency,
        "breakdown": breakdown,
        "breakdown_value": bvalue,
        "value": value,
        "numerator": num,
        "denominator": den,
        "published_value": published,
        "status": status,
        "note": note or None,
        "sheet": sheet,
        "row": n,
        "_places": nums["value"].places if nums["value"].value is not None else metric.decimals,
    })


def _in_future(end: dt.date, today: dt.date) -> str:
    return (f"the period ends on {_long(end)}, after today ({_long(today)}): a return gives figures for periods "
            "that have ended. Check the year")


def _code_from_date(chk: _Checker, dim: str, d: dt.date) -> str | None:
    """The code Excel most likely turned into date ``d`` ("5-11" becomes 5 November), if exactly one fits."""
    codes = {chk.breakdown_value(dim, f"{a}-{b}") for a, b in ((d.day, d.month), (d.month, d.day))}
    codes.discard(None)
    return codes.pop() if len(codes) == 1 else None
