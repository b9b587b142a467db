"""Period labels. The label is part of the number: "2016-17" is the year to 31 March 2017,
"31 Mar 2017" a snapshot, "30 Sep 2017" a workforce census date."""
from __future__ import annotations

import datetime as dt

from .registry import PeriodType

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def financial_year(end_year: int) -> str:
    """The year to 31 March ``end_year``: 2017 -> "2016-17"."""
    return f"{end_year - 1}-{str(end_year)[-2:]}"


def period_label(period_type: PeriodType | str, period_end: dt.date) -> str:
    pt = PeriodType(period_type)
    d = period_end
    if pt is PeriodType.YEAR_TO_31_MARCH:
        return financial_year(d.year)
    if pt is PeriodType.MONTH:
        return f"{_MONTHS[d.month - 1]} {d.year}"
    if pt is PeriodType.QUARTER:
        fy_end = d.year + 1 if d.month > 3 else d.year
        q = ((d.month - 4) % 12) // 3 + 1
        return f"{financial_year(fy_end)} Q{q}"
    if pt is PeriodType.YEAR_TO_30_SEPTEMBER:
        return f"Year to {d.day} {_MONTHS[d.month - 1]} {d.year}"
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def period_end_for_year(period_type: PeriodType | str, year: int) -> dt.date:
    """DfE's ``time_period`` year as a date: 31 March for CIN/CP/CLA, 30 September for workforce."""
    pt = PeriodType(period_type)
    if pt in (PeriodType.SNAPSHOT_30_SEPTEMBER, PeriodType.YEAR_TO_30_SEPTEMBER):
        return dt.date(year, 9, 30)
    return dt.date(year, 3, 31)
