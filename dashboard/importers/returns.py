"""The partnership's performance-framework return: bytes in, normalised rows and every problem out.

A return is a CSV file or an Excel workbook (.xlsx) in long format, one value per row, with the
columns ``metric_id, period, value, numerator, denominator, breakdown, breakdown_value, agency,
area, note`` (see ``docs/data-format.md``). A workbook may have one sheet per agency or topic,
plus a ``targets`` sheet; a CSV whose header has ``target`` and no ``value`` is a targets file.

Rules of this module:

- :func:`parse_return` never raises on any input bytes. Every failure, from "not a spreadsheet"
  to one bad cell, becomes a :class:`Problem` naming the file, sheet, row (as a person sees it
  in Excel: the header is row 1), column (as headed in the file), the value and the rule.
- The whole file is checked before anything is returned, and every problem is reported at once.
  A file with any problem of severity ``"error"`` must be refused whole (``ParsedReturn.ok`` is
  False); warnings are shown and the file is accepted.
- Harmless variations are normalised without complaint: header case and spaces, percent strings
  for percentage metrics, thousands separators, Excel dates and date serial numbers, UK and ISO
  dates, financial years, months and quarters, a byte-order mark, CRLF line ends, blank lines,
  and DfE's suppression symbols (kept as a status with no value, never as 0). Text that is not
  UTF-8 is read as Windows-1252, with a warning.
- Values computed from a numerator and denominator use the metric's unit and decimals, with
  DfE's half-up rounding (:mod:`dashboard.analysis.rates`).
"""
from __future__ import annotations

import calendar
import csv
import datetime as dt
import difflib
import hashlib
import io
import logging
import math
import re
import warnings
import zipfile
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from html import unescape
from pathlib import PurePosixPath, PureWindowsPath

from ..analysis.rates import SUPPRESSION_SYMBOLS, caseload, parse_published, percentage, rate_per_10000
from ..periods import period_label
from ..registry import Metric, PeriodType, Registry, Unit

# --------------------------------------------------------------------------- the format

#: Columns of a data sheet, in the order the templates use.
COLUMNS = ["metric_id", "period", "value", "numerator", "denominator", "breakdown", "breakdown_value", "agency",
           "area", "note"]

#: Columns of a targets sheet, in the order the templates use.
TARGET_COLUMNS = ["metric_id", "target", "from", "to", "agency", "source", "tolerance", "tolerance_kind",
                  "illustrative"]

#: Other names accepted for a column (after lower-casing and turning spaces into "_").
ALIASES = {"period_end": "period", "area_code": "area"}
TARGET_ALIASES = {"start": "from", "end": "to", "value": "target", "period_from": "from", "period_to": "to"}

#: Workbook sheets that are never read as data (compared case-insensitively).
SKIPPED_SHEETS = ("readme", "notes", "instructions")
TARGETS_SHEET = "targets"

#: Plain descriptions of the rule codes a Problem can carry.
RULES = {
    "empty_file": "the file is empty",
    "not_a_return": "the file is neither a CSV text file nor an Excel workbook (.xlsx)",
    "old_excel_format": "an Excel 97-2003 workbook (.xls): save it as .xlsx or CSV",
    "unreadable_workbook": "the workbook could not be opened",
    "encoding_cp1252": "the text is not UTF-8 and was read as Windows-1252 (warning)",
    "csv_syntax": "a quote is opened and never closed",
    "no_rows": "the file has no data rows",
    "too_many_rows": "the file has more rows than allowed",
    "missing_columns": "required columns are missing from the header",
    "duplicate_column": "two columns have the same heading",
    "unknown_column": "a column heading is not recognised and the column is ignored (warning)",
    "too_many_fields": "a row has more cells than the header",
    "unheaded_cell": "a filled cell to the right of the last headed column is ignored (warning)",
    "required_blank": "a required cell is blank",
    "unknown_metric": "not a metric id in the registry",
    "unknown_area": "not a known DfE or GSS area code",
    "no_area": "no area given and no default area",
    "unreadable_period": "a period that cannot be read",
    "period_mismatch": "a period that does not fit the metric's period type",
    "period_in_future": "a period that ends after today",
    "period_too_early": "a period before the first year the metric can have figures for",
    "not_a_number": "a cell that must be a number is not one",
    "excel_error": "the cell holds an Excel error such as #DIV/0!",
    "percent_not_allowed": "a percentage given for a metric that is not a percentage",
    "out_of_range": "a number, or a value made from a numerator and denominator, too large to be real",
    "no_value": "neither a value nor a numerator and a denominator",
    "count_from_parts": "a count given as a numerator and a denominator",
    "negative": "a negative number",
    "zero_denominator": "a denominator of 0",
    "numerator_above_denominator": "a numerator above its denominator",
    "percent_above_100": "a percentage above 100",
    "value_mismatch": "the value does not match its numerator and denominator (warning)",
    "duplicate_row": "the same figure is given twice",
    "breakdown_not_allowed": "a breakdown the metric does not have",
    "breakdown_value_missing": "a breakdown without a breakdown value",
    "unknown_breakdown_value": "not one of the breakdown's values",
    "breakdown_value_was_date": "Excel turned a breakdown value into a date; read back as the value (warning)",
    "agency_not_listed": "an agency the metric does not list (warning)",
    "breakdown_total": "breakdown rows do not add up to their total (warning)",
    "breakdown_denominators": "breakdown rows give different totals (warning)",
    "from_after_to": "a target's 'from' is after its 'to'",
    "target_overlap": "two targets for the same metric and agency overlap in time",
    "bad_tolerance_kind": "tolerance_kind is not 'absolute' or 'relative'",
    "bad_illustrative": "illustrative is not yes or no",
    "merged_cells": "merged cells in a workbook",
    "percent_as_fraction": "every percentage in a column is at most 1: fractions instead of percentages? (warning)",
    "mojibake": "text that was garbled by a wrong character encoding",
    "fractional_count": "a count of children (or of people) with a fraction",
    "internal_error": "the file could not be checked: a fault in the importer",
}

_EXCEL_ERRORS = ("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#SPILL!", "#CALC!",
                 "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!")
_MAX_SHOWN = 120  # characters of a cell shown in a problem
_LARGEST = 1e12  # no count, rate or population in a return comes near this
log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- results


@dataclass
class Problem:
    """One thing wrong with a return, said so that an analyst can find and fix it.

    ``row`` is the row number a person sees in Excel (the header is row 1); ``None`` for the
    whole file. ``column`` is the heading as written in the file. ``code`` is a stable rule
    code (keys of :data:`RULES`); ``rule`` says the same in words, with the specifics.
    """

    file: str
    sheet: str | None
    row: int | None
    column: str | None
    value: str
    rule: str
    severity: str = "error"  # "error" refuses the file; "warning" is shown but accepted
    suggestion: str | None = None  # e.g. "did you mean 'cp_rate_31mar'?"
    code: str = ""

    def __str__(self) -> str:
        where = [self.file]
        if self.sheet is not None:
            where.append(f"sheet '{self.sheet}'")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.row is not None or self.column is not None or self.value:
            where.append(f"value {self.value!r}")
        text = f"{', '.join(where)}: {self.rule}"
        if self.suggestion:
            text += f"; {self.suggestion}"
        return text

    def to_dict(self) -> dict:
        return {**asdict(self), "message": str(self)}


@dataclass
class ParsedReturn:
    """A return read and checked: the rows and targets it gives, and every problem found.

    ``rows`` and ``targets`` hold only the entries that passed every check; when ``ok`` is
    False the caller must load none of them.
    """

    filename: str
    sha256: str
    size: int
    sheets: list[str] = field(default_factory=list)  # sheets read, in workbook order ([] for a CSV)
    rows: list[dict] = field(default_factory=list)
    targets: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    file_type: str = ""  # "csv" | "xlsx" | "" (not readable)
    encoding: str | None = None  # for a CSV: "utf-8", "utf-16" or "cp1252"
    skipped_sheets: list[str] = field(default_factory=list)  # readme/notes/instructions and empty sheets
    rows_read: int = 0  # rows of figures read (passed or not); len(rows) counts those that passed
    targets_read: int = 0  # target rows read (passed or not)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict:
        """Counts for a confirmation screen: rows per metric, and rows, targets and problems per sheet.

        Sheets are named as in the workbook; a CSV's single table is named by the file name.
        """
        per_metric: dict[str, int] = defaultdict(int)
        per_sheet: dict[str, dict[str, int]] = {}

        def sheet(name: str | None) -> dict[str, int]:
            return per_sheet.setdefault(name or self.filename, {"rows": 0, "targets": 0, "errors": 0, "warnings": 0})

        for name in self.sheets:
            sheet(name)
        for r in self.rows:
            per_metric[r["metric_id"]] += 1
            sheet(r["sheet"])["rows"] += 1
        for t in self.targets:
            sheet(t["sheet"])["targets"] += 1
        for p in self.problems:
            if p.sheet is not None or self.file_type == "csv":
                sheet(p.sheet)["errors" if p.severity == "error" else "warnings"] += 1
        return {
            "file": self.filename,
            "file_type": self.file_type,
            "sha256": self.sha256,
            "size": self.size,
            "accepted": self.ok,
            "rows": len(self.rows),
            "targets": len(self.targets),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "per_metric": dict(sorted(per_metric.items())),
            "per_sheet": per_sheet,
        }

    def raise_if_refused(self) -> "ParsedReturn":
        """``self`` when there are no errors; otherwise raise :class:`ReturnRefused`."""
        if not self.ok:
            raise ReturnRefused(self)
        return self


class ReturnRefused(ValueError):
    """A return with errors: nothing of it may be loaded. ``.parsed`` holds every problem."""

    def __init__(self, parsed: ParsedReturn):
        self.parsed = parsed
        errors = parsed.errors
        shown = "\n".join(f"  - {p}" for p in errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{parsed.filename} refused: {len(errors)} error(s)\n{shown}{more}")


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


def _shown(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


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


# --------------------------------------------------------------------------- reading


_CONTROL = re.compile(r"[\x01-\x08\x0b\x0e-\x19\x1b-\x1f]")


def _decode(data: bytes) -> tuple[str | None, str | None]:
    """(text, encoding), or (None, None) when the bytes are not text."""
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp1252"]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, UnicodeError):
            continue
        if "\x00" in text:
            return None, None
        controls = len(_CONTROL.findall(text))
        if controls > max(2, len(text) // 100):
            return None, None
        return text.replace("\x1a", ""), {"utf-8-sig": "utf-8"}.get(enc, enc)
    return None, None


def _header_key(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", _clean(text).lower())


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first non-blank line into the most recognised column names."""
    known = set(COLUMNS) | set(TARGET_COLUMNS) | set(ALIASES) | set(TARGET_ALIASES)
    first = next((line for line in text.splitlines() if line.strip()), "")
    best, best_score = ",", -1
    for delim in (",", "\t", ";"):
        try:
            cells = next(csv.reader([first], delimiter=delim))
        except (csv.Error, StopIteration):
            continue
        score = sum(1 for c in cells if _header_key(c) in known)
        if score > best_score:
            best, best_score = delim, score
    return best


def _read_csv(text: str, max_rows: int) -> tuple[_Table, str | None]:
    """The CSV as one table, and what is wrong with its syntax, if anything.

    The rows read before a syntax fault are kept; reading stops at the fault. A quote left open
    makes the rest of the file one cell: that is a fault at the row where the quote opened.
    """
    delim = _sniff_delimiter(text)
    rows: list[tuple[int, list[_Cell]]] = []
    counted = 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    n = 0
    try:
        for n, rec in enumerate(reader, start=1):
            cells = [_Cell(v, v) if v else _EMPTY for v in rec]
            if any(not c.blank for c in cells):
                counted += 1
                if counted > max_rows + 1:  # the header is not a data row
                    raise _TooManyRows
            rows.append((n, cells))
    except csv.Error as exc:
        msg = str(exc)
        if "field larger than field limit" in msg:
            why = f"a cell is longer than {csv.field_size_limit():,} characters: is a quote left open?"
        else:
            why = f"the CSV cannot be read from here on ({msg})"
        rows.append((n + 1, [_Cell("", "")]))
        return _Table(None, rows), why
    if rows and any("\n" in c.text or "\r" in c.text for c in rows[-1][1]):
        try:
            for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True):
                pass
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                return _Table(None, rows), ("a quote (\") opened in this row is never closed, so the rest of the file "
                                            "was read as one cell: close the quote or remove it")
    return _Table(None, rows), None


def _xlsx_cell(value: object, number_format: str | None) -> _Cell:
    if value is None:
        return _BLANK
    if isinstance(value, str):
        return _Cell(value, value)
    if isinstance(value, bool):
        return _Cell(value, "TRUE" if value else "FALSE")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return _Cell(str(value), str(value))
        pct = "%" in (number_format or "")
        if pct:
            return _Cell(value, f"{_fmt(Decimal(repr(value)) * 100)}%", percent=True)
        return _Cell(value, _fmt(value).replace(",", ""))
    if isinstance(value, dt.datetime):
        text = value.strftime("%d/%m/%Y") if value.time() == dt.time() else value.strftime("%d/%m/%Y %H:%M")
        return _Cell(value, text)
    if isinstance(value, dt.date):
        return _Cell(value, value.strftime("%d/%m/%Y"))
    return _Cell(str(value), str(value))  # times, durations: shown as text, read as text


def _read_xlsx(data: bytes, max_rows: int) -> tuple[list[_Table], list[str]]:
    """The workbook's sheets as tables, and the names of sheets skipped by name."""
    import openpyxl  # a runtime dependency; imported here so that CSV-only use does not pay for it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about features it drops (data validation extensions ...)
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        merged = _merged_ranges(data)
        try:
            mac = getattr(wb, "epoch", None) is not None and wb.epoch.year == 1904  # the old Mac date system
            epoch = dt.date(1904, 1, 1) if mac else dt.date(1899, 12, 30)
            tables, skipped = [], []
            counted = 0
            for ws in wb.worksheets:
                name = ws.title
                if _clean(name).lower() in SKIPPED_SHEETS:
                    skipped.append(name)
                    continue
                if not hasattr(ws, "iter_rows"):  # a chart sheet
                    skipped.append(name)
                    continue
                if hasattr(ws, "reset_dimensions"):
                    ws.reset_dimensions()  # the stored dimensions may be wrong: read every row
                rows: list[tuple[int, list[_Cell]]] = []
                seen_header = False
                for n, cells in enumerate(ws.iter_rows(), start=1):
                    row = [_xlsx_cell(getattr(c, "value", None), getattr(c, "number_format", None)) for c in cells]
                    while row and row[-1].blank:
                        row.pop()
                    if not row:
                        continue
                    if seen_header:
                        counted += 1
                        if counted > max_rows:
                            raise _TooManyRows
                    seen_header = True
                    rows.append((n, row))
                tables.append(_Table(name, rows, epoch, merged.get(name, [])))
            return tables, skipped
        finally:
            wb.close()


_RE_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Za-z]+\d+(?::[A-Za-z]+\d+)?)\"")
_RE_SHEET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_RE_REL = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")


def _attr(tag: bytes, name: bytes) -> str | None:
    m = re.search(rb"(?:^|\s)" + name + rb"=\"([^\"]*)\"", tag)
    if m is None:
        return None
    return unescape(m[1].decode("utf-8", "replace"))


def _merged_ranges(data: bytes) -> dict[str, list[str]]:
    """Sheet name -> merged ranges ("A3:A5"), read from the workbook's XML.

    openpyxl's read-only mode (used so that huge workbooks are read quickly) does not give merged
    cells, so they are read here from each worksheet's ``<mergeCells>``, which Excel writes after
    the cells. Best effort: a workbook this cannot read gives no merged ranges.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            book = z.read("xl/workbook.xml")
            rels_name = "xl/_rels/workbook.xml.rels"
            rels = z.read(rels_name) if rels_name in names else b""
            targets = {}
            for tag in _RE_REL.findall(rels):
                rid, target = _attr(tag, b"Id"), _attr(tag, b"Target")
                if rid and target:
                    target = target.lstrip("/")
                    targets[rid] = target if target.startswith("xl/") else f"xl/{target}"
            out: dict[str, list[str]] = {}
            for tag in _RE_SHEET.findall(book):
                name = _attr(tag, b"name")
                rid = _attr(tag, rb"\w+:id")
                path = targets.get(rid or "")
                if name is None or path is None or path not in names:
                    continue
                ranges: dict[str, None] = {}
                with z.open(path) as f:  # read in pieces: a sheet's XML can be far larger than the file
                    tail = b""
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        buf = tail + chunk
                        if b"mergeCell" in buf:
                            ranges.update((r.decode("ascii").upper(), None) for r in _RE_MERGE.findall(buf))
                        tail = buf[-256:]
                if ranges:
                    out[name] = list(ranges)
            return out
    except Exception:  # noqa: BLE001 - only a check added to the reading; openpyxl reports a damaged file
        return {}


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
            return _Num(error=("out_of_range", f"too large to be a figure in a return (more than {_LARGEST:,.0f})",
                               None))
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
        return _Num(error=("out_of_range", f"too large to be a figure in a return (more than {_LARGEST:,.0f})", None))
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


# --------------------------------------------------------------------------- periods

_MONTHS = {name: i for i, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
     ("nov", "november"), ("dec", "december")], start=1) for name in names}

_RE_TIME = re.compile(r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$")
_RE_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_RE_UK = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})")
_RE_UK_LONG = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?[\s\-/]*([a-z]+)\.?[\s\-/,]*(\d{4}|\d{2})")
_RE_FY = re.compile(r"(?:fy\s*)?(\d{4})\s*[-/\u2013]\s*(\d{4}|\d{2})")
_RE_MONTH_NAME = re.compile(r"([a-z]+)\.?[\s\-/,]*(\d{4}|\d{2})")
_RE_YM = re.compile(r"(\d{4})[-/.](\d{1,2})")
_RE_MY = re.compile(r"(\d{1,2})[-/.](\d{4})")
_RE_Q_FIRST = re.compile(r"(?:q|quarter\s*)([1-4])[\s,\-/]*(?:fy\s*)?(\d{4})\s*[-/\u2013]\s*(\d{4}|\d{2})")
_RE_Q_LAST = re.compile(r"(?:fy\s*)?(\d{4})\s*[-/\u2013]\s*(\d{4}|\d{2})[\s,\-/]*(?:q|quarter\s*)([1-4])")
_RE_YEAR = re.compile(r"\d{4}")
_RE_SERIAL = re.compile(r"\d{5}(?:\.0+)?")


@dataclass(frozen=True)
class _Period:
    form: str  # "date" | "year" | "fy" | "month" | "quarter"
    end: dt.date | None  # the period end; None for a bare year (it depends on the metric)
    year: int | None = None


def _year(text: str) -> int:
    y = int(text)
    return 2000 + y if len(text) == 2 else y


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _fy_end(first: str, second: str) -> int | None:
    """The calendar year a financial year "2016-17" / "2016-2017" ends in, or None if not consecutive."""
    start = int(first)
    end = int(second) if len(second) == 4 else (start // 100) * 100 + int(second)
    if len(second) == 2 and end < start:
        end += 100
    return end if end == start + 1 else None


def _quarter_end(fy_end: int, q: int) -> dt.date:
    """Financial quarters: Q1 ends 30 June, Q2 30 September, Q3 31 December, Q4 31 March."""
    return {1: dt.date(fy_end - 1, 6, 30), 2: dt.date(fy_end - 1, 9, 30), 3: dt.date(fy_end - 1, 12, 31),
            4: dt.date(fy_end, 3, 31)}[q]


_PERIOD_FORMS = ("a date (31/03/2017 or 2017-03-31), a financial year (2016-17), a month (Mar 2017 or 2017-03) "
                 "or a quarter (2016-17 Q4)")


def _parse_period(cell: _Cell, epoch: dt.date) -> tuple[list[_Period], str | None]:
    """Every reading of a period cell, most likely first, or ([], why it cannot be read)."""
    raw = cell.raw
    if isinstance(raw, dt.datetime):
        return [_Period("date", raw.date())], None
    if isinstance(raw, dt.date):
        return [_Period("date", raw)], None
    if isinstance(raw, bool):
        return [], f"not a period; write {_PERIOD_FORMS}"
    if isinstance(raw, (int, float)):
        if not math.isfinite(raw) or raw != int(raw):
            return [], f"not a period; write {_PERIOD_FORMS}"
        text = str(int(raw))
    else:
        text = _clean(str(raw)).lower()
    text = re.sub(r"\s+", " ", text)
    try:
        return _parse_period_text(text, epoch)
    except (ValueError, OverflowError):
        return [], f"not a real date; write {_PERIOD_FORMS}"


def _parse_period_text(text: str, epoch: dt.date) -> tuple[list[_Period], str | None]:
    bare = _RE_TIME.sub("", text) if ":" in text else text
    if m := _RE_ISO.fullmatch(bare):
        return _date_or_why(int(m[1]), int(m[2]), int(m[3]))
    if m := _RE_UK.fullmatch(bare):
        return _date_or_why(_year(m[3]), int(m[2]), int(m[1]))
    if (m := _RE_UK_LONG.fullmatch(text)) and m[2] in _MONTHS:
        return _date_or_why(_year(m[3]), _MONTHS[m[2]], int(m[1]))
    if m := _RE_Q_FIRST.fullmatch(text):
        fy = _fy_end(m[2], m[3])
        return ([_Period("quarter", _quarter_end(fy, int(m[1])))], None) if fy else ([], _not_consecutive(m[2], m[3]))
    if m := _RE_Q_LAST.fullmatch(text):
        fy = _fy_end(m[1], m[2])
        return ([_Period("quarter", _quarter_end(fy, int(m[3])))], None) if fy else ([], _not_consecutive(m[1], m[2]))
    out: list[_Period] = []
    if m := _RE_FY.fullmatch(text):
        fy = _fy_end(m[1], m[2])
        if fy:
            out.append(_Period("fy", dt.date(fy, 3, 31)))
    if (m := _RE_YM.fullmatch(text)) and 1 <= int(m[2]) <= 12:
        out.append(_Period("month", _month_end(int(m[1]), int(m[2]))))
    if out:
        return out, None
    if (m := _RE_MY.fullmatch(text)) and 1 <= int(m[1]) <= 12:
        return [_Period("month", _month_end(int(m[2]), int(m[1])))], None
    if (m := _RE_MONTH_NAME.fullmatch(text)) and m[1] in _MONTHS:
        return [_Period("month", _month_end(_year(m[2]), _MONTHS[m[1]]))], None
    if _RE_YEAR.fullmatch(text) and 1900 <= int(text) <= 2200:
        return [_Period("year", None, int(text))], None
    if _RE_SERIAL.fullmatch(text):
        n = int(float(text))
        day = epoch + dt.timedelta(days=n)
        if dt.date(1950, 1, 1) <= day <= dt.date(2100, 12, 31):
            return [_Period("date", day)], None
    if m := _RE_FY.fullmatch(text):
        return [], _not_consecutive(m[1], m[2])
    return [], f"not a period we can read; write {_PERIOD_FORMS}"


def _not_consecutive(first: str, second: str) -> str:
    return f"{first}-{second} is not a financial year: the two years must follow each other, as in 2016-17"


def _date_or_why(year: int, month: int, day: int) -> tuple[list[_Period], str | None]:
    if not 1900 <= year <= 2200:
        return [], f"the year {year} is not plausible; write {_PERIOD_FORMS}"
    try:
        return [_Period("date", dt.date(year, month, day))], None
    except ValueError:
        pass
    if 1 <= day <= 12 and 1 <= month <= 31 and month > 12:
        try:
            swapped = dt.date(year, day, month)
            return [], (f"not a real date (month {month}): dates are day/month/year, so "
                        f"{swapped.day:02d}/{swapped.month:02d}/{year} for {swapped:%d %B %Y}")
        except ValueError:
            pass
    return [], f"not a real date: there is no day {day} in month {month} of {year}"


def _is_month_end(d: dt.date) -> bool:
    return d == _month_end(d.year, d.month)


_EXPECTED_PERIOD = {
    PeriodType.YEAR_TO_31_MARCH: "is for the year to 31 March: write the financial year, as 2016-17 (or 31/03/2017)",
    PeriodType.SNAPSHOT_31_MARCH: "is a snapshot at 31 March: write 31/03/2017 (or the financial year, 2016-17)",
    PeriodType.SNAPSHOT_30_SEPTEMBER: "is a snapshot at 30 September: write 30/09/2017",
    PeriodType.YEAR_TO_30_SEPTEMBER: "is for the year to 30 September: write 30/09/2017",
    PeriodType.MONTH: "is monthly: write the month, as Mar 2017 (or its last day, 31/03/2017)",
    PeriodType.QUARTER: ("is quarterly: write the financial quarter, as 2016-17 Q4 (or its last day: 30/06, 30/09, "
                         "31/12 or 31/03)"),
}


def _long(d: dt.date) -> str:
    return f"{d.day} {d:%B %Y}"


def _describe(p: _Period) -> str:
    if p.form == "date":
        return f"the date {p.end.day} {p.end:%B %Y}"
    if p.form == "fy":
        return "a financial year"
    if p.form == "month":
        return f"the month {p.end:%B %Y}"
    if p.form == "quarter":
        return "a quarter"
    return f"the year {p.year}"


def _fit(p: _Period, pt: PeriodType) -> dt.date | None:
    """The period end ``p`` gives for a metric of period type ``pt``, or None if it does not fit."""
    if pt in (PeriodType.YEAR_TO_31_MARCH, PeriodType.SNAPSHOT_31_MARCH):
        if p.form == "year":
            return dt.date(p.year, 3, 31)
        if p.form in ("fy", "date") and (p.end.month, p.end.day) == (3, 31):
            return p.end
        return None
    if pt in (PeriodType.SNAPSHOT_30_SEPTEMBER, PeriodType.YEAR_TO_30_SEPTEMBER):
        if p.form == "year":
            return dt.date(p.year, 9, 30)
        if p.form == "date" and (p.end.month, p.end.day) == (9, 30):
            return p.end
        return None
    if pt is PeriodType.MONTH:
        if p.form == "month" or (p.form == "date" and _is_month_end(p.end)):
            return p.end
        return None
    if pt is PeriodType.QUARTER:
        if p.form == "quarter":
            return p.end
        if p.form in ("date", "month") and p.end.month in (3, 6, 9, 12) and _is_month_end(p.end):
            return p.end
        return None
    return None


def _any_end(p: _Period, pt: PeriodType | None) -> dt.date:
    """A period as a date for a target's from/to: any form, a bare year by the metric's period type."""
    if p.form == "year":
        if pt in (PeriodType.SNAPSHOT_30_SEPTEMBER, PeriodType.YEAR_TO_30_SEPTEMBER):
            return dt.date(p.year, 9, 30)
        return dt.date(p.year, 3, 31)
    return p.end


# --------------------------------------------------------------------------- the parser


class _Checker:
    """Holds the registry look-ups and collects problems for one file."""

    def __init__(self, filename: str, registry: Registry, area_codes: dict[str, str], default_area: str | None,
                 today: dt.date | None = None, area_names: dict[str, str] | None = None):
        self.file = filename
        self.today = today or dt.date.today()
        # an area's name (any case) -> its code as an analyst writes it ("thurrock" -> ("883", "Thurrock"))
        self.area_names = {_norm_label(str(k)): (str(v), str(k)) for k, v in (area_names or {}).items()}
        self.registry = registry
        self.metrics: dict[str, Metric] = {m.id: m for m in registry.metrics}
        self.metrics_lower = {m.id.lower(): m for m in registry.metrics}
        self.whole_parts = {m.id: _whole_parts(m) for m in registry.metrics}
        self.area_codes = {str(k).strip().upper(): v for k, v in area_codes.items()}
        self.default_area = default_area
        self.problems: list[Problem] = []
        self.error_count = 0
        self._suggestions: dict[str, str | None] = {}
        self._agencies: dict[tuple[str, str], str | None] = {}
        self.rows: list[dict] = []
        self.targets: list[dict] = []
        self.seen: dict[tuple, tuple[str | None, int]] = {}
        # (metric, area, period end, agency) of rows refused: their breakdowns cannot be added up
        self.refused_cells: set[tuple] = set()
        self.rows_read = 0  # data rows under a header, whether they passed or not
        self.targets_read = 0

    # -- problems --------------------------------------------------------------------------
    def add(self, code: str, rule: str, *, sheet: str | None = None, row: int | None = None, column: str | None = None,
            value: str = "", severity: str = "error", suggestion: str | None = None) -> None:
        self.problems.append(Problem(self.file, sheet, row, column, _shown(value or ""), rule, severity, suggestion,
                                     code))
        if severity == "error":
            self.error_count += 1

    def truncate(self, n: int) -> None:
        """Drop the problems after the first ``n`` (those of a row whose check failed part-way)."""
        del self.problems[n:]
        self.error_count = sum(1 for p in self.problems if p.severity == "error")

    # -- look-ups --------------------------------------------------------------------------
    def metric(self, text: str) -> Metric | None:
        return self.metrics.get(text) or self.metrics_lower.get(text.lower())

    def metric_suggestion(self, text: str) -> str | None:
        if text not in self._suggestions:
            self._suggestions[text] = self._metric_suggestion(text)
        return self._suggestions[text]

    def _metric_suggestion(self, text: str) -> str | None:
        names: dict[str, str] = {}
        for m in self.registry.metrics:
            names[m.id] = m.id
            names.setdefault(m.short_title.lower(), m.id)
            names.setdefault(m.title.lower(), m.id)
        close = difflib.get_close_matches(text.lower(), list(names), n=4, cutoff=0.6)
        ids = list(dict.fromkeys(names[c] for c in close))[:2]
        return _did_you_mean(ids)

    def area(self, text: str) -> str | None:
        """The GSS code for a DfE or GSS code as written (any case; "883.0" from a spreadsheet is 883)."""
        key = text.strip().upper()
        if re.fullmatch(r"\d+\.0+", key):
            key = key.split(".")[0]
        return self.area_codes.get(key)

    def area_suggestion(self, text: str) -> str | None:
        """"did you mean 883 (Thurrock)?" for an area written as its name (or nearly), when names are known."""
        if not self.area_names:
            return None
        key = _norm_label(text)
        hits = [key] if key in self.area_names else difflib.get_close_matches(key, list(self.area_names), n=2,
                                                                               cutoff=0.8)
        if not hits:
            return None
        return "did you mean " + " or ".join(f"{self.area_names[h][0]} ({self.area_names[h][1]})" for h in hits) + "?"

    def agency(self, metric: Metric, text: str) -> str | None:
        """The metric's own spelling of an agency it lists, matched ignoring case and spacing."""
        key = (metric.id, text)
        if key not in self._agencies:
            t = _norm_label(text)
            self._agencies[key] = next((a for a in metric.agencies if _norm_label(a) == t), None)
        return self._agencies[key]

    def breakdown_value(self, dimension: str, text: str) -> str | None:
        values = self.registry.breakdowns[dimension].values
        t = _norm_label(text)
        for code, label in values.items():
            if t in (_norm_label(code), _norm_label(label)):
                return code
        return None

    def breakdown_dimension(self, text: str) -> str | None:
        t = _norm_label(text)
        for key, b in self.registry.breakdowns.items():
            if t in (_norm_label(key), _norm_label(b.title), _norm_label(key.replace("_", " "))):
                return key
        return None


def _norm_label(text: str) -> str:
    t = _clean(text).lower().replace("\u2013", "-").replace("\u2014", "-")
    return re.sub(r"\s*-\s*", "-", re.sub(r"\s+", " ", t))


def _did_you_mean(options: list[str]) -> str | None:
    if not options:
        return None
    return "did you mean " + " or ".join(f"'{o}'" for o in options) + "?"


def _column_map(chk: _Checker, table: _Table, known: list[str],
                aliases: dict[str, str]) -> tuple[dict[str, int], dict[str, str]]:
    """(canonical column -> index, canonical column -> heading as written), with header problems reported."""
    header_row, header = table.rows[0]
    index: dict[str, int] = {}
    written: dict[str, str] = {}
    for i, cell in enumerate(header):
        if cell.blank:
            continue
        heading = _clean(cell.text)
        key = _header_key(heading)
        key = aliases.get(key, key)
        if key in known:
            if key in index:
                chk.add("duplicate_column", f"the column '{key}' appears twice (columns {_col_letter(index[key])} "
                        f"and {_col_letter(i)}); keep one", sheet=table.sheet, row=header_row, column=heading,
                        value=heading)
                continue
            index[key] = i
            written[key] = heading
        else:
            close = difflib.get_close_matches(key, known + list(aliases), n=1, cutoff=0.7)
            chk.add("unknown_column", "not a column of the return: it is ignored", sheet=table.sheet, row=header_row,
                    column=heading, value=heading, severity="warning",
                    suggestion=_did_you_mean([aliases.get(c, c) for c in close]))
    return index, written


def _col_letter(i: int) -> str:
    s, n = "", i + 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _is_targets(table: _Table) -> bool:
    if table.sheet is not None and _clean(table.sheet).lower() == TARGETS_SHEET:
        return True
    keys = {_header_key(c.text) for c in table.rows[0][1] if not c.blank}
    return "target" in keys and "value" not in keys and "numerator" not in keys


def _count_rows(table: _Table) -> int:
    return sum(1 for _, cells in table.rows[1:] if any(not c.blank for c in cells))


def _each_row(chk: "_Checker", table: _Table, check) -> None:
    """Run ``check(row_number, cells)`` on every non-blank row under the header, so that one row's
    fault (even a bug of ours) is reported against that row and never hides the other rows' problems."""
    header = table.rows[0][1]
    width = len(header)
    for n, cells in table.rows[1:]:
        if all(c.blank for c in cells):
            continue
        _check_mojibake(chk, table, n, cells, header)
        if _check_extra_cells(chk, table, n, cells, width):
            continue
        before = len(chk.problems)
        try:
            check(n, cells)
        except Exception as exc:  # noqa: BLE001 - a fault here must not hide the other rows' problems
            chk.truncate(before)
            chk.add("internal_error", f"this row could not be checked ({type(exc).__name__}: {exc}); please report it",
                    sheet=table.sheet, row=n)


#: What UTF-8 text looks like when read as Windows-1252 (or Latin-1): "é" becomes "Ã©", "–" becomes
#: "â€“", "’" becomes "â€™", "£" becomes "Â£". A lead character (Â-ß for two bytes, â for three) then
#: one or two characters that stand for the bytes 0x80-0xBF.
_CONT = "\u0080-\u00bf\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u017d" \
        "\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e\u0178"
_RE_MOJIBAKE = re.compile(f"[\u00c2\u00c3\u00c5\u00ce][{_CONT}]|\u00e2[{_CONT}][{_CONT}]")


def _unmangled(text: str) -> str | None:
    """The text as it was before UTF-8 was read as Windows-1252, or None if it cannot be told."""
    for enc in ("cp1252", "latin-1"):
        try:
            return text.encode(enc).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return None


def _check_mojibake(chk: _Checker, table: _Table, n: int, cells: list[_Cell], header: list[_Cell]) -> None:
    """Report every text cell that holds mis-decoded characters, such as "CafÃ© staff â€“"."""
    for i, c in enumerate(cells):
        if not isinstance(c.raw, str) or c.blank or c.raw.isascii():
            continue
        m = _RE_MOJIBAKE.search(c.raw)
        if m is None:
            continue
        fixed = _unmangled(m[0])
        meant = f" ('{m[0]}' is how '{fixed}' looks)" if fixed else ""
        column = _clean(header[i].text) if i < len(header) and not header[i].blank else _col_letter(i)
        chk.add("mojibake", f"the text is garbled by a wrong character encoding{meant}: the file mixes two "
                "encodings. Retype the text, or save the file again as 'CSV UTF-8' or as an Excel Workbook",
                sheet=table.sheet, row=n, column=column, value=c.text)


def _check_merged(chk: _Checker, table: _Table) -> None:
    """Merged cells keep their value in the first cell only: the rows under it would be read as blank."""
    if not table.merged:
        return
    header_row, header = table.rows[0]
    texts = {n: cells for n, cells in table.rows}

    def where(ref: str) -> tuple[int, int]:
        m = re.fullmatch(r"([A-Z]+)(\d+)", ref)
        col = 0
        for ch in m[1]:
            col = col * 26 + ord(ch) - 64
        return int(m[2]), col - 1

    for rng in sorted(table.merged, key=lambda r: where(r.split(":")[0])):
        first = rng.split(":")[0]
        row, col = where(first)
        column = _clean(header[col].text) if col < len(header) and not header[col].blank and row > header_row \
            else _col_letter(col)
        cells = texts.get(row, [])
        value = cells[col].text if col < len(cells) else ""
        chk.add("merged_cells", f"the cells {table.sheet}!{rng} are merged: only the first holds the value, so the "
                "other rows would be read as blank. Unmerge them and type the value in every row",
                sheet=table.sheet, row=row, column=column, value=value)


def _check_fractions(chk: _Checker, table: _Table, index: dict[str, int], written: dict[str, str],
                     value_key: str) -> None:
    """Warn when every percentage in a column is at most 1: 0.912 is 0.912%, but perhaps 91.2% was meant."""
    i = index.get(value_key)
    if i is None:
        return
    found: list[tuple[int, _Cell]] = []
    for n, cells in table.rows[1:]:
        metric = chk.metric(_get(cells, index, "metric_id").text.strip()) if "metric_id" in index else None
        if metric is None or metric.unit is not Unit.PERCENT or i >= len(cells):
            continue
        c = cells[i]
        num = _number(c)
        if num.error or num.value is None or num.percent or (isinstance(c.raw, str) and "%" in c.raw):
            continue
        if num.value > 1:
            return
        found.append((n, c))
    if not found or all(_number(c).value == 0 for _, c in found):
        return
    n0, c0 = found[0]
    rows = ", ".join(str(n) for n, _ in found[:10]) + (" ..." if len(found) > 10 else "")
    chk.add("percent_as_fraction", f"every percentage in this column is at most 1 (rows {rows}): are they "
            f"fractions? {c0.text} is read as {c0.text}%; if {_fmt(Decimal(repr(_number(c0).value)) * 100)}% is "
            "meant, write it as a percentage (91.2 or 91.2%, not 0.912)", sheet=table.sheet, row=n0,
            column=written.get(value_key, value_key), value=c0.text, severity="warning")


def _check_extra_cells(chk: _Checker, table: _Table, n: int, cells: list[_Cell], width: int) -> bool:
    """Report filled cells beyond the header's last column. True when the row must not be read.

    In a CSV a row with more cells than the header is an error, even when the extra cells are
    empty: a number such as 1,234 written without quotes has spilled into the next column, so
    every cell after it is in the wrong place. In a workbook a filled cell beyond the header is
    a comment typed beside the table: a warning, and the row is read.
    """
    if len(cells) <= width:
        return False
    extra = [(i, c) for i, c in enumerate(cells) if i >= width and not c.blank]
    if table.sheet is not None:
        for i, c in extra:
            chk.add("unheaded_cell", f"the cell in column {_col_letter(i)} has no heading, so it is ignored",
                    sheet=table.sheet, row=n, column=_col_letter(i), value=c.text, severity="warning")
        return False
    shown = ",".join(c.text for c in cells)
    chk.add("too_many_fields", f"the row has {len(cells)} cells but the header only {width}: a number with a "
            'thousands separator ("1,234") or a note with a comma must be in quotes, or a cell is in the wrong column',
            sheet=table.sheet, row=n, column=None, value=shown)
    return True


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


def _get(cells: list[_Cell], index: dict[str, int], key: str) -> _Cell:
    i = index.get(key)
    return cells[i] if i is not None and i < len(cells) else _BLANK


@dataclass
class _Row:
    """One spreadsheet row being checked: its cells by column key, and how to report a problem in it."""

    chk: "_Checker"
    table: _Table
    n: int
    cells: list[_Cell]
    index: dict[str, int]
    written: dict[str, str]

    def cell(self, key: str) -> _Cell:
        return _get(self.cells, self.index, key)

    def text(self, key: str) -> str:
        c = self.cell(key)
        return "" if c.blank else _clean(c.text)

    def bad(self, code: str, key: str, rule: str, *, severity: str = "error", suggestion: str | None = None,
            value: str | None = None) -> None:
        self.chk.add(code, rule, sheet=self.table.sheet, row=self.n, column=self.written.get(key, key),
                     value=self.cell(key).text if value is None else value, severity=severity, suggestion=suggestion)

    def metric(self, what: str) -> tuple[str, Metric | None]:
        """The row's metric id and its registry entry (None, with the problem reported, when unknown)."""
        mid = self.text("metric_id")
        if not mid:
            self.bad("required_blank", "metric_id", f"the metric_id is blank: every {what} needs one")
            return mid, None
        metric = self.chk.metric(mid)
        if metric is None:
            self.bad("unknown_metric", "metric_id", "not a metric id in the registry (data/metrics.yaml)",
                     suggestion=self.chk.metric_suggestion(mid))
        return mid, metric


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
                bad("period_in_future", "period",
                    f"the period ends on {_long(first.end)}, after today ({_long(chk.today)}): a return gives "
                    "figures for periods that have ended. Check the year")
        else:
            for p in readings:
                period_end = _fit(p, metric.period_type)
                if period_end is not None:
                    break
            if period_end is None:
                bad("period_mismatch", "period",
                    f"{_describe(readings[0])} does not fit: '{metric.id}' {_EXPECTED_PERIOD[metric.period_type]}")
            elif period_end > chk.today:
                bad("period_in_future", "period",
                    f"the period ends on {_long(period_end)}, after today ({_long(chk.today)}): a return gives "
                    "figures for periods that have ended. Check the year")
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
        where = f"row {first_row}" if first_sheet is None else f"sheet '{first_sheet}' row {first_row}"
        bad("duplicate_row", "metric_id", f"the same metric, area, period, agency and breakdown are already given on "
            f"{where}: give each figure once", value=mid)
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


def _code_from_date(chk: _Checker, dim: str, d: dt.date) -> str | None:
    """The code Excel most likely turned into date ``d`` ("5-11" becomes 5 November), if exactly one fits."""
    codes = {chk.breakdown_value(dim, f"{a}-{b}") for a, b in ((d.day, d.month), (d.month, d.day))}
    codes.discard(None)
    return codes.pop() if len(codes) == 1 else None


def _values(metric: Metric, nums: dict[str, _Num], bad, whole: bool) -> tuple:
    """(value, status, numerator, denominator, value as given), reporting the number rules.

    Each cell's own faults are reported, and so is every rule between cells whose cells are
    themselves sound: one problem never hides another on the same row.
    """
    v, n, d = nums["value"], nums["numerator"], nums["denominator"]
    is_pct = metric.unit is Unit.PERCENT
    faulty: set[str] = set()
    for key, x in (("value", v), ("numerator", n), ("denominator", d)):
        if x.percent and (key != "value" or not is_pct):
            what = "a numerator or denominator is a count" if key != "value" else (
                f"'{metric.id}' is {_UNIT_WORDS[metric.unit]}, not a percentage")
            bad("percent_not_allowed", key, f"a percentage is not allowed here: {what}")
            faulty.add(key)
        elif x.value is not None and x.value < 0:
            bad("negative", key, "must not be negative")
            faulty.add(key)
    if d.value == 0 and "denominator" not in faulty:
        bad("zero_denominator", "denominator", "a denominator of 0: a rate cannot be formed; leave the numerator and "
            "denominator blank and give the value, or a symbol such as z (not applicable)")
        faulty.add("denominator")
    if is_pct and v.value is not None and "value" not in faulty and v.value > 100:
        bad("percent_above_100", "value", "a percentage cannot be above 100")
        faulty.add("value")
    if is_pct and n.value is not None and d.value is not None and not {"numerator", "denominator"} & faulty \
            and n.value > d.value:
        bad("numerator_above_denominator", "numerator",
            f"the numerator {_fmt(n.value)} is greater than the denominator {_fmt(d.value)}: a percentage cannot be "
            "above 100")
        faulty.add("numerator")
    if n.value is not None and d.value is not None and not {"numerator", "denominator"} & faulty \
            and not abs(_exact(metric.unit, n.value, d.value)) <= _LARGEST:
        bad("out_of_range", "denominator", f"the value made from the numerator {_fmt(n.value)} and the denominator "
            f"{_fmt(d.value)} is too large to be real: check the denominator")
        faulty.add("denominator")
    for key, x in (("value", v), ("numerator", n), ("denominator", d)):
        if key in faulty or x.value is None or x.value == int(x.value):
            continue
        if key == "value" and metric.unit is Unit.COUNT:
            bad("fractional_count", key, f"'{metric.id}' is a count: {_fmt(x.value)} has a fraction; give a whole "
                "number")
            faulty.add(key)
        elif key != "value" and whole:
            bad("fractional_count", key, f"the {key} of '{metric.id}' is a number of "
                f"{'children' if metric.topic != 'training' else 'people'}: {_fmt(x.value)} has a fraction; give a "
                "whole number")
            faulty.add(key)
    if faulty:
        return None, "", None, None, None

    status = v.status or n.status or d.status
    if v.status:
        return None, status, n.value, d.value, None
    if v.value is not None:
        if n.value is not None and d.value is not None and metric.unit is not Unit.COUNT:
            exact = _exact(metric.unit, n.value, d.value)
            if abs(exact - Decimal(repr(v.value))) > Decimal(5) * Decimal(10) ** -(v.places + 1):
                shown = _fmt(float(_rounded(exact, metric.decimals)))
                bad("value_mismatch", "value",
                    f"the value {_fmt(v.value)} does not match the numerator and denominator "
                    f"({_fmt(n.value)} / {_fmt(d.value)} gives {shown}); the value is loaded as given",
                    severity="warning")
        return v.value, "", n.value, d.value, v.value
    if status:
        return None, status, n.value, d.value, None
    if n.value is None or d.value is None:
        missing = ("value" if n.value is None and d.value is None else
                   "denominator" if d.value is None else "numerator")
        bad("no_value", missing, "give a value, or a numerator and a denominator (or a symbol such as c or x for a "
            "figure that is suppressed or not available)")
        return None, "", None, None, None
    if metric.unit is Unit.COUNT:
        bad("count_from_parts", "value", f"'{metric.id}' is a count: give it in the value column, not as a numerator "
            "and a denominator")
        return None, "", None, None, None
    return _computed(metric, n.value, d.value), "", n.value, d.value, None


_UNIT_WORDS = {Unit.COUNT: "a count", Unit.PERCENT: "a percentage", Unit.RATE_PER_10000: "a rate per 10,000",
               Unit.DAYS: "a number of days", Unit.CASES_PER_FTE: "a number of cases per FTE"}

_SCALE = {Unit.PERCENT: 100, Unit.RATE_PER_10000: 10_000, Unit.DAYS: 1, Unit.CASES_PER_FTE: 1, Unit.COUNT: 1}


def _whole_parts(metric: Metric) -> bool:
    """True when a metric's numerator and denominator are numbers of children or people, so whole.

    Workforce metrics are made from full-time equivalents (FTE) and days, which have fractions;
    so are cases per FTE and days, whatever their topic.
    """
    if metric.unit not in (Unit.PERCENT, Unit.RATE_PER_10000) or metric.topic == "workforce":
        return False
    parts = f"{metric.numerator or ''} {metric.denominator or ''}".lower()
    return re.search(r"\b(fte|days)\b", parts) is None


def _exact(unit: Unit, num: float, den: float) -> Decimal:
    return Decimal(repr(float(num))) * _SCALE[unit] / Decimal(repr(float(den)))


def _rounded(x: Decimal, places: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 1000  # enough for any ratio of two floats
        return x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _computed(metric: Metric, num: float, den: float) -> float | None:
    """The value from its parts, by the metric's unit and decimals, rounded half up as DfE does."""
    if metric.unit is Unit.PERCENT:
        return percentage(num, den, metric.decimals)
    if metric.unit is Unit.RATE_PER_10000:
        return rate_per_10000(num, den, metric.decimals)
    return caseload(num, den, metric.decimals)  # a plain ratio (days per employee, cases per FTE)


def _breakdown_totals(chk: _Checker) -> None:
    """Warn where the categories of a partition breakdown do not add up to their total."""
    partitions = {k for k, b in chk.registry.breakdowns.items() if b.partition}
    totals = {(r["metric_id"], r["area_code"], r["period_end"], r["agency"]): r
              for r in chk.rows if not r["breakdown"]}
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in chk.rows:
        if r["breakdown"] in partitions:
            groups[(r["metric_id"], r["area_code"], r["period_end"], r["agency"], r["breakdown"])].append(r)
    for (mid, area, end, agency, dim), rows in groups.items():
        metric = chk.metrics[mid]
        title = chk.registry.breakdowns[dim].title.lower()
        who = f" for {agency}" if agency else ""
        label = rows[0]["period_label"]
        where = _rows_named(rows)
        first = rows[0]
        if any(r["status"] for r in rows) or (mid, area, end, agency) in chk.refused_cells:
            continue  # a suppressed or refused category cannot be added up
        if all(r["numerator"] is not None and r["denominator"] is not None for r in rows):
            dens = sorted({r["denominator"] for r in rows})
            if len(dens) > 1:
                chk.add("breakdown_denominators",
                        f"the {title} rows of '{mid}'{who}, {label}, give different totals "
                        f"({', '.join(_fmt(x) for x in dens)}) on {where}: they should share one",
                        sheet=first["sheet"], row=first["row"], column="denominator",
                        value=_fmt(first["denominator"]), severity="warning")
                continue
            s = sum(Decimal(repr(r["numerator"])) for r in rows)
            total = Decimal(repr(dens[0]))
            if s != total:
                chk.add("breakdown_total",
                        f"the {title} breakdown of '{mid}'{who}, {label}, adds up to {_fmt(s)}, not the total of "
                        f"{_fmt(total)} ({_gap(s, total)}), on {where}: loaded as given, and flagged",
                        sheet=first["sheet"], row=first["row"], column="numerator", value=_fmt(s), severity="warning")
            continue
        total_row = totals.get((mid, area, end, agency))
        if metric.unit is Unit.COUNT and total_row is not None and total_row["value"] is not None \
                and all(r["value"] is not None for r in rows):
            s = sum(Decimal(repr(r["value"])) for r in rows)
            total = Decimal(repr(total_row["value"]))
            if s != total:
                tw = f"row {total_row['row']}" if total_row["sheet"] is None else \
                    f"sheet '{total_row['sheet']}' row {total_row['row']}"
                chk.add("breakdown_total",
                        f"the {title} breakdown of '{mid}'{who}, {label}, adds up to {_fmt(s)}, not the total of "
                        f"{_fmt(total)} given on {tw} ({_gap(s, total)}), on {where}: loaded as given, "
                        "and flagged", sheet=first["sheet"], row=first["row"], column="value", value=_fmt(s),
                        severity="warning")
        elif metric.unit is Unit.PERCENT and all(r["value"] is not None and r["numerator"] is None for r in rows):
            s = sum(Decimal(repr(r["value"])) for r in rows)
            slack = sum(Decimal(5) * Decimal(10) ** -(r["_places"] + 1) for r in rows)
            if abs(s - 100) > slack:
                chk.add("breakdown_total",
                        f"the {title} percentages of '{mid}'{who}, {label}, add up to {_fmt(s)}%, not 100%, on "
                        f"{where}: loaded as given, and flagged", sheet=first["sheet"], row=first["row"],
                        column="value", value=f"{_fmt(s)}%", severity="warning")


def _gap(s: Decimal, total: Decimal) -> str:
    return f"{_fmt(s - total)} more" if s > total else f"{_fmt(total - s)} fewer"


def _rows_named(rows: list[dict]) -> str:
    sheets = {r["sheet"] for r in rows}
    nums = ", ".join(str(r["row"]) for r in rows)
    if sheets == {None}:
        return f"rows {nums}"
    if len(sheets) == 1:
        return f"sheet '{rows[0]['sheet']}' rows {nums}"
    return "; ".join(f"sheet '{r['sheet']}' row {r['row']}" for r in rows)


# --------------------------------------------------------------------------- targets


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


def _target_overlaps(chk: _Checker) -> None:
    by_key: dict[tuple, list[dict]] = defaultdict(list)
    for t in chk.targets:
        by_key[(t["metric_id"], t["agency"] or "")].append(t)
    bad_rows: set[int] = set()
    for (mid, agency), ts in by_key.items():
        for i, a in enumerate(ts):
            for b in ts[i + 1:]:
                a0, a1 = a["start"] or dt.date.min, a["end"] or dt.date.max
                b0, b1 = b["start"] or dt.date.min, b["end"] or dt.date.max
                if a0 <= b1 and b0 <= a1:
                    where = f"row {a['row']}" if a["sheet"] is None else f"sheet '{a['sheet']}' row {a['row']}"
                    who = f" for {agency}" if agency else " for all agencies"
                    chk.add("target_overlap",
                            f"this target for '{mid}'{who} ({_span(b)}) overlaps the one on {where} ({_span(a)}): "
                            "give each period one target, ending one before the next starts",
                            sheet=b["sheet"], row=b["row"], column=b["_from_column"], value=b["_from"])
                    bad_rows.add(id(b))
    chk.targets = [t for t in chk.targets if id(t) not in bad_rows and not t["_refused"]]


def _span(t: dict) -> str:
    s = f"{t['start']:%d/%m/%Y}" if t["start"] else "open start"
    e = f"{t['end']:%d/%m/%Y}" if t["end"] else "open end"
    return f"{_fmt(t['value'])}, {s} to {e}"


# --------------------------------------------------------------------------- entry point


def _basename(filename: str) -> str:
    name = PureWindowsPath(PurePosixPath(str(filename or "")).name).name
    return name or "return"


def parse_return(data: bytes, filename: str, registry: Registry, area_codes: dict[str, str], *,
                 default_area: str | None = None, max_rows: int = 100_000, today: dt.date | None = None,
                 area_names: dict[str, str] | None = None) -> ParsedReturn:
    """Read and check a return (CSV or XLSX bytes) against the registry.

    ``area_codes`` maps DfE three-digit codes and GSS codes to GSS codes. A row with a blank
    area takes ``default_area`` (a code in ``area_codes``); with no default it is an error.
    ``area_names`` maps area names to the code to suggest ("Thurrock" -> "883") for an area
    written as its name. More than ``max_rows`` data rows (all sheets together) refuse the
    file unread. A period ending after ``today`` (default: the date today) is refused.

    Never raises for any input: every failure is a :class:`Problem` in the result. The result's
    ``rows`` and ``targets`` hold the entries that passed; load them only when ``ok``.
    """
    data = bytes(data or b"")
    name = _basename(filename)
    out = ParsedReturn(filename=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    chk = _Checker(name, registry, area_codes, default_area, today=today, area_names=area_names)
    if default_area is not None and chk.area(str(default_area)) is None:
        chk.add("unknown_area", f"the default area chosen for blank area cells, {default_area!r}, is not a known DfE "
                "or GSS area code")
    try:
        _parse(data, out, chk, max_rows)
    except _TooManyRows:
        chk.rows, chk.targets = [], []
        chk.problems = [p for p in chk.problems if p.row is None]
        chk.add("too_many_rows", f"the file has more than {max_rows:,} rows of figures: split it into smaller files")
    except Exception as exc:  # noqa: BLE001 - the promise is: a Problem, never an exception
        chk.add("internal_error", f"the file could not be checked ({type(exc).__name__}: {exc}); please report it")
    out.problems = chk.problems
    for r in chk.rows:
        r.pop("_places", None)
    for t in chk.targets:
        t.pop("_from", None)
        t.pop("_from_column", None)
    out.rows = chk.rows
    out.targets = [t for t in chk.targets if not t.pop("_refused", False)]
    out.rows_read, out.targets_read = chk.rows_read, chk.targets_read
    if not out.ok:
        for p in out.problems:
            if p.severity != "error":
                p.rule = _as_refused(p.rule)
    return out


#: Warnings say what happens when the file is loaded; in a refused file nothing is.
_REFUSED_WORDS = (
    (": loaded as given, and flagged", ": it would be loaded as given, and flagged, but the file is refused"),
    ("; the value is loaded as given", "; the value would be loaded as given, but the file is refused"),
    ("this row is loaded under", "this row would be loaded under"),
)


def _as_refused(rule: str) -> str:
    for old, new in _REFUSED_WORDS:
        rule = rule.replace(old, new)
    return rule


def _parse(data: bytes, out: ParsedReturn, chk: _Checker, max_rows: int) -> None:
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        chk.add("empty_file", "the file is empty: nothing to load")
        return
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        chk.add("old_excel_format", "this is an Excel 97-2003 workbook (.xls) or another old Office file: open it in "
                "Excel and save it as an Excel Workbook (.xlsx) or as CSV UTF-8")
        return
    if data.startswith(b"PK"):
        out.file_type = "xlsx"
        try:
            tables, skipped = _read_xlsx(data, max_rows)
        except _TooManyRows:
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged zip, bad XML, another kind of zip: all one answer
            chk.add("unreadable_workbook", f"the file starts like an Excel workbook (.xlsx) but cannot be opened as "
                    f"one{_zip_kind(data)}: save it again from Excel as an Excel Workbook (.xlsx), or as CSV UTF-8")
            log.info("unreadable workbook %s: %r", chk.file, exc)
            return
        out.skipped_sheets = list(skipped)
        used = []
        for t in tables:
            if len(t.rows) < 2:  # empty, or a header and nothing under it
                out.skipped_sheets.append(t.sheet)
            else:
                used.append(t)
        out.sheets = [t.sheet for t in used]
        if not used:
            chk.add("no_rows", "the workbook has no sheet with a header row and figures under it"
                    + (f" (skipped: {', '.join(out.skipped_sheets)})" if out.skipped_sheets else ""))
            return
        _check_tables(chk, used)
        return
    text, encoding = _decode(data)
    if text is None:
        chk.add("not_a_return", "this is neither a CSV text file nor an Excel workbook (.xlsx): save the return from "
                "Excel as CSV UTF-8 or as an Excel Workbook")
        return
    out.file_type, out.encoding = "csv", encoding
    if encoding == "cp1252":
        chk.add("encoding_cp1252", "the file is not UTF-8, so it was read as Windows-1252: check that accented letters "
                "(such as é) look right, and save as 'CSV UTF-8' next time", severity="warning")
    table, syntax = _read_csv(text, max_rows)
    if syntax:
        # The rows before the fault are read and checked as usual: their problems are independent of it.
        n, cells = table.rows[-1]
        table.rows = [(m, c) for m, c in table.rows[:-1] if any(not x.blank for x in c)]
        if len(table.rows) >= 2:
            _check_tables(chk, [table])
        chk.add("csv_syntax", syntax, row=n,
                value=next((c.text for c in cells if "\n" in c.text or "\r" in c.text), ""))
        return
    table.rows = [(n, cells) for n, cells in table.rows if any(not c.blank for c in cells)]
    if not table.rows:
        chk.add("empty_file", "the file has no text in it: nothing to load")
        return
    if len(table.rows) < 2:
        chk.add("no_rows", "the file has a header but no rows of figures under it", row=table.rows[0][0])
        return
    _check_tables(chk, [table])


def _zip_kind(data: bytes) -> str:
    """What a zip that openpyxl cannot open seems to be, as words to add to the message ("" if unknown)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            if "mimetype" in names and b"opendocument" in z.read("mimetype")[:100]:
                return " (it looks like an OpenDocument file, such as LibreOffice .ods)"
            if "word/document.xml" in names:
                return " (it looks like a Word document)"
    except Exception:  # noqa: BLE001 - only a hint
        return ""
    return ""


def _check_tables(chk: _Checker, tables: list[_Table]) -> None:
    for t in tables:
        if _is_targets(t):
            _targets_table(chk, t)
        else:
            _data_table(chk, t)
    _breakdown_totals(chk)
    _target_overlaps(chk)


__all__ = [
    "COLUMNS",
    "ParsedReturn",
    "Problem",
    "RULES",
    "ReturnRefused",
    "SKIPPED_SHEETS",
    "TARGET_COLUMNS",
    "parse_return",
]


def read_return_file(path, registry: Registry, area_codes: dict[str, str], *,
                     default_area: str | None = None) -> tuple[ParsedReturn, dict]:
    """A return kept in ``data/local/`` with its sidecar ``<name>.source.yaml``: (parsed, source)."""
    from pathlib import Path

    import yaml

    path = Path(path)
    data = path.read_bytes()
    parsed = parse_return(data, path.name, registry, area_codes, default_area=default_area)
    sidecar = path.with_suffix(".source.yaml")
    meta = (yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}) if sidecar.exists() else {}
    source = {
        "key": meta.get("key") or f"local/{path.name}",
        "kind": meta.get("kind") or "local_return",
        "title": meta.get("title") or path.name,
        "publisher": meta.get("publisher") or "Local return",
        "vintage": meta.get("vintage") or "",
        "licence": meta.get("licence") or "",
        "url": meta.get("url"),
        "sha256": parsed.sha256,
    }
    for row in parsed.rows:
        row["source_key"] = source["key"]
    return parsed, source
