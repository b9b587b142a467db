"""Target rows: a targets sheet's required columns, then each target's metric, value, span,
source, tolerance and agency.
"""
from __future__ import annotations

import datetime as dt
import difflib

from ...registry import Unit
from .cells import _Cell, _clean, _number, _Table
from .checker import _Checker
from .columns import TARGET_ALIASES, TARGET_COLUMNS, _did_you_mean
from .periods import _any_end, _fit, _parse_period
from .tables import _check_fractions, _check_merged, _column_map, _count_rows, _each_row, _Row
from .values import _UNIT_WORDS

_TRUE = {"yes", "y", "true", "1", "x", "illustrative"}
_FALSE = {"no", "n", "false", "0", ""}


def _targets_table(chk: _Checker, table: _Table) -> None:
    header_row = table.rows[0][0]
    _check_merged(chk, table)
    index, written = _column_map(chk, table, TARGET_COLUMNS, TARGET_ALIASES)
    missing = [c for c in ("metric_id", "target", "source") if c not in index]
    if missing:
        chk.add("missing_columns", f"required column(s) missing from the targets header: {', '.join(missing)} "
                f"(the columns are {', '.join(TARGET_COLUMNS)})", sheet=table.sheet, row=header_row,
                column=", ".join(missing), value="")
        return
    chk.targets_read += _count_rows(table)
    _each_row(chk, table, lambda n, cells: _target_row(chk, table, n, cells, index, written))
    _check_fractions(chk, table, index, written, "target")


def _target_row(chk: _Checker, table: _Table, n: int, cells: list[_Cell], index: dict[str, int],
                written: dict[str, str]) -> None:
    sheet = table.sheet
    errors_before = chk.error_count
    row = _Row(chk, table, n, cells, index, written)
    cell, text, bad = row.cell, row.text, row.bad

    mid, metric = row.metric("target")

    target = _number(cell("target"))
    value: float | None = None
    if cell("target").blank:
        bad("required_blank", "target", "the target is blank")
    elif target.error:
        code, rule, suggestion = target.error
        bad(code, "target", rule, suggestion=suggestion)
    elif target.status:
        bad("not_a_number", "target", "a target must be a number, not a suppression symbol")
    else:
        value = target.value
        if value < 0:
            bad("negative", "target", "must not be negative")
        elif metric is not None and target.percent and metric.unit is not Unit.PERCENT:
            bad("percent_not_allowed", "target", f"a percentage is not allowed here: '{metric.id}' is "
                f"{_UNIT_WORDS[metric.unit]}")
        elif metric is not None and metric.unit is Unit.PERCENT and value > 100:
            bad("percent_above_100", "target", "a percentage cannot be above 100")

    ends: dict[str, dt.date | None] = {"from": None, "to": None}
    spans_known = True  # False when from or to cannot be read, or are the wrong way round
    for key in ("from", "to"):
        c = cell(key)
        if c.blank:
            continue
        readings, why = _parse_period(c, table.epoch)
        if not readings:
            bad("unreadable_period", key, why or "not a date we can read")
            spans_known = False
        else:
            pt = metric.period_type if metric else None
            fitting = [p for p in readings if pt is not None and _fit(p, pt)]
            ends[key] = _any_end((fitting or readings)[0], pt)
    if ends["from"] and ends["to"] and ends["from"] > ends["to"]:
        bad("from_after_to", "from", f"the target starts ({ends['from']:%d/%m/%Y}) after it ends "
            f"({ends['to']:%d/%m/%Y})")
        spans_known = False

    source = text("source")
    if not source:
        bad("required_blank", "source", "every target needs a source: who set it, and where (e.g. 'CQC target', "
            "'Board decision, 12 June 2017')")

    tol = _number(cell("tolerance"))
    tolerance: float | None = None
    if tol.error:
        code, rule, suggestion = tol.error
        bad(code, "tolerance", rule, suggestion=suggestion)
    elif tol.status:
        bad("not_a_number", "tolerance", "a tolerance must be a number")
    elif tol.value is not None:
        if tol.value < 0:
            bad("negative", "tolerance", "must not be negative")
        else:
            tolerance = tol.value
    kind_text = text("tolerance_kind").lower()
    kind: str | None = None
    if kind_text:
        if kind_text in ("absolute", "relative"):
            kind = kind_text
        else:
            bad("bad_tolerance_kind", "tolerance_kind", "write absolute (in the metric's unit) or relative (per cent "
                "of the target)", suggestion=_did_you_mean(difflib.get_close_matches(kind_text,
                                                                                    ["absolute", "relative"], n=1)))
    elif tolerance is not None:
        kind = "absolute"
    if tolerance is None:
        kind = None

    ill = cell("illustrative")
    illustrative = False
    if isinstance(ill.raw, bool):
        illustrative = ill.raw
    elif isinstance(ill.raw, (int, float)) and ill.raw in (0, 1):
        illustrative = bool(ill.raw)
    else:
        t = "" if ill.blank else _clean(ill.text).lower()
        if t in _TRUE:
            illustrative = True
        elif t not in _FALSE:
            bad("bad_illustrative", "illustrative", "write yes for an example target that nobody set, or leave blank")

    agency = text("agency")
    if metric is not None and agency and metric.agencies:
        match = chk.agency(metric, agency)
        if match is None:
            bad("agency_not_listed", "agency", f"'{metric.id}' lists the agencies {', '.join(metric.agencies)}",
                severity="warning", suggestion=_did_you_mean(difflib.get_close_matches(agency, metric.agencies, n=1)))
        else:
            agency = match

    if metric is None or value is None or (chk.error_count > errors_before and not spans_known):
        return
    chk.targets.append({
        # a target with another error is kept until the overlaps are checked, so that a target
        # overlapping it is still reported; it is dropped then
        "_refused": chk.error_count > errors_before,
        "metric_id": metric.id,
        "value": value,
        "start": ends["from"],
        "end": ends["to"],
        "agency": agency or None,
        "source": source,
        "tolerance": tolerance,
        "tolerance_kind": kind,
        "illustrative": illustrative,
        "sheet": sheet,
        "row": n,
        "_from": cell("from").text,
        "_from_column": written.get("from", "from"),
    })
