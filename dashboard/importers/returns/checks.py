"""Checks across rows, once every table is read: breakdown categories that do not add up to
their total, and targets for the same metric and agency that overlap in time.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from ...registry import Unit
from .cells import _fmt
from .checker import _Checker
from .problems import _where


def _breakdown_totals(chk: _Checker) -> None:
    """Warn where the categories of a partition breakdown do not add up to their total."""
    partitions = {k for k, b in chk.registry.breakdowns.items() if b.partition}
    totals = {(r["metric_id"], r["area_code"], r["period_end"], r["agency"]): r
              for r in chk.rows if not r["breakdown"]}
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in chk.rows:
        if r["breakdown"] in partitions:
            groups[(r["metric_id"], r["area_code"], r["period_end"], r["agency"], r["breakdown"])].append(r)
    for (mid, area, end, agency, dim), rows in groups.items():
        metric = chk.metrics[mid]
        title = chk.registry.breakdowns[dim].title.lower()
        who = f" for {agency}" if agency else ""
        label = rows[0]["period_label"]
        where = _rows_named(rows)
        first = rows[0]
        if any(r["status"] for r in rows) or (mid, area, end, agency) in chk.refused_cells:
            continue  # a suppressed or refused category cannot be added up
        if all(r["numerator"] is not None and r["denominator"] is not None for r in rows):
            dens = sorted({r["denominator"] for r in rows})
            if len(dens) > 1:
                chk.add("breakdown_denominators",
                        f"the {title} rows of '{mid}'{who}, {label}, give different totals "
                        f"({', '.join(_fmt(x) for x in dens)}) on {where}: they should share one",
                        sheet=first["sheet"], row=first["row"], column="denominator",
                        value=_fmt(first["denominator"]), severity="warning")
                continue
            s = sum(Decimal(repr(r["numerator"])) for r in rows)
            total = Decimal(repr(dens[0]))
            if s != total:
                chk.add("breakdown_total",
                        f"the {title} breakdown of '{mid}'{who}, {label}, adds up to {_fmt(s)}, not the total of "
                        f"{_fmt(total)} ({_gap(s, total)}), on {where}: loaded as given, and flagged",
                        sheet=first["sheet"], row=first["row"], column="numerator", value=_fmt(s), severity="warning")
            continue
        total_row = totals.get((mid, area, end, agency))
        if metric.unit is Unit.COUNT and total_row is not None and total_row["value"] is not None \
                and all(r["value"] is not None for r in rows):
            s = sum(Decimal(repr(r["value"])) for r in rows)
            total = Decimal(repr(total_row["value"]))
            if s != total:
                tw = _where(total_row["sheet"], total_row["row"])
                chk.add("breakdown_total",
                        f"the {title} breakdown of '{mid}'{who}, {label}, adds up to {_fmt(s)}, not the total of "
                        f"{_fmt(total)} given on {tw} ({_gap(s, total)}), on {where}: loaded as given, "
                        "and flagged", sheet=first["sheet"], row=first["row"], column="value", value=_fmt(s),
                        severity="warning")
        elif metric.unit is Unit.PERCENT and all(r["value"] is not None and r["numerator"] is None for r in rows):
            s = sum(Decimal(repr(r["value"])) for r in rows)
            slack = sum(Decimal(5) * Decimal(10) ** -(r["_places"] + 1) for r in rows)
            if abs(s - 100) > slack:
                chk.add("breakdown_total",
                        f"the {title} percentages of '{mid}'{who}, {label}, add up to {_fmt(s)}%, not 100%, on "
                        f"{where}: loaded as given, and flagged", sheet=first["sheet"], row=first["row"],
                        column="value", value=f"{_fmt(s)}%", severity="warning")


def _gap(s: Decimal, total: Decimal) -> str:
    return f"{_fmt(s - total)} more" if s > total else f"{_fmt(total - s)} fewer"


def _rows_named(rows: list[dict]) -> str:
    sheets = {r["sheet"] for r in rows}
    nums = ", ".join(str(r["row"]) for r in rows)
    if sheets == {None}:
        return f"rows {nums}"
    if len(sheets) == 1:
        return f"sheet '{rows[0]['sheet']}' rows {nums}"
    return "; ".join(f"sheet '{r['sheet']}' row {r['row']}" for r in rows)


def _target_overlaps(chk: _Checker) -> None:
    by_key: dict[tuple, list[dict]] = defaultdict(list)
    for t in chk.targets:
        by_key[(t["metric_id"], t["agency"] or "")].append(t)
    bad_rows: set[int] = set()
    for (mid, agency), ts in by_key.items():
        for i, a in enumerate(ts):
            for b in ts[i + 1:]:
                a0, a1 = a["start"] or dt.date.min, a["end"] or dt.date.max
                b0, b1 = b["start"] or dt.date.min, b["end"] or dt.date.max
                if a0 <= b1 and b0 <= a1:
                    where = _where(a["sheet"], a["row"])
                    who = f" for {agency}" if agency else " for all agencies"
                    chk.add("target_overlap",
                            f"this target for '{mid}'{who} ({_span(b)}) overlaps the one on {where} ({_span(a)}): "
                            "give each period one target, ending one before the next starts",
                            sheet=b["sheet"], row=b["row"], column=b["_from_column"], value=b["_from"])
                    bad_rows.add(id(b))
    chk.targets = [t for t in chk.targets if id(t) not in bad_rows and not t["_refused"]]


def _span(t: dict) -> str:
    s = f"{t['start']:%d/%m/%Y}" if t["start"] else "open start"
    e = f"{t['end']:%d/%m/%Y}" if t["end"] else "open end"
    return f"{_fmt(t['value'])}, {s} to {e}"
