"""Series, comparators and change: pure functions over the observation frame.

The observation frame has one row per cell (metric, area, period_end, agency, breakdown,
breakdown_value) after precedence is applied (published, then local return, then illustrative:
see ``resolve``). Columns: metric_id, area_code, period_end, period_label, agency, breakdown,
breakdown_value, value, numerator, denominator, published_value, status, illustrative,
source_key, source_kind, source_title, note.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from ..registry import Metric, Polarity

# Published figures first; then an analyst's import (a correction to a local figure wins over the
# files shipped in data/local); then those files; illustrative values last.
KIND_RANK = {"published": 0, "import": 1, "local_return": 2, "illustrative": 3}
CELL = ["metric_id", "area_code", "period_end", "agency", "breakdown", "breakdown_value"]
ENGLAND = "E92000001"


def resolve(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: the published figure where there is one, else the local, else illustrative."""
    if frame.empty:
        return frame
    ranked = frame.assign(_rank=frame["source_kind"].map(KIND_RANK).fillna(9))
    ranked = ranked.sort_values(CELL + ["_rank"], kind="stable")
    return ranked.drop_duplicates(CELL, keep="first").drop(columns="_rank").reset_index(drop=True)


def cell_series(rows: pd.DataFrame, agency: str = "", breakdown: str = "", breakdown_value: str = "") -> pd.DataFrame:
    """The time series of one cell, oldest first."""
    m = (rows["agency"] == agency) & (rows["breakdown"] == breakdown) & (rows["breakdown_value"] == breakdown_value)
    return rows[m].sort_values("period_end").reset_index(drop=True)


def headline_cell(metric: Metric, rows: pd.DataFrame, as_of: dt.date | None = None) -> tuple[str, str, str, str]:
    """Which cell stands for the metric on a scorecard: (agency, breakdown, breakdown_value, why).

    The whole-area total where there is one. A metric reported only by agency or breakdown
    (training by agency and level, say) is represented by its weakest cell in the latest period:
    the lowest value when higher is better, the highest when lower is better, and the largest
    share for a neutral breakdown. A metric with several breakdowns is represented within the
    first the registry lists. ``why`` says which rule chose it.
    """
    if as_of is not None:
        rows = rows[rows["period_end"] <= as_of]
    if rows.empty:
        return "", "", "", ""
    total = rows[(rows["agency"] == "") & (rows["breakdown"] == "")]
    if not total.empty:
        return "", "", "", ""
    dims = [b for b in metric.breakdowns if (rows["breakdown"] == b).any()]
    if len(dims) > 1:
        # Several breakdowns of the same total (initial and latest category of abuse): the first
        # listed in the registry stands for the metric, so the headline is one of its cells.
        rows = rows[rows["breakdown"].isin(["", dims[0]])]
    latest = rows[rows["period_end"] == rows["period_end"].max()].dropna(subset=["value"])
    if latest.empty:
        latest = rows[rows["period_end"] == rows["period_end"].max()]
        r = latest.iloc[0]
        return r["agency"], r["breakdown"], r["breakdown_value"], "first cell of the latest period"
    if metric.polarity is Polarity.HIGHER_BETTER:
        r, why = latest.loc[latest["value"].idxmin()], f"lowest of {len(latest)} in the latest period"
    elif metric.polarity is Polarity.LOWER_BETTER:
        r, why = latest.loc[latest["value"].idxmax()], f"highest of {len(latest)} in the latest period"
    else:
        r, why = latest.loc[latest["value"].idxmax()], f"largest of {len(latest)} in the latest period"
    return r["agency"], r["breakdown"], r["breakdown_value"], why


@dataclass(frozen=True)
class Change:
    previous_value: float | None
    previous_label: str
    delta: float | None
    direction: str  # "improved" | "worsened" | "no change" | "up" | "down" | "no previous value"

    @property
    def words(self) -> str:
        if self.delta is None:
            return "No earlier value to compare"
        return f"{self.direction} from {self.previous_label}"


def change_from_previous(metric: Metric, series: pd.DataFrame, index: int) -> Change:
    """Change between the point at ``index`` and the one before it, with the direction of good."""
    if index <= 0 or index >= len(series):
        return Change(None, "", None, "no previous value")
    cur, prev = series.iloc[index], series.iloc[index - 1]
    if pd.isna(cur["value"]) or pd.isna(prev["value"]):
        return Change(None if pd.isna(prev["value"]) else float(prev["value"]), prev["period_label"], None,
                      "no previous value")
    delta = round(float(cur["value"]) - float(prev["value"]), metric.decimals)
    if delta == 0:
        direction = "no change"
    elif metric.polarity is Polarity.NEUTRAL:
        direction = "up" if delta > 0 else "down"
    elif (delta > 0) == (metric.polarity is Polarity.HIGHER_BETTER):
        direction = "improved"
    else:
        direction = "worsened"
    return Change(float(prev["value"]), prev["period_label"], delta, direction)


def neighbour_median(rows_by_area: dict[str, pd.DataFrame], neighbours: list[str], metric: Metric) -> pd.DataFrame:
    """The statistical-neighbour median per period, with how many neighbours had a value.

    DfE compares an authority with the median of its ten statistical neighbours. Periods where
    fewer than half the neighbours have a value are left out rather than shown on thin evidence.
    """
    parts = []
    for code in neighbours:
        df = rows_by_area.get(code)
        if df is not None and not df.empty:
            parts.append(cell_series(df)[["period_end", "period_label", "value"]])
    if not parts:
        return pd.DataFrame(columns=["period_end", "period_label", "value", "n"])
    allp = pd.concat(parts).dropna(subset=["value"])
    g = allp.groupby(["period_end", "period_label"])["value"]
    out = pd.DataFrame({"value": g.median(), "n": g.size()}).reset_index()
    out = out[out["n"] * 2 >= len(neighbours)]
    from .rates import round_half_up

    out["value"] = [round_half_up(v, metric.decimals) for v in out["value"]]
    return out.sort_values("period_end").reset_index(drop=True)
