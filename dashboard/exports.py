"""Every CSV (and XLSX) the product writes goes through here, so no cell runs as a formula.

Spreadsheets run a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
as a formula ("CSV injection", OWASP). Text typed by strangers reaches our exports: sign-in
names in the audit log, agency names and target sources in returns, file names. The rule, as
OWASP advises: a text cell that begins with one of those characters is prefixed with a single
quote, and every field is quoted, so an embedded comma, quote, line feed or bare carriage return
cannot split a row. Numbers are numbers: a negative value is written as a number, not as text.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Sequence

import pandas as pd

#: A text cell beginning with one of these is read as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """The value safe for a spreadsheet cell: text that could run as a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text with every field quoted and every text cell neutralised."""
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    w.writerow([neutralise(h) for h in header])
    for row in rows:
        w.writerow([_cell(v) for v in row])
    return buf.getvalue()


def frame_csv(df: pd.DataFrame) -> str:
    """A DataFrame as CSV text (no index), by the same rule as :func:`csv_text`."""
    return csv_text([str(c) for c in df.columns], df.itertuples(index=False, name=None))


def records_csv(records: list[dict], fieldnames: Sequence[str]) -> str:
    """Dicts as CSV text with the given columns, by the same rule as :func:`csv_text`."""
    return csv_text(fieldnames, ([r.get(k) for k in fieldnames] for r in records))


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and pd.isna(value):
        return ""
    if value is pd.NaT:
        return ""
    return neutralise(value)


def safe_filename(name: str, default: str = "download") -> str:
    """A file name safe for a Content-Disposition header: letters, digits, dot, dash and underscore only."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c if (c.isascii() and (c.isalnum() or c in "._-")) else "_" for c in base).strip("._")
    return cleaned[:120] or default
