"""The format of a return: its columns, the other names accepted for them, the sheets never read,
and how a heading or a label is compared (case, spaces and dashes ignored).
"""
from __future__ import annotations

import re

from .cells import _clean

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


def _header_key(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", _clean(text).lower())


def _norm_label(text: str) -> str:
    t = _clean(text).lower().replace("\u2013", "-").replace("\u2014", "-")
    return re.sub(r"\s*-\s*", "-", re.sub(r"\s+", " ", t))


def _did_you_mean(options: list[str]) -> str | None:
    if not options:
        return None
    return "did you mean " + " or ".join(f"'{o}'" for o in options) + "?"


def _col_letter(i: int) -> str:
    s, n = "", i + 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s
