"""Cells, tables and numbers: one cell as read from a CSV or a workbook, a table of rows, and
a cell read as a number (or a suppression symbol, or the reason it is not one).

The lowest layer of the package: it imports nothing else of it.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ...analysis.rates import SUPPRESSION_SYMBOLS, parse_published

_EXCEL_ERRORS = ("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#SPILL!", "#CALC!",
                 "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!")
_LARGEST = 1e12  # no count, rate or population in a return comes near this
_TOO_LARGE = ("out_of_range", f"too large to be a figure in a return (more than {_LARGEST:,.0f})", None)


# --------------------------------------------------------------------------- cells and tables


class _Cell:
    """One cell: ``raw`` (text for CSV; the typed value openpyxl gives for XLSX), ``text`` (what a
    person sees), ``percent`` (an XLSX number formatted as a percentage: raw is the fraction)."""

    __slots__ = ("raw", "text", "percent", "blank")

    def __init__(self, raw: object, text: str, percent: bool = False):
        self.raw = raw
        self.text = text
        self.percent = percent
        self.blank = raw is None or (isinstance(raw, str) and (not raw or raw.isspace()))


_BLANK = _Cell(None, "")  # a cell beyond the end of a row
_EMPTY = _Cell("", "")  # an empty CSV cell (shared: cells are never changed)


@dataclass
class _Table:
    sheet: str | None
    rows: list[tuple[int, list[_Cell]]]  # (row number as a person sees it, cells); header first
    epoch: dt.date = dt.date(1899, 12, 30)  # day 0 of Excel serial numbers
    merged: list[str] = field(default_factory=list)  # merged ranges of a worksheet, as "A3:A5"


class _TooManyRows(Exception):
    pass


def _clean(text: str) -> str:
    """Text with surrounding white space removed (``str.strip`` also removes non-breaking spaces)."""
    return text.strip()


def _fmt(x: float | int | Decimal) -> str:
    """A number as an analyst would write it: 297, 48.64, 41,750."""
    d = Decimal(repr(float(x))) if isinstance(x, float) else Decimal(x)
    if not d.is_finite():
        return str(d)
    if d and not Decimal("1e-6") <= abs(d) < Decimal("1e15"):
        return f"{float(d):.6g}"
    if d == d.to_integral_value():
        return f"{int(d):,}"
    return f"{d.normalize():,f}"


# --------------------------------------------------------------------------- numbers


@dataclass
class _Num:
    value: float | None = None
    status: str = ""  # a suppression symbol, lower case
    places: int = 0  # decimal places as written
    percent: bool = False  # written as a percentage ("42%", or a %-formatted cell)
    error: tuple[str, str, str | None] | None = None  # (code, rule, suggestion)


def _places(d: Decimal) -> int:
    exp = d.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def _number(cell: _Cell) -> _Num:
    """A cell as a number, a suppression symbol, blank, or an error saying why not."""
    raw = cell.raw
    if cell.blank:
        return _Num()
    if isinstance(raw, bool) or isinstance(raw, (dt.date, dt.datetime)):
        what = "a date" if isinstance(raw, (dt.date, dt.datetime)) else "TRUE or FALSE"
        return _Num(error=("not_a_number", f"a number is needed here, not {what}", None))
    if isinstance(raw, (int, float)):
        d = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
        if cell.percent:
            d = d * 100
        if not abs(d) <= _LARGEST:
            return _Num(error=_TOO_LARGE)
        return _Num(float(d), places=_places(d), percent=cell.percent)
    text = _clean(str(raw))
    if text.upper() in _EXCEL_ERRORS:
        return _Num(error=("excel_error", f"the cell shows the Excel error {text}: fix the formula or type the figure",
                           None))
    text = text.replace("\u2212", "-")  # a typographic minus sign
    pct = False
    if text.endswith("%"):
        pct, text = True, text[:-1].rstrip()
    try:
        x, status = parse_published(text)
    except ValueError:
        x, status = None, "bad"
    if status == "" and x is not None and not abs(x) <= _LARGEST:
        return _Num(error=_TOO_LARGE)
    if status == "" and x is not None:
        try:
            d = Decimal(text.replace(",", ""))
        except InvalidOperation:
            d = Decimal(repr(x))
        return _Num(x, places=_places(d), percent=pct)
    if status in SUPPRESSION_SYMBOLS and not pct:
        return _Num(status=status)
    low = text.lower()
    suggestion = None
    if low in ("n/a", "na", "-", "--", "\u2013", "\u2014", "nil", "none", "null", "not available", "."):
        suggestion = ("for a figure that is not available write x, for one that does not apply write z, "
                      "and for a suppressed small number write c")
    elif re.fullmatch(r"[+-]?\d+,\d{1,2}", text):
        suggestion = "write decimals with a point (12.5), not a comma"
    elif "," in text and re.search(r"\d", text):
        suggestion = "commas are allowed only as thousands separators, as in 1,234"
    return _Num(error=("not_a_number", "not a number", suggestion))
