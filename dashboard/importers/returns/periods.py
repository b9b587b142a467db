"""Periods: a period cell read as a date, a financial year, a month, a quarter or a bare year,
and fitted to a metric's period type (with the message when it does not fit).

:func:`parse_period_text` is public: ``python -m dashboard spc`` reads periods with it.
"""
from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from dataclasses import dataclass

from ...registry import PeriodType
from .cells import _Cell, _clean

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
        return parse_period_text(text, epoch)
    except (ValueError, OverflowError):
        return [], f"not a real date; write {_PERIOD_FORMS}"


def parse_period_text(text: str, epoch: dt.date) -> tuple[list[_Period], str | None]:
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
        return f"the date {_long(p.end)}"
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
