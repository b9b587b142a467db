"""RAG (red, amber, green) rating of one figure against its target.

The rules, in the order they are applied:

1. **No value -> No data.** A missing value (``None`` or NaN), including a suppressed one, is
   ``NO_DATA`` whatever the target. When the source gave a status symbol (DfE's ``c``, ``x``,
   ``z`` ...) the rule text names it, e.g. "Suppressed (c): no value to rate".
2. **Neutral polarity -> Not rated.** A neutral metric (too high and too low are both concerns)
   is ``NEUTRAL`` even if a target is recorded; it gets a benchmark comparison
   (:func:`compare_with_benchmark`) instead of a made-up RAG.
3. **No target -> No target.** ``NO_TARGET``.
4. **Compare the value as displayed.** The value is first rounded to the metric's ``decimals``
   with round-half-up (2.675 to 2 places is 2.68, never the binary-float 2.67), so the status
   always agrees with the number users see. All arithmetic is done in decimal on each number's
   shortest ``repr``, so ``1.1 - 0.3`` is exactly ``0.8`` and an edge is never missed by a
   float error.
5. **The amber band.** Its width is the tolerance itself (``absolute``) or
   ``|target| x tolerance / 100`` (``relative``, tolerance in per cent of the target).
   A tolerance of 0 means there is no amber band: anything off target is red.
6. **Higher is better:** value >= target is GREEN (exactly on target is green);
   target - width <= value < target is AMBER (exactly on the edge is amber); lower is RED.
7. **Lower is better** (the mirror): value <= target is GREEN;
   target < value <= target + width is AMBER; higher is RED.

Every result carries a word (``label``) and a shape (``symbol`` and its spoken name ``shape``)
so that status is never shown by colour alone, and a plain-English ``rule`` that states the
polarity, the target with its unit and source, the bands, and the verdict.

This module is pure: no Dash, no database.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal, localcontext
from enum import Enum
from typing import TYPE_CHECKING

from ..registry import POLARITY_WORDS, Polarity
from .rates import _dec as _rates_dec, decimal_half_up

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..registry import Metric

__all__ = [
    "RagStatus",
    "RagResult",
    "STATUS_ORDER",
    "STATUS_LABEL",
    "STATUS_SYMBOL",
    "STATUS_SHAPE",
    "assess",
    "assess_metric",
    "rag_bands",
    "compare_with_benchmark",
    "status_sort_key",
    "round_half_up",
]


class RagStatus(str, Enum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    NO_TARGET = "no_target"
    NO_DATA = "no_data"
    NEUTRAL = "neutral"


#: Sort order for scorecards: what needs attention first.
STATUS_ORDER: tuple[RagStatus, ...] = (
    RagStatus.RED,
    RagStatus.AMBER,
    RagStatus.GREEN,
    RagStatus.NEUTRAL,
    RagStatus.NO_TARGET,
    RagStatus.NO_DATA,
)

#: The word shown with every status.
STATUS_LABEL: dict[RagStatus, str] = {
    RagStatus.GREEN: "Green",
    RagStatus.AMBER: "Amber",
    RagStatus.RED: "Red",
    RagStatus.NO_TARGET: "No target",
    RagStatus.NO_DATA: "No data",
    RagStatus.NEUTRAL: "Not rated",
}

#: A distinct shape character per status, so status never depends on colour.
STATUS_SYMBOL: dict[RagStatus, str] = {
    RagStatus.GREEN: "\u25cf",  # ● black circle
    RagStatus.AMBER: "\u25b2",  # ▲ black up-pointing triangle
    RagStatus.RED: "\u25c6",  # ◆ black diamond
    RagStatus.NO_TARGET: "\u25cb",  # ○ white circle
    RagStatus.NO_DATA: "\u2013",  # – en dash
    RagStatus.NEUTRAL: "\u25c7",  # ◇ white diamond
}

#: The shape's name, for screen readers and text equivalents.
STATUS_SHAPE: dict[RagStatus, str] = {
    RagStatus.GREEN: "circle",
    RagStatus.AMBER: "triangle",
    RagStatus.RED: "diamond",
    RagStatus.NO_TARGET: "open circle",
    RagStatus.NO_DATA: "dash",
    RagStatus.NEUTRAL: "open diamond",
}

# DfE's status symbols for values that are not numbers (see data/dfe README).
_SYMBOL_WORDS = {
    "c": "Suppressed",
    "k": "Rounds to zero but is not zero",
    "u": "Low reliability",
    "x": "Not available",
    ":": "Not available",
    "z": "Not applicable",
    "low": "Low",
}

_TOLERANCE_KINDS = ("absolute", "relative")


def status_sort_key(status: RagStatus | str) -> int:
    """Position of ``status`` in :data:`STATUS_ORDER` (red first, no data last)."""
    return STATUS_ORDER.index(RagStatus(status))


@dataclass(frozen=True)
class RagResult:
    """One rating: the status, its word and shape, the rule in words, and the numbers behind it.

    ``amber_edge`` is the boundary between amber and red (below the target for higher-is-better,
    above it for lower-is-better); with no tolerance it equals the target. ``lower_edge`` and
    ``upper_edge`` give the amber band as an interval for drawing (both equal to the target when
    there is no amber band). All three are ``None`` when there is no target or the metric is
    neutral. ``value`` is the value as compared, i.e. rounded to the displayed decimals.
    """

    status: RagStatus
    label: str
    symbol: str
    shape: str
    rule: str
    target: float | None = None
    amber_edge: float | None = None
    lower_edge: float | None = None
    upper_edge: float | None = None
    value: float | None = None
    target_source: str = ""
    illustrative: bool = False

    @property
    def text(self) -> str:
        """Symbol and word together, e.g. "▲ Amber": the minimum to show wherever a colour is."""
        return f"{self.symbol} {self.label}"


# -- numbers ---------------------------------------------------------------------------------

# Rounding is shared with the rate arithmetic, so a rate and its status can never disagree.
_dec = _rates_dec
round_half_up = decimal_half_up


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return not math.isfinite(float(value))  # NaN (pandas' missing) or infinity
    except (TypeError, ValueError):
        return True


def _fmt_exact(d: Decimal, unit_suffix: str = "") -> str:
    """A number in as few digits as it needs, with thousands separators: 80 -> "80", 75.25 -> "75.25"."""
    d = d.normalize()
    if d == 0:
        d = Decimal(0)
    return f"{d:,f}{unit_suffix}"


def _fmt_shown(d: Decimal, decimals: int | None, unit_suffix: str = "") -> str:
    """A value as displayed: to ``decimals`` places (trailing zeros kept), else as few as needed."""
    if decimals is None:
        return _fmt_exact(d, unit_suffix)
    d = round_half_up(d, decimals)
    if d == 0:
        d = abs(d)
    return f"{d:,f}{unit_suffix}"


def _amber_width(target: Decimal, tolerance: float, tolerance_kind: str) -> Decimal:
    tol = _dec(tolerance)
    with localcontext() as ctx:
        ctx.prec = 1000
        if tolerance_kind == "relative":
            return abs(target) * tol / 100
        return tol


def _check_tolerance(tolerance: float, tolerance_kind: str) -> None:
    if tolerance_kind not in _TOLERANCE_KINDS:
        raise ValueError(f"tolerance_kind must be one of {_TOLERANCE_KINDS}, not {tolerance_kind!r}")
    if tolerance is None or _is_missing(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance must be a finite number, 0 or more, not {tolerance!r}")


def _edge(polarity: Polarity, target: Decimal, width: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 1000
        return target - width if polarity is Polarity.HIGHER_BETTER else target + width


# -- the rule in words ---------------------------------------------------------------------


def _target_sentence(target: Decimal, unit_suffix: str, target_source: str, illustrative: bool) -> str:
    source = target_source.strip()
    if illustrative:
        source = f"{source}; an illustrative example, not an agreed target" if source else (
            "an illustrative example, not an agreed target"
        )
    where = f" ({source})" if source else ""
    return f"Target {_fmt_exact(target, unit_suffix)}{where}."


def _bands_sentence(
    polarity: Polarity, target: Decimal, edge: Decimal, width: Decimal, tolerance: float, tolerance_kind: str,
    unit_suffix: str,
) -> str:
    t = _fmt_exact(target, unit_suffix)
    e = _fmt_exact(edge, unit_suffix)
    if width == 0:
        if polarity is Polarity.HIGHER_BETTER:
            return f"Green at or above {t}; Red below {t}; no amber band."
        return f"Green at or below {t}; Red above {t}; no amber band."
    if polarity is Polarity.HIGHER_BETTER:
        text = f"Green at or above {t}; Amber from {e} up to just below {t}; Red below {e}."
    else:
        text = f"Green at or below {t}; Amber above {t} up to and including {e}; Red above {e}."
    if tolerance_kind == "relative":
        text += (
            f" The amber band is {_fmt_exact(_dec(tolerance))} per cent of the target"
            f" ({_fmt_exact(width, unit_suffix)})."
        )
    return text


def _missing_words(status_symbol: str) -> str:
    sym = (status_symbol or "").strip()
    if not sym:
        return "No data: no value to rate."
    words = _SYMBOL_WORDS.get(sym.lower(), "Not shown")
    return f"{words} ({sym}): no value to rate."


def _result(status: RagStatus, rule: str, **numbers) -> RagResult:
    return RagResult(
        status=status,
        label=STATUS_LABEL[status],
        symbol=STATUS_SYMBOL[status],
        shape=STATUS_SHAPE[status],
        rule=rule,
        **numbers,
    )


# -- public API ----------------------------------------------------------------------------


def assess(
    value: float | None,
    *,
    polarity: Polarity | str,
    target: float | None,
    tolerance: float = 0.0,
    tolerance_kind: str = "absolute",
    decimals: int | None = None,
    unit_suffix: str = "",
    target_source: str = "",
    status_symbol: str = "",
    illustrative: bool = False,
) -> RagResult:
    """Rate ``value`` against ``target`` by the rules in this module's docstring.

    ``decimals`` is how many places the value is displayed with (``None``: compare as given);
    ``unit_suffix`` is appended to numbers in the rule text ("%", " per 10,000", " days");
    ``target_source`` names who set the target; ``status_symbol`` is the source's symbol for a
    missing value ("c" suppressed ...); ``illustrative`` marks an example target, not an agreed one.
    Raises ``ValueError`` for an unknown polarity or tolerance kind, or a negative tolerance.
    """
    pol = Polarity(polarity)
    _check_tolerance(tolerance, tolerance_kind)
    has_target = not _is_missing(target)
    t = _dec(target) if has_target else None
    polarity_sentence = POLARITY_WORDS[pol] + "."

    common = {"target_source": target_source, "illustrative": illustrative and has_target}

    # Bands, edges and their words: only when a target applies to a rated metric.
    edges: dict = {"target": float(t) if has_target else None}
    if pol is Polarity.NEUTRAL:
        if has_target:
            target_words = (
                f"A target of {_fmt_exact(t, unit_suffix)} is recorded, but a neutral measure is not"
                " rated against it: compare it with England, the region and statistical neighbours."
            )
        else:
            target_words = "Not rated against a target: compare it with England, the region and statistical neighbours."
    elif not has_target:
        target_words = "No target set, so there are no bands."
    else:
        width = _amber_width(t, tolerance, tolerance_kind)
        edge = _edge(pol, t, width)
        lo, hi = (edge, t) if pol is Polarity.HIGHER_BETTER else (t, edge)
        edges.update(amber_edge=float(edge), lower_edge=float(lo), upper_edge=float(hi))
        target_words = (
            _target_sentence(t, unit_suffix, target_source, illustrative)
            + " "
            + _bands_sentence(pol, t, edge, width, tolerance, tolerance_kind, unit_suffix)
        )
    preamble = f"{polarity_sentence} {target_words}"

    # 1. no value
    if _is_missing(value):
        return _result(RagStatus.NO_DATA, f"{preamble} {_missing_words(status_symbol)}", **edges, **common)

    shown = round_half_up(value, decimals)
    shown_text = _fmt_shown(shown, decimals, unit_suffix)
    numbers = {**edges, "value": float(shown), **common}

    # 2. neutral
    if pol is Polarity.NEUTRAL:
        return _result(RagStatus.NEUTRAL, f"{preamble} {shown_text} is Not rated.", **numbers)
    # 3. no target
    if not has_target:
        return _result(RagStatus.NO_TARGET, f"{preamble} {shown_text} has no target to rate against.", **numbers)

    # 4-7. rate the displayed value
    if pol is Polarity.HIGHER_BETTER:
        if shown >= t:
            status = RagStatus.GREEN
        elif shown >= edge:
            status = RagStatus.AMBER
        else:
            status = RagStatus.RED
    else:
        if shown <= t:
            status = RagStatus.GREEN
        elif shown <= edge:
            status = RagStatus.AMBER
        else:
            status = RagStatus.RED
    return _result(status, f"{preamble} {shown_text} is {STATUS_LABEL[status]}.", **numbers)


def assess_metric(
    metric: "Metric",
    value: float | None,
    period_end: dt.date,
    agency: str | None = None,
    status_symbol: str = "",
) -> RagResult:
    """Rate a registry metric's value for the period ending ``period_end`` (and ``agency``).

    The target is the one in force for that period and agency (``metric.target_for``); the
    tolerance, decimals, unit and polarity come from the registry.
    """
    target = metric.target_for(period_end, agency)
    return assess(
        value,
        polarity=metric.polarity,
        target=target.value if target else None,
        tolerance=metric.tolerance.value,
        tolerance_kind=metric.tolerance.kind,
        decimals=metric.decimals,
        unit_suffix=metric.unit_suffix,
        target_source=target.source if target else "",
        status_symbol=status_symbol,
        illustrative=bool(target and target.illustrative),
    )


def rag_bands(
    polarity: Polarity | str,
    target: float | None,
    tolerance: float,
    tolerance_kind: str,
    y_min: float,
    y_max: float,
) -> list[dict]:
    """The green, amber and red bands behind a chart, from bottom to top, clipped to [y_min, y_max].

    Each band is ``{"status": RagStatus, "y0": lower, "y1": upper}``. Bands that fall wholly
    outside the range are left out, as is the amber band when the tolerance is 0. A neutral
    metric or a missing target has no bands (``[]``). Edges are computed exactly as in
    :func:`assess`, so a band's edge is where the status changes.
    """
    pol = Polarity(polarity)
    _check_tolerance(tolerance, tolerance_kind)
    if _is_missing(y_min) or _is_missing(y_max):
        raise ValueError("y_min and y_max must be finite numbers")
    if y_min > y_max:
        raise ValueError(f"y_min ({y_min}) is above y_max ({y_max})")
    if pol is Polarity.NEUTRAL or _is_missing(target):
        return []
    t = _dec(target)
    edge = _edge(pol, t, _amber_width(t, tolerance, tolerance_kind))
    lo_axis, hi_axis = _dec(y_min), _dec(y_max)
    if pol is Polarity.HIGHER_BETTER:
        raw = [(RagStatus.RED, None, edge), (RagStatus.AMBER, edge, t), (RagStatus.GREEN, t, None)]
    else:
        raw = [(RagStatus.GREEN, None, t), (RagStatus.AMBER, t, edge), (RagStatus.RED, edge, None)]
    bands = []
    for status, y0, y1 in raw:
        y0 = lo_axis if y0 is None else max(y0, lo_axis)
        y1 = hi_axis if y1 is None else min(y1, hi_axis)
        if y1 > y0:
            bands.append({"status": status, "y0": float(y0), "y1": float(y1)})
    return bands


def compare_with_benchmark(
    value: float | None,
    benchmark: float | None,
    *,
    decimals: int | None,
    label: str,
    unit_suffix: str = "",
) -> str:
    """Say whether ``value`` is higher than, lower than or the same as a benchmark, in words.

    "Higher than England (68.3 against 42.1)". The comparison is made on both numbers rounded
    to ``decimals`` (round half up), so "Same as" means the two figures users see are equal.
    This is the comparison neutral metrics get instead of a RAG status; it passes no judgement.
    When either number is missing the answer starts "No comparison:" and says which.
    """
    missing_value, missing_benchmark = _is_missing(value), _is_missing(benchmark)
    if missing_value and missing_benchmark:
        return f"No comparison: no value and no {label} figure"
    if missing_value:
        return f"No comparison: no value to compare with {label}"
    if missing_benchmark:
        return f"No comparison: no {label} figure"
    v, b = round_half_up(value, decimals), round_half_up(benchmark, decimals)
    both = f"({_fmt_shown(v, decimals, unit_suffix)} against {_fmt_shown(b, decimals, unit_suffix)})"
    if v > b:
        return f"Higher than {label} {both}"
    if v < b:
        return f"Lower than {label} {both}"
    return f"Same as {label} {both}"
