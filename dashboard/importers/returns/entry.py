"""The entry points: :func:`parse_return` (bytes in, a :class:`ParsedReturn` out, never an
exception) and :func:`read_return_file` (a return kept in ``data/local/`` with its sidecar).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import zipfile
from pathlib import PurePosixPath, PureWindowsPath

from ...registry import Registry
from .cells import _Table, _TooManyRows
from .checker import _Checker
from .checks import _breakdown_totals, _target_overlaps
from .monthly import _is_monthly, _long_gaps, _monthly_table
from .problems import ParsedReturn
from .reading import _decode, _read_csv, _read_xlsx
from .rows import _data_table
from .tables import _is_targets
from .targets import _targets_table

log = logging.getLogger(__package__)  # the logger keeps the name it had when this was one module


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
        r.pop("_monthly", None)
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
        elif _is_monthly(t):
            _monthly_table(chk, t)
        else:
            _data_table(chk, t)
    _breakdown_totals(chk)
    _target_overlaps(chk)
    _long_gaps(chk)


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
