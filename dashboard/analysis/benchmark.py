"""National rank and quartile band (DfE LAIT's rule), and position against comparators.

Pure functions; no database, no Dash. The rule (LAIT ``R/fn_analysis.R``: ``calculate_rank``,
``calculate_quartile_band``; project guide section 3a):

- Only metrics with a direction are ranked and banded (LAIT polarity High or Low, the registry's
  ``higher_better`` / ``lower_better``). A neutral metric has no rank and no band.
- The pool is every local authority with a figure that period: England, the regions and Inner
  and Outer London are out (LAIT's numbers 970 and above); City of London and Isles of Scilly are
  in; a missing or withheld figure (``-``, ``c``, ``..``: any status) is out. Where our figure
  differs from the publisher's (a rate recomputed from counts), the pool holds the published
  figures, so that the ranks and bands are the ones LAIT shows (:func:`national_pool`).
- Rank 1 is the best; tied values share the lowest rank (R's ``ties.method = "min"``): the rank
  of a value is 1 + the number of pool values strictly better than it.
- Bands use R's default quantiles (type 7: numpy's ``method="linear"``) of the pool at 0, 25, 50,
  75 and 100%, computed on the values as they are (not rounded). Each band includes its upper
  edge. Lower is better: A is [q0, q25], B (q25, q50], C (q50, q75], D (q75, q100]. Higher is
  better: the same intervals are D, C, B, A, so a value exactly on q75 is B and one exactly on
  q25 is D. A value outside [q0, q100] (not in the pool) has no band.

Position against a comparator (statistical-neighbour median, England): "better", "worse" or
"same" for a metric with a direction; "higher", "lower" or "same" for a neutral one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from ..registry import Polarity

BANDS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Quartiles:
    q0: float
    q25: float
    q50: float
    q75: float
    q100: float

    @property
    def edges(self) -> tuple[float, float, float, float, float]:
        return (self.q0, self.q25, self.q50, self.q75, self.q100)


@dataclass(frozen=True)
class Benchmark:
    """Where one authority's figure sits among all authorities' that period."""

    value: float | None
    rank: int | None  # 1 = best; None for a neutral metric or a missing value
    pool_size: int  # authorities with a figure
    band: str | None  # "A" (best) to "D"; None for a neutral metric, a missing value or an empty pool
    quartiles: Quartiles | None  # None for an empty pool


def _present(x: object) -> bool:
    if x is None:
        return False
    try:
        return not math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def _values(pool: Mapping[str, float | None] | Iterable[float | None]) -> np.ndarray:
    items = pool.values() if isinstance(pool, Mapping) else pool
    return np.array([float(v) for v in items if _present(v)], dtype=float)


def _polarity(polarity: Polarity | str) -> Polarity:
    return Polarity(polarity)


def quartiles(pool: Mapping[str, float | None] | Iterable[float | None]) -> Quartiles | None:
    """R's ``quantile(x, na.rm = TRUE)`` (type 7) of the pool; None when the pool is empty."""
    values = _values(pool)
    if values.size == 0:
        return None
    q = np.quantile(values, [0.0, 0.25, 0.5, 0.75, 1.0], method="linear")
    return Quartiles(*(float(x) for x in q))


def quartile_band(value: float | None, q: Quartiles | None, polarity: Polarity | str) -> str | None:
    """LAIT's band A-D of ``value`` given the pool's quartiles; None when neutral or not placeable."""
    pol = _polarity(polarity)
    if pol is Polarity.NEUTRAL or q is None or not _present(value):
        return None
    v = float(value)
    q0, q25, q50, q75, q100 = q.edges
    if q0 <= v <= q25:
        i = 0
    elif q25 < v <= q50:
        i = 1
    elif q50 < v <= q75:
        i = 2
    elif q75 < v <= q100:
        i = 3
    else:
        return None
    return BANDS[i] if pol is Polarity.LOWER_BETTER else BANDS[3 - i]


def rank(value: float | None, pool: Mapping[str, float | None] | Iterable[float | None],
         polarity: Polarity | str) -> int | None:
    """1 + the number of pool values strictly better than ``value`` (ties share the lowest rank)."""
    pol = _polarity(polarity)
    if pol is Polarity.NEUTRAL or not _present(value):
        return None
    values = _values(pool)
    v = float(value)
    better = values > v if pol is Polarity.HIGHER_BETTER else values < v
    return int(better.sum()) + 1


def ranks(pool: Mapping[str, float | None], polarity: Polarity | str) -> dict[str, int]:
    """Every authority's rank in the pool (none for a neutral metric)."""
    if _polarity(polarity) is Polarity.NEUTRAL:
        return {}
    return {area: rank(v, pool, polarity) for area, v in pool.items() if _present(v)}


def benchmark(area: str, pool: Mapping[str, float | None], polarity: Polarity | str) -> Benchmark:
    """Rank, band and quartiles of ``area``'s figure in ``pool`` (area code -> figure)."""
    value = pool.get(area)
    value = float(value) if _present(value) else None
    q = quartiles(pool)
    return Benchmark(value=value, rank=rank(value, pool, polarity), pool_size=int(_values(pool).size),
                     band=quartile_band(value, q, polarity), quartiles=q)


def national_pool(rows: pd.DataFrame, la_codes: Iterable[str]) -> dict[str, float]:
    """The figures LAIT ranks, from the observation rows of one metric, period and cell.

    ``rows``: columns ``area_code``, ``value``, ``published_value``, ``status``, one row per area.
    ``la_codes``: the local authorities (areas of level "la"; England, regions and Inner and
    Outer London are left out). A row with a status (a withheld or missing figure) is left out;
    otherwise the published figure is used where there is one, else ours.
    """
    las = set(la_codes)
    out: dict[str, float] = {}
    for area, value, published, status in zip(rows["area_code"], rows["value"], rows["published_value"],
                                              rows["status"].fillna("")):
        if area not in las or status:
            continue
        figure = published if _present(published) else value
        if _present(figure):
            if area in out:
                raise ValueError(f"two figures for {area} in one benchmark pool")
            out[area] = float(figure)
    return out


def position(value: float | None, comparator: float | None, polarity: Polarity | str) -> str | None:
    """``value`` against a comparator (neighbour median, England): better / worse / same, or for a
    neutral metric higher / lower / same; None when either is missing."""
    if not _present(value) or not _present(comparator):
        return None
    v, c = float(value), float(comparator)
    if v == c:
        return "same"
    pol = _polarity(polarity)
    if pol is Polarity.NEUTRAL:
        return "higher" if v > c else "lower"
    return "better" if (v > c) == (pol is Polarity.HIGHER_BETTER) else "worse"


def neighbour_median(values: Mapping[str, float | None], neighbours: Iterable[str]) -> float | None:
    """The median of the neighbours' figures, when at least half of them have one (as the trend panels)."""
    nbs = list(neighbours)
    got = [float(values[n]) for n in nbs if _present(values.get(n))]
    if not nbs or len(got) * 2 < len(nbs):
        return None
    return float(np.median(got))


@dataclass(frozen=True)
class Placing:
    """One authority's figure for one period against every benchmark DfE's users know."""

    benchmark: Benchmark  # national rank and quartile band
    england: float | None
    neighbour_median: float | None
    vs_england: str | None  # better / worse / same (higher / lower / same when neutral)
    vs_neighbours: str | None


def place(rows: pd.DataFrame, area: str, polarity: Polarity | str, la_codes: Iterable[str],
          neighbours: Iterable[str], england: str = "E92000001") -> Placing:
    """Rank, band and position of ``area`` from the rows of one metric, period and cell (every area).

    The rank and band use the pool of :func:`national_pool` (published figures); the authority's
    own figure, England's and the neighbours' are the values shown on the page (``value``).
    """
    pool = national_pool(rows, la_codes)
    shown = {a: (float(v) if _present(v) and not s else None)
             for a, v, s in zip(rows["area_code"], rows["value"], rows["status"].fillna(""))}
    bench = benchmark(area, pool, polarity)
    own, eng = shown.get(area), shown.get(england)
    median = neighbour_median(shown, neighbours)
    return Placing(benchmark=bench, england=eng, neighbour_median=median,
                   vs_england=position(own, eng, polarity), vs_neighbours=position(own, median, polarity))


__all__ = [
    "Placing",
    "BANDS",
    "Benchmark",
    "Quartiles",
    "benchmark",
    "national_pool",
    "neighbour_median",
    "place",
    "position",
    "quartile_band",
    "quartiles",
    "rank",
    "ranks",
]
