"""Statistical process control (SPC), the NHS England "Making Data Count" way.

An XmR chart per series, with the special-cause rules, point classes, variation and assurance
icons of the reference implementation, the R package NHSRplotthedots (MIT licence, read for
its rules; this is an independent Python implementation). ``docs/spc.md`` explains the rules
in plain words and lists where NHS England's Excel tool differs.

API
---
``spc(values, periods, *, direction="neutral", target=None, fix_after=None, rebase_at=(),
screen_outliers=True) -> SpcResult``

* ``values``: numbers in time order (any sequence, a pandas Series included). A missing value
  (``None`` or NaN) is **dropped** before anything is computed, and its period is listed in
  ``SpcResult.skipped``; see "Missing values" below.
* ``periods``: one label per value (dates, "2023-24", "Mar 2024", ...), unique, **already in
  time order** (the R package sorts by date; labels such as "Mar 2024" do not sort, so the
  caller orders them).
* ``direction``: ``"increase"`` (higher is better), ``"decrease"`` (lower is better) or
  ``"neutral"``; the registry's polarity words ``higher_better``, ``lower_better`` and
  ``neutral`` are accepted too.
* ``target``: one number, or ``None``. Gives the assurance icon (not for neutral metrics).
* ``fix_after``: fix each limit group's mean and limits on its first N points (N >= 12, as
  the package checks), or ``None`` to use every point of the group.
* ``rebase_at``: periods at which a new limit group starts (a new service, a definition
  change). Each must be one of ``periods``; a rebase at the first period changes nothing.
* ``screen_outliers``: screen large moving ranges out of the mean moving range (default on).

``SpcResult`` has ``groups`` (:class:`LimitGroup`, one per rebase group, in order),
``points`` (:class:`SpcPoint`, one per non-missing value), ``variation`` and ``assurance``
(:class:`Icon`: a key and plain words, or ``None``), ``skipped`` and :meth:`SpcResult.as_dict`
for JSON. The top-level ``mean``, limits and ``trial`` of ``as_dict()`` are the last group's.

The rules (as NHSRplotthedots implements them)
----------------------------------------------
Within each limit group, with ``B`` the group's baseline (its first ``fix_after`` points, or
all of them):

* centre line ``mean = mean(B)`` (never screened);
* moving ranges ``mR_i = |x_i - x_(i-1)|`` between consecutive baseline points, and
  ``amR = mean(mR)``;
* screening (when on): keep a moving range only if it is **strictly below** ``3.267 * amR``,
  then recompute ``amR`` once from those kept;
* process limits ``mean -/+ 2.66 * amR``; near limits ``mean -/+ (2 * 2.66 / 3) * amR``
  (1.7733... x amR: the package computes the constant as ``2 * (2.66 / 3)``).

If the group has a single baseline point, or every moving range is screened out (all moving
ranges zero: none is strictly below 3.267 x 0), ``amR`` is undefined and so are the limits
(``None``): the package's limits are NaN there. Such points can still show a trend or a shift.

Each point of the group is then tested, the first rule that applies naming it:

1. ``outside_limits``: strictly above the upper or below the lower process limit (a point
   exactly on a limit is inside);
2. ``trend``: one of a run of 7 points each strictly higher (or each strictly lower) than the
   one before; an equal neighbour breaks the run; every point of the run is flagged;
3. ``two_in_three``: in some window of 3 consecutive points of the group, all three strictly
   on the same side of the mean and at least two of them "close" (beyond a near limit but not
   outside the process limits); only the close points of such a window are flagged;
4. ``shift``: one of a run of 7 points strictly on the same side of the mean; a point exactly
   on the mean breaks the run; every point of the run is flagged.

A flagged point's ``signal`` is ``"high"`` or ``"low"``: for a point outside the limits, a
two-in-three point or a shift, the side of the mean it is on; for a trend, the direction of
the trend (at a point shared by a rising and a following falling run, the package takes the
direction towards the next point). With ``direction`` the signal gives ``point_type``:
``special_cause_improvement`` (high and "increase", or low and "decrease"),
``special_cause_concern`` (the opposite), ``special_cause_neither`` (neutral metrics); an
unflagged point is ``common_cause``.

Variation icon: from the latest point: ``common_cause``, ``improvement_high``,
``improvement_low``, ``concern_high``, ``concern_low``, ``neither_high``, ``neither_low``.
As in the package, "high"/"low" for improvement and concern follow the metric's direction
(improvement is high for "increase" and low for "decrease").

Assurance icon (only with a target and a non-neutral direction), from the last group's
limits: target strictly above the upper limit -> ``fail`` for "increase", ``pass`` for
"decrease"; strictly below the lower limit -> ``pass`` for "increase", ``fail`` for
"decrease"; otherwise, a target exactly on a limit included, ``hit_or_miss`` (the package's
"inconsistent").

Trial limits: a group with fewer than 12 points (all its points, as the package counts them)
has ``trial=True`` and a label saying its limits are provisional.

Missing values and other deviations from the package
-----------------------------------------------------
* Missing values are dropped (so a moving range spans the gap). The package keeps them as NA,
  which breaks the runs it tests and flags points it should not (NHSRplotthedots issue #156,
  open), so its behaviour there is not one to copy.
* A ``rebase_at`` period that is not in ``periods`` is an error (the package ignores it).
* When the limits are undefined there is no assurance icon (``None``); the package would say
  "inconsistent" because its NaN comparisons fall through.

This module is pure: no Dash, no Flask, no database.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LIMIT",
    "NEAR_LIMIT",
    "SCREEN_LIMIT",
    "RUN_LENGTH",
    "MIN_POINTS",
    "DIRECTIONS",
    "POINT_TYPES",
    "RULES",
    "RULE_WORDS",
    "POINT_TYPE_WORDS",
    "VARIATION_WORDS",
    "ASSURANCE_WORDS",
    "Icon",
    "LimitGroup",
    "SpcPoint",
    "SpcResult",
    "spc",
    "Rebase",
    "SpcOptions",
    "metric_options",
]

#: Process limits sit this many mean moving ranges from the mean (3 sigma for XmR).
LIMIT = 2.66
#: Near limits: two thirds of the way out, computed as the package does, 2 x (2.66 / 3).
NEAR_LIMIT = 2 * (LIMIT / 3)
#: A moving range is kept by screening only if strictly below this many mean moving ranges.
SCREEN_LIMIT = 3.267
#: Points in a trend or a shift.
RUN_LENGTH = 7
#: Fewer points than this in a limit group: trial limits. Also the smallest ``fix_after``.
MIN_POINTS = 12

DIRECTIONS = ("increase", "decrease", "neutral")
_DIRECTION_ALIASES = {
    "increase": "increase",
    "decrease": "decrease",
    "neutral": "neutral",
    "higher_better": "increase",
    "lower_better": "decrease",
}
_DIRECTION_SIGN = {"increase": 1, "decrease": -1, "neutral": 0}

COMMON_CAUSE = "common_cause"
IMPROVEMENT = "special_cause_improvement"
CONCERN = "special_cause_concern"
NEITHER = "special_cause_neither"
POINT_TYPES = (COMMON_CAUSE, IMPROVEMENT, CONCERN, NEITHER)

#: Special-cause rules, in order of precedence.
RULES = ("outside_limits", "trend", "two_in_three", "shift")

RULE_WORDS = {
    "outside_limits": "outside the process limits",
    "trend": f"part of a run of {RUN_LENGTH} points each rising or each falling",
    "two_in_three": "two of three points close to a process limit, on the same side",
    "shift": f"part of a run of {RUN_LENGTH} points on the same side of the mean",
}

POINT_TYPE_WORDS = {
    COMMON_CAUSE: "Common cause: no signal",
    IMPROVEMENT: "Special cause: improvement",
    CONCERN: "Special cause: concern",
    NEITHER: "Special cause: neither improvement nor concern",
}

VARIATION_WORDS = {
    "common_cause": "Common cause variation: no significant change",
    "improvement_high": "Special cause variation: improving, higher values",
    "improvement_low": "Special cause variation: improving, lower values",
    "concern_high": "Special cause variation: concerning, higher values",
    "concern_low": "Special cause variation: concerning, lower values",
    "neither_high": "Special cause variation: higher values (neither improvement nor concern)",
    "neither_low": "Special cause variation: lower values (neither improvement nor concern)",
}

ASSURANCE_WORDS = {
    "pass": "The target will consistently be met: it lies beyond the process limits on the "
    "good side",
    "fail": "The target will consistently be missed: it lies beyond the process limits on the "
    "bad side",
    "hit_or_miss": "The target will be met some times and missed others: it lies within the "
    "process limits",
}


@dataclass(frozen=True)
class Icon:
    """A variation or assurance icon: a stable key and the words to show with it."""

    key: str
    words: str

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "words": self.words}


@dataclass(frozen=True)
class LimitGroup:
    """One limit group (the points between two rebases) and its centre line and limits.

    ``start`` and ``end`` are indexes (inclusive) into ``SpcResult.points``. ``n_points``
    counts the group's points; ``n_baseline`` those its limits are computed from (fewer than
    ``n_points`` when fixed). Limits are ``None`` when they cannot be computed.
    """

    index: int
    start: int
    end: int
    start_period: Any
    end_period: Any
    n_points: int
    n_baseline: int
    mean: float
    mean_moving_range: float | None
    moving_ranges_screened: int
    lower_limit: float | None
    upper_limit: float | None
    near_lower: float | None
    near_upper: float | None
    trial: bool
    fixed: bool

    @property
    def label(self) -> str:
        """Plain words for the limits: trial or not, fixed or not, and from how many points."""
        if self.lower_limit is None:
            return (
                f"No limits: {self.n_baseline} point(s) with no usable variation between "
                "them; limits need at least two points that differ"
            )
        base = f"based on {self.n_baseline} point(s)"
        if self.trial:
            return (
                f"Trial limits, {base}: provisional, they will change as data arrive "
                f"(fewer than {MIN_POINTS} points)"
            )
        if self.fixed:
            return f"Limits fixed on the first {self.n_baseline} points of this period"
        return f"Limits {base}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "start": self.start,
            "end": self.end,
            "start_period": _json_period(self.start_period),
            "end_period": _json_period(self.end_period),
            "n_points": self.n_points,
            "n_baseline": self.n_baseline,
            "mean": self.mean,
            "mean_moving_range": self.mean_moving_range,
            "moving_ranges_screened": self.moving_ranges_screened,
            "lower_limit": self.lower_limit,
            "upper_limit": self.upper_limit,
            "near_lower": self.near_lower,
            "near_upper": self.near_upper,
            "trial": self.trial,
            "fixed": self.fixed,
            "label": self.label,
        }


@dataclass(frozen=True)
class SpcPoint:
    """One point: its value, its group's lines, its class and the rule that flagged it.

    ``rule`` is one of :data:`RULES` or ``None`` (common cause); ``signal`` is ``"high"``,
    ``"low"`` or ``None``.
    """

    period: Any
    value: float
    group: int
    mean: float
    lower_limit: float | None
    upper_limit: float | None
    near_lower: float | None
    near_upper: float | None
    point_type: str
    rule: str | None
    signal: str | None

    @property
    def words(self) -> str:
        text = POINT_TYPE_WORDS[self.point_type]
        if self.rule is not None:
            text += f" ({'higher' if self.signal == 'high' else 'lower'}; {RULE_WORDS[self.rule]})"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": _json_period(self.period),
            "value": self.value,
            "group": self.group,
            "point_type": self.point_type,
            "rule": self.rule,
            "signal": self.signal,
        }


@dataclass(frozen=True)
class SpcResult:
    direction: str
    target: float | None
    screen_outliers: bool
    fix_after: int | None
    groups: tuple[LimitGroup, ...]
    points: tuple[SpcPoint, ...]
    variation: Icon | None
    assurance: Icon | None
    skipped: tuple[Any, ...] = field(default=())

    @property
    def last_group(self) -> LimitGroup | None:
        return self.groups[-1] if self.groups else None

    @property
    def trial(self) -> bool:
        """True when the latest limits are trial limits (or there are none)."""
        g = self.last_group
        return True if g is None else g.trial

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the last group's lines at the top, every point and every group below."""
        g = self.last_group
        return {
            "mean": g.mean if g else None,
            "lower_limit": g.lower_limit if g else None,
            "upper_limit": g.upper_limit if g else None,
            "near_lower": g.near_lower if g else None,
            "near_upper": g.near_upper if g else None,
            "trial": self.trial,
            "limits_label": g.label if g else "No data",
            "variation": self.variation.key if self.variation else None,
            "variation_words": self.variation.words if self.variation else None,
            "assurance": self.assurance.key if self.assurance else None,
            "assurance_words": self.assurance.words if self.assurance else None,
            "direction": self.direction,
            "target": self.target,
            "screen_outliers": self.screen_outliers,
            "fix_after": self.fix_after,
            "points": [p.as_dict() for p in self.points],
            "groups": [x.as_dict() for x in self.groups],
            "skipped": [_json_period(p) for p in self.skipped],
        }

    def to_frame(self):
        """The points as a pandas DataFrame (one row per point, with its group's lines)."""
        import pandas as pd  # local: the module itself needs no pandas

        return pd.DataFrame(
            [
                {
                    "period": p.period,
                    "value": p.value,
                    "group": p.group,
                    "mean": p.mean,
                    "lower_limit": p.lower_limit,
                    "upper_limit": p.upper_limit,
                    "near_lower": p.near_lower,
                    "near_upper": p.near_upper,
                    "point_type": p.point_type,
                    "rule": p.rule,
                    "signal": p.signal,
                }
                for p in self.points
            ]
        )


# ---------------------------------------------------------------------------------------------
# Input checks


def _json_period(p: Any) -> Any:
    if isinstance(p, (dt.date, dt.datetime)):
        return p.isoformat()
    if isinstance(p, (str, int)) and not isinstance(p, bool):
        return p
    iso = getattr(p, "isoformat", None)  # pandas Timestamp, numpy datetime64 via pandas
    if callable(iso):
        return iso()
    return str(p)


def _as_value(v: Any, period: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool):
        raise ValueError(f"value for {period!r} is not a number: {v!r}")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"value for {period!r} is not a number: {v!r}") from None
    if math.isnan(x):
        return None
    if math.isinf(x):
        raise ValueError(f"value for {period!r} is infinite")
    return x


def _normalise_direction(direction: Any) -> str:
    key = getattr(direction, "value", direction)
    if isinstance(key, str) and key.strip().lower() in _DIRECTION_ALIASES:
        return _DIRECTION_ALIASES[key.strip().lower()]
    raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}; got {direction!r}")


def _same_period(a: Any, b: Any) -> bool:
    try:
        if a == b:
            return True
    except Exception:  # pragma: no cover - exotic comparisons
        pass
    return _json_period(a) == _json_period(b)


# ---------------------------------------------------------------------------------------------
# The rules, on one limit group


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _mean(xs: Sequence[float]) -> float:
    return math.fsum(xs) / len(xs)


def _run_ends(keys: Sequence[int]) -> list[bool]:
    """True at i when keys[i-6..i] are all equal and non-zero (the last point of a run of 7)."""
    n = len(keys)
    return [
        i >= RUN_LENGTH - 1 and keys[i] != 0 and all(keys[j] == keys[i] for j in range(i - 6, i))
        for i in range(n)
    ]


def _part_of_run(ends: Sequence[bool]) -> list[bool]:
    """A point is in a run when it, or one of the 6 points after it, ends a run of 7."""
    n = len(ends)
    return [any(ends[j] for j in range(i, min(n, i + RUN_LENGTH))) for i in range(n)]


def _trend_ends(ys: Sequence[float]) -> list[bool]:
    steps = [0] + [_sign(ys[i] - ys[i - 1]) for i in range(1, len(ys))]
    # a run of 7 points is 6 equal non-zero steps ending at i
    n = len(ys)
    return [
        i >= RUN_LENGTH - 1 and steps[i] != 0 and all(steps[j] == steps[i] for j in range(i - 5, i))
        for i in range(n)
    ]


def _two_in_three(close: Sequence[bool], side: Sequence[int]) -> list[bool]:
    """Close points in a window of 3 with >= 2 close points and all 3 on one side of the mean."""
    n = len(close)
    hit = [False] * n
    for s in range(0, n - 2):
        w = range(s, s + 3)
        if sum(close[j] for j in w) >= 2 and abs(sum(side[j] for j in w)) == 3:
            for j in w:
                hit[j] = True
    return [hit[i] and close[i] for i in range(n)]


def _classify_group(
    ys: Sequence[float],
    mean: float,
    limits: tuple[float, float, float, float] | None,
) -> list[tuple[str | None, int]]:
    """(rule, signal sign) for each point of one group; sign is +1 high, -1 low, 0 none."""
    n = len(ys)
    side = [_sign(y - mean) for y in ys]
    if limits is None:
        outside = [False] * n
        close = [False] * n
    else:
        lpl, upl, nlpl, nupl = limits
        outside = [y > upl or y < lpl for y in ys]
        close = [(not o) and (y < nlpl or y > nupl) for y, o in zip(ys, outside)]

    trend = _part_of_run(_trend_ends(ys))
    two3 = _two_in_three(close, side)
    shift = _part_of_run(_run_ends(side))

    out: list[tuple[str | None, int]] = []
    for i in range(n):
        if outside[i]:
            out.append(("outside_limits", 1 if side[i] == 1 else -1))
        elif trend[i]:
            # the package's direction: towards the next point when the next point is in a
            # trend too, otherwise from the previous point
            if i + 1 < n and trend[i + 1]:
                step = _sign(ys[i + 1] - ys[i])
            else:
                step = _sign(ys[i] - ys[i - 1]) if i > 0 else 0
            out.append(("trend", 1 if step == 1 else -1))
        elif two3[i]:
            out.append(("two_in_three", 1 if side[i] > 0 else -1))
        elif shift[i]:
            out.append(("shift", 1 if side[i] > 0 else -1))
        else:
            out.append((None, 0))
    return out


def _point_type(signal: int, direction_sign: int) -> str:
    if signal == 0:
        return COMMON_CAUSE
    if direction_sign == 0:
        return NEITHER
    return IMPROVEMENT if signal * direction_sign > 0 else CONCERN


def _variation(point: SpcPoint | None, direction: str) -> Icon | None:
    if point is None:
        return None
    t = point.point_type
    if t == COMMON_CAUSE:
        key = "common_cause"
    elif t == NEITHER:
        key = f"neither_{point.signal}"
    elif t == IMPROVEMENT:
        key = "improvement_high" if direction == "increase" else "improvement_low"
    else:
        key = "concern_low" if direction == "increase" else "concern_high"
    return Icon(key, VARIATION_WORDS[key])


def _assurance(group: LimitGroup | None, direction: str, target: float | None) -> Icon | None:
    if target is None or direction == "neutral" or group is None:
        return None
    if group.lower_limit is None or group.upper_limit is None:
        return None
    increasing = direction == "increase"
    if target > group.upper_limit:
        key = "fail" if increasing else "pass"
    elif target < group.lower_limit:
        key = "pass" if increasing else "fail"
    else:
        key = "hit_or_miss"
    return Icon(key, ASSURANCE_WORDS[key])


# ---------------------------------------------------------------------------------------------
# The entry point


def spc(
    values: Sequence[Any],
    periods: Sequence[Any],
    *,
    direction: str = "neutral",
    target: float | None = None,
    fix_after: int | None = None,
    rebase_at: Sequence[Any] = (),
    screen_outliers: bool = True,
) -> SpcResult:
    """An XmR chart of ``values`` over ``periods``: see the module docstring for the rules."""
    values = list(values)
    periods = list(periods)
    if len(values) != len(periods):
        raise ValueError(f"{len(values)} values but {len(periods)} periods")
    direction = _normalise_direction(direction)
    if not isinstance(screen_outliers, bool):
        raise ValueError("screen_outliers must be True or False")
    if target is not None:
        target = _as_value(target, "target")
        # NaN target: treat as no target
    if fix_after is not None:
        if isinstance(fix_after, bool) or not isinstance(fix_after, int) or fix_after < MIN_POINTS:
            raise ValueError(
                f"fix_after must be a whole number of points, at least {MIN_POINTS}; "
                f"got {fix_after!r}"
            )
    seen: list[Any] = []
    for p in periods:
        if any(_same_period(p, q) for q in seen):
            raise ValueError(f"duplicate period: {p!r}")
        seen.append(p)

    # rebase groups are assigned on the full series, so a rebase at a missing value still
    # starts the new group at the next value present
    if rebase_at is None:
        rebase_at = []
    elif isinstance(rebase_at, (str, bytes)) or not hasattr(rebase_at, "__iter__"):
        rebase_at = [rebase_at]
    starts: set[int] = set()
    for r in rebase_at:
        idx = next((i for i, p in enumerate(periods) if _same_period(p, r)), None)
        if idx is None:
            raise ValueError(f"rebase period {r!r} is not one of the periods")
        starts.add(idx)
    group_of: list[int] = []
    g = 0
    for i in range(len(periods)):
        if i in starts and i > 0:
            g += 1
        group_of.append(g)

    kept: list[tuple[Any, float, int]] = []
    skipped: list[Any] = []
    for p, v, gi in zip(periods, values, group_of):
        x = _as_value(v, p)
        if x is None:
            skipped.append(p)
        else:
            kept.append((p, x, gi))

    # renumber the groups that still have points 0, 1, 2, ...
    raw_ids = sorted({gi for _, _, gi in kept})
    renumber = {raw: new for new, raw in enumerate(raw_ids)}

    dir_sign = _DIRECTION_SIGN[direction]
    groups: list[LimitGroup] = []
    points: list[SpcPoint] = []
    for raw in raw_ids:
        gid = renumber[raw]
        members = [(p, x) for p, x, gi in kept if gi == raw]
        ys = [x for _, x in members]
        base = ys[:fix_after] if fix_after is not None else ys
        mean = _mean(base)
        mrs = [abs(base[i] - base[i - 1]) for i in range(1, len(base))]
        amr: float | None = _mean(mrs) if mrs else None
        screened = 0
        if amr is not None and screen_outliers:
            kept_mrs = [m for m in mrs if m < SCREEN_LIMIT * amr]
            screened = len(mrs) - len(kept_mrs)
            amr = _mean(kept_mrs) if kept_mrs else None
        if amr is None:
            limits = None
            lpl = upl = nlpl = nupl = None
        else:
            lpl, upl = mean - LIMIT * amr, mean + LIMIT * amr
            nlpl, nupl = mean - NEAR_LIMIT * amr, mean + NEAR_LIMIT * amr
            limits = (lpl, upl, nlpl, nupl)
        start = len(points)
        for (p, x), (rule, sig) in zip(members, _classify_group(ys, mean, limits)):
            points.append(
                SpcPoint(
                    period=p,
                    value=x,
                    group=gid,
                    mean=mean,
                    lower_limit=lpl,
                    upper_limit=upl,
                    near_lower=nlpl,
                    near_upper=nupl,
                    point_type=_point_type(sig, dir_sign),
                    rule=rule,
                    signal=None if rule is None else ("high" if sig > 0 else "low"),
                )
            )
        groups.append(
            LimitGroup(
                index=gid,
                start=start,
                end=len(points) - 1,
                start_period=members[0][0],
                end_period=members[-1][0],
                n_points=len(ys),
                n_baseline=len(base),
                mean=mean,
                mean_moving_range=amr,
                moving_ranges_screened=screened,
                lower_limit=lpl,
                upper_limit=upl,
                near_lower=nlpl,
                near_upper=nupl,
                trial=len(ys) < MIN_POINTS,
                fixed=fix_after is not None and len(ys) > len(base),
            )
        )

    last_group = groups[-1] if groups else None
    return SpcResult(
        direction=direction,
        target=target,
        screen_outliers=screen_outliers,
        fix_after=fix_after,
        groups=tuple(groups),
        points=tuple(points),
        variation=_variation(points[-1] if points else None, direction),
        assurance=_assurance(last_group, direction, target),
        skipped=tuple(skipped),
    )


# ---------------------------------------------------------------------------------------------
# A registry metric's options: fixed limits and recorded change points (data/metrics.yaml ``spc``)


@dataclass(frozen=True)
class Rebase:
    """A recorded change point as it falls on a series: ``period`` is the series' period the new
    limit group starts at (the first period on or after the change point), ``recorded`` the change
    point's own period and ``reason`` its words."""

    period: Any
    recorded: dt.date
    reason: str

    @property
    def at_change(self) -> bool:
        """True when the series has a value for the change point's own period."""
        return _as_date(self.period) == self.recorded


@dataclass(frozen=True)
class SpcOptions:
    """What :func:`spc` is given for a registry metric's series: ``fix_after`` and the rebases."""

    fix_after: int | None = None
    rebases: tuple[Rebase, ...] = ()

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`spc`."""
        return {"fix_after": self.fix_after, "rebase_at": [r.period for r in self.rebases]}

    def rebase_at(self, period: Any) -> list[Rebase]:
        """The change points that start a new limit group at ``period``."""
        return [r for r in self.rebases if _same_period(r.period, period)]


def _as_date(p: Any) -> dt.date | None:
    if isinstance(p, dt.datetime):  # pandas' Timestamp included
        return p.date()
    if isinstance(p, dt.date):
        return p
    try:
        return dt.date.fromisoformat(str(p)[:10])
    except ValueError:
        return None


def metric_options(metric: Any, periods: Sequence[Any]) -> SpcOptions:
    """The SPC options the registry records for ``metric`` (its ``spc``: ``fix_after`` and
    ``change_points``), laid on a series with these ``periods`` (period ends, in time order).

    A change point rebases the limits at the first period of the series on or after it (a
    missing period at the change itself does not lose the rebase). A change point after the
    latest period, or on or before the first, starts no new group and is left out. Every
    screen and the command line compute a metric's SPC through this one function."""
    settings = getattr(metric, "spc", None)
    if settings is None:
        return SpcOptions()
    ends = [(p, _as_date(p)) for p in periods]
    rebases: list[Rebase] = []
    for cp in settings.change_points:
        at = next((i for i, (_, d) in enumerate(ends) if d is not None and d >= cp.period), None)
        if at is None or at == 0:
            continue
        rebases.append(Rebase(period=ends[at][0], recorded=cp.period, reason=cp.reason))
    return SpcOptions(fix_after=settings.fix_after, rebases=tuple(rebases))
