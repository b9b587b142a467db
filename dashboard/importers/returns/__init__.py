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

The package, lowest layer first (a module imports only from those above it):

- ``problems``: the rule codes, :class:`Problem`, :class:`ParsedReturn`, :class:`ReturnRefused`.
- ``cells``: cells and tables as read, and a cell read as a number.
- ``columns``: the columns of a return, and how headings and labels are compared.
- ``periods``: period cells read and fitted to a metric's period type.
- ``reading``: encodings, CSV and XLSX files (merged cells included) read into tables.
- ``values``: a figure from its value, numerator and denominator.
- ``checker``: one file's problems and the registry look-ups.
- ``tables``: header matching, rows checked one by one, and whole-sheet checks.
- ``rows`` and ``targets``: data rows and target rows.
- ``checks``: checks across rows (breakdown totals, overlapping targets).
- ``monthly``: the monthly demand sheet (one row per month, one column per measure) and gaps in
  a demand measure's months.
- ``entry``: :func:`parse_return` and :func:`read_return_file`.
"""
from __future__ import annotations

from .columns import ALIASES, COLUMNS, SKIPPED_SHEETS, TARGET_ALIASES, TARGET_COLUMNS, TARGETS_SHEET
from .entry import parse_return, read_return_file
from .periods import parse_period_text
from .problems import RULES, ParsedReturn, Problem, ReturnRefused

__all__ = [
    "ALIASES",
    "COLUMNS",
    "ParsedReturn",
    "Problem",
    "RULES",
    "ReturnRefused",
    "SKIPPED_SHEETS",
    "TARGET_ALIASES",
    "TARGET_COLUMNS",
    "TARGETS_SHEET",
    "parse_period_text",
    "parse_return",
    "read_return_file",
]
