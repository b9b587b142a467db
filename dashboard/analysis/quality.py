"""Data-quality checks that flag, never fix.

Real returns are inconsistent: the seed report's categories of abuse add up to 297 and its age
bands to 289, against 294 children on a plan. The dashboard shows such gaps as warnings next to
the figures; it does not adjust any number.
"""
from __future__ import annotations

import pandas as pd

CELL = ["metric_id", "area_code", "period_end", "agency", "breakdown"]


def _fmt(x: float) -> str:
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def breakdown_total_warnings(rows: pd.DataFrame, partitions: set[str]) -> list[dict]:
    """Breakdown rows that do not add up to their total.

    Only breakdowns in ``partitions`` are checked: those whose categories are exclusive and
    exhaustive (category of abuse, age band), not, say, training levels.

    Counts are checked against the shared denominator (the total the return gives);
    percentage-only breakdowns are checked against 100, allowing one point per category for
    rounding.
    """
    out: list[dict] = []
    if rows.empty:
        return out
    parts = rows[rows["breakdown"].isin(partitions)]
    for key, grp in parts.groupby(CELL + ["source_key"], sort=False):
        metric_id, area, period_end, agency, breakdown, source_key = key
        who = f" ({agency})" if agency else ""
        if grp["numerator"].notna().all() and grp["denominator"].notna().all() and grp["denominator"].nunique() == 1:
            total = float(grp["denominator"].iloc[0])
            s = float(grp["numerator"].sum())
            if abs(s - total) > 1e-9:
                out.append(dict(metric_id=metric_id, area_code=area, period_end=period_end, severity="warning",
                                source_key=source_key,
                                message=f"The {breakdown.replace('_', ' ')} breakdown{who} adds up to {_fmt(s)}, "
                                        f"not the total of {_fmt(total)} (a gap of {_fmt(s - total)}). "
                                        "Shown as reported, not corrected."))
        elif grp["numerator"].isna().all() and grp["value"].notna().all():
            s = float(grp["value"].sum())
            if abs(s - 100) > len(grp):
                out.append(dict(metric_id=metric_id, area_code=area, period_end=period_end, severity="warning",
                                source_key=source_key,
                                message=f"The {breakdown.replace('_', ' ')} percentages{who} add up to "
                                        f"{_fmt(s)}%, not 100%."))
    return out


def local_vs_published_warnings(rows: pd.DataFrame, kinds: dict[str, str]) -> list[dict]:
    """Cells where a local return and a published source both give a value and they differ.

    ``kinds`` maps a source key to its kind. The series shows the published figure; the local
    one is named in the warning so that nobody has to wonder which is right.
    """
    out: list[dict] = []
    if rows.empty:
        return out
    r = rows.assign(kind=rows["source_key"].map(kinds))
    key = CELL + ["breakdown_value"]
    pub = r[r["kind"] == "published"].set_index(key)
    loc = r[r["kind"].isin(("local_return", "import"))]
    if pub.empty or loc.empty:
        return out
    for rec in loc.itertuples(index=False):
        k = (rec.metric_id, rec.area_code, rec.period_end, rec.agency, rec.breakdown, rec.breakdown_value)
        if k not in pub.index:
            continue
        p = pub.loc[[k]].iloc[0]
        if p["value"] is None or pd.isna(p["value"]) or rec.value is None or pd.isna(rec.value):
            continue
        if abs(float(p["value"]) - float(rec.value)) > 1e-9:
            out.append(dict(metric_id=rec.metric_id, area_code=rec.area_code, period_end=rec.period_end,
                            severity="warning", source_key=rec.source_key,
                            message=f"For the period ending {rec.period_end:%-d %B %Y} the local return gives "
                                    f"{_fmt(rec.value)}; DfE published "
                                    f"{_fmt(float(p['value']))}. The chart shows the published figure; the "
                                    "difference is usually the date of the count or the definition."))
    return out
