"""Reading the bytes: text encodings and CSV dialects, and Excel workbooks (cells, dates,
percent formats, and merged cells read from the workbook's XML), each into a :class:`_Table`.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import warnings
import zipfile
from decimal import Decimal
from html import unescape

from .cells import _BLANK, _EMPTY, _Cell, _clean, _fmt, _Table, _TooManyRows
from .columns import ALIASES, COLUMNS, SKIPPED_SHEETS, TARGET_ALIASES, TARGET_COLUMNS, _header_key

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
