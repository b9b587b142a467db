"""Rate arithmetic, done the way the Department for Education does it.

Every function here is pure. Arithmetic is exact (``decimal``) on the numbers as they are
written, and results are rounded half up (``68.25`` -> ``68.3``), as DfE rounds; Python's
``round`` rounds half to even and works on the binary float, so it differs on ``x.x5`` cases.

A rate is ``None`` whenever it cannot be formed: a missing input, or a zero (or negative)
denominator. Saying *why* it is missing (a suppression symbol, "not applicable") is the
caller's job; :func:`parse_published` turns a published cell into a number and a status.

Definitions (DfE, and the project guide section 3):

- rate per 10,000 children = count / ONS 0-17 population x 10,000
- agency rate   = agency FTE / (agency FTE + social worker FTE in post) x 100
- vacancy rate  = vacancy FTE / (vacancy FTE + social worker FTE in post) x 100
- turnover rate = leavers FTE / social worker FTE in post x 100
- caseload      = cases / FTE of case-holding social workers
"""
from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from numbers import Real

Number = float | int | None

#: Suppression and "not available" symbols used in DfE's published files (lower case), with their meaning.
#: A value with one of these is a typed missing value, never a zero.
SUPPRESSION_SYMBOLS: dict[str, str] = {
    "c": "Confidential: a small number (1 to 5) suppressed, or secondary suppression",
    "k": "Rounds to zero but is not zero",
    "u": "Low reliability",
    "x": "Not available",
    "z": "Not applicable",
    ":": "Not available",
    "low": "Low: a small number suppressed",
}

#: Status given to an empty cell. It is ours, not DfE's: the file left the cell blank.
MISSING = "missing"

_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def _dec(x: float | int) -> Decimal:
    """The decimal a number is written as: ``repr`` of a float is its shortest exact spelling."""
    if isinstance(x, Decimal):
        return x
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"expected a number, got {x!r}")
    if isinstance(x, int):
        return Decimal(x)
    if not math.isfinite(x):
        raise ValueError(f"not a finite number: {x!r}")
    return Decimal(repr(float(x)))


def decimal_half_up(x: float | Decimal, decimals: int | None) -> Decimal:
    """``x`` rounded to ``decimals`` places, halves away from zero, as an exact Decimal.

    ``decimals=None`` keeps the value as written. The rounding is done on the decimal ``x`` is
    written as, so 2.675 -> 2.68 (the float is a hair below 2.675, but nobody wrote that).
    """
    d = _dec(x)
    if decimals is None:
        return d
    if decimals < 0:
        raise ValueError(f"decimals must be 0 or more, not {decimals}")
    with localcontext() as ctx:
        ctx.prec = 1000  # enough digits for any float quantized to a few places
        return d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def round_half_up(x: float, decimals: int) -> float:
    """``x`` rounded to ``decimals`` places, halves away from zero, on the decimal ``x`` is written as.

    ``round_half_up(0.125, 2) == 0.13`` and ``round_half_up(2.5, 0) == 3.0``, where Python's
    ``round`` gives 0.12 and 2.0. Negative halves round away from zero (-2.5 -> -3.0).
    """
    if decimals < 0:
        raise ValueError("decimals must be 0 or more")
    return float(decimal_half_up(x, decimals))


def _missing(*values: Number) -> bool:
    for v in values:
        if v is None:
            return True
        if isinstance(v, float) and math.isnan(v):
            return True
    return False


def _ratio(numerator: Number, denominator: Number, scale: int, decimals: int) -> float | None:
    if _missing(numerator, denominator):
        return None
    den = _dec(denominator)
    if den <= 0:
        return None
    return float(decimal_half_up(_dec(numerator) * scale / den, decimals))


def rate_per_10000(count: Number, population: Number, decimals: int = 1) -> float | None:
    """``count / population x 10,000``, rounded half up; None if either is missing or population <= 0.

    For the year to 31 March Y the population is the ONS estimate of children aged 0-17 at
    mid-(Y-1): Thurrock 2017, 285 / 41,750 -> 68.3.
    """
    return _ratio(count, population, 10_000, decimals)


def percentage(numerator: Number, denominator: Number, decimals: int = 1) -> float | None:
    """``numerator / denominator x 100``, rounded half up; None if either is missing or denominator <= 0."""
    return _ratio(numerator, denominator, 100, decimals)


def agency_rate(agency_fte: Number, inpost_fte: Number, decimals: int = 1) -> float | None:
    """Agency social workers as a % of all social workers: agency FTE / (agency FTE + FTE in post)."""
    if _missing(agency_fte, inpost_fte):
        return None
    return percentage(agency_fte, _dec(agency_fte) + _dec(inpost_fte), decimals)


def vacancy_rate(vacancy_fte: Number, inpost_fte: Number, decimals: int = 1) -> float | None:
    """Vacant posts as a % of all posts: vacancy FTE / (vacancy FTE + FTE in post)."""
    if _missing(vacancy_fte, inpost_fte):
        return None
    return percentage(vacancy_fte, _dec(vacancy_fte) + _dec(inpost_fte), decimals)


def turnover_rate(leavers_fte: Number, inpost_fte: Number, decimals: int = 1) -> float | None:
    """Leavers in the year as a % of social workers in post at 30 September: leavers FTE / FTE in post."""
    return percentage(leavers_fte, inpost_fte, decimals)


def caseload(cases: Number, case_holders_fte: Number, decimals: int = 1) -> float | None:
    """Average caseload: cases held / FTE of case-holding social workers."""
    return _ratio(cases, case_holders_fte, 1, decimals)


def parse_published(text: object) -> tuple[float | None, str]:
    """A published cell as ``(number, status)``.

    - a number, as text or not: ``"19.600000000000001"`` -> ``(19.6, "")`` (the shortest float,
      so float artefacts vanish), ``"1,234"`` -> ``(1234.0, "")``;
    - a suppression symbol ``c k u x z : low`` in any case, with surrounding spaces:
      ``(None, symbol)`` with the symbol lower-cased -- never 0;
    - an empty cell, only spaces, ``None`` or a float NaN: ``(None, "missing")``;
    - anything else raises ``ValueError`` naming the text.
    """
    if text is None:
        return None, MISSING
    if isinstance(text, bool):
        raise ValueError(f"not a published value: {text!r}")
    if isinstance(text, Real):
        x = float(text)
        if math.isnan(x):
            return None, MISSING
        if not math.isfinite(x):
            raise ValueError(f"not a published value: {text!r}")
        return x, ""
    if not isinstance(text, str):
        raise ValueError(f"not a published value: {text!r}")
    s = text.strip()
    if not s:
        return None, MISSING
    low = s.lower()
    if low in SUPPRESSION_SYMBOLS:
        return None, low
    if _PLAIN_NUMBER.fullmatch(s):
        return float(s), ""
    if _GROUPED_NUMBER.fullmatch(s):
        return float(s.replace(",", "")), ""
    raise ValueError(f"not a published value: {text!r}")


__all__ = [
    "MISSING",
    "SUPPRESSION_SYMBOLS",
    "agency_rate",
    "caseload",
    "parse_published",
    "percentage",
    "rate_per_10000",
    "round_half_up",
    "turnover_rate",
    "vacancy_rate",
]
