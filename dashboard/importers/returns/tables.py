"""One table at a time: its header matched to the columns, its rows checked one by one (a fault
in one row never hides another's), and the checks of a whole sheet: merged cells, garbled text,
cells beyond the header, percentages written as fractions. :class:`_Row` is a row being checked.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from decimal import Decimal

from ...registry import Metric, Unit
from .cells import _BLANK, _Cell, _clean, _fmt, _number, _Table
from .checker import _Checker
from .columns import TARGETS_SHEET, _col_letter, _did_you_mean, _header_key


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
