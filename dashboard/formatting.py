"""Numbers as people read them: the metric's decimals, its unit, thousands separators."""
from __future__ import annotations

import math

from .analysis.rates import round_half_up
from .registry import Metric, Unit
from .analysis.rates import SUPPRESSION_SYMBOLS


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value, decimals: int) -> str:
    if is_missing(value):
        return ""
    return f"{round_half_up(float(value), decimals):,.{decimals}f}"


def value_text(metric: Metric, value, status: str = "", with_unit: bool = True) -> str:
    """'68.3 per 10,000', '42.0%', '1,234', or the suppression symbol with its meaning."""
    if is_missing(value):
        if status and status != "missing":
            return status
        return "no data"
    text = number(value, metric.decimals)
    if not with_unit:
        return text
    if metric.unit is Unit.PERCENT:
        return f"{text}%"
    return f"{text}{metric.unit_suffix}"


def status_meaning(status: str) -> str:
    return SUPPRESSION_SYMBOLS.get(status, "No value")


def delta_text(metric: Metric, delta) -> str:
    """A change with its sign, as shown: "+2.5", "−0.3 points"; "±0.0" when it rounds to nothing."""
    if is_missing(delta):
        return ""
    shown = round_half_up(float(delta), metric.decimals)  # the sign must agree with the digits shown
    sign = "+" if shown > 0 else ("−" if shown < 0 else "±")
    body = number(abs(shown), metric.decimals)
    unit = " points" if metric.unit is Unit.PERCENT else ""
    return f"{sign}{body}{unit}"
