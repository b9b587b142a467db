"""A row's figure from its value, numerator and denominator: the rules between those cells, and
a value computed by the metric's unit and decimals, rounded half up as DfE does.
"""
from __future__ import annotations

import re
from decimal import Decimal

from ...analysis.rates import caseload, decimal_half_up, percentage, rate_per_10000
from ...registry import Metric, Unit
from .cells import _LARGEST, _fmt, _Num


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
                shown = _fmt(float(decimal_half_up(exact, metric.decimals)))
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


def _computed(metric: Metric, num: float, den: float) -> float | None:
    """The value from its parts, by the metric's unit and decimals, rounded half up as DfE does."""
    if metric.unit is Unit.PERCENT:
        return percentage(num, den, metric.decimals)
    if metric.unit is Unit.RATE_PER_10000:
        return rate_per_10000(num, den, metric.decimals)
    return caseload(num, den, metric.decimals)  # a plain ratio (days per employee, cases per FTE)
