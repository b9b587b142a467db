"""Small-number suppression for external viewers (inspectors): DfE's rule, applied to the frame.

:func:`suppress_for_external` takes the resolved observation frame of one data version and
returns a copy that is safe to show outside the partnership. Every figure, hover label, table
and download built for an external viewer is built from that copy, never from the original.

The rule, for each metric whose registry entry says ``suppression: {rule: small_numbers}``
(``min``..``max``, normally 1..5; rows of other metrics are returned untouched):

1. Primary. A row is suppressed when a count in it is between ``min`` and ``max`` inclusive:
   ``numerator`` or ``denominator`` (any unit: a rate of 3 children, or a percentage of 3
   children), ``value`` and ``published_value`` when the unit is a count, and, for a rate or
   percentage published without its numerator, the count implied by value x denominator; for a
   share published with neither (the seed report's "1% unborn"), the count implied by the share
   x the total it is of, the value of the registry's ``suppression.total_metric`` for the same
   area, period and agency (1% of 285 children is about 3 children).
   0 is shown (DfE shows 0).
2. Linked rows. A count and the rate built on it are separate metrics (the rate's
   ``suppression.count_metric``); a share that is also a breakdown cell is a separate row (the
   metric's ``headline_cell``). When one row of a
   linked pair is suppressed (by this function or already "c" from the publisher), so is the
   other: one cannot be worked out from the other.
3. Secondary. Cells of a breakdown whose registry entry has ``partition: true`` add up to a
   total: the total row of the metric (breakdown "") for a count, the shared denominator for a
   share. In a group (metric, area, period, agency, breakdown dimension) in which this function
   suppressed a cell, if exactly one cell is "c" while the total is shown, the smallest
   positive shown cell is suppressed too (a zero only when no positive cell is left, since a
   zero is often structural and known anyway); if no cell is left, the whole group and its
   total are. This repeats with steps 2 and 3 until nothing changes. A group whose total is
   itself between ``min`` and ``max`` is suppressed whole.
4. Notes. A row's note reaches external viewers only when it is the publisher's (or ours about
   the publisher's figure) and quotes nothing from which a number from 1 to 5 can be worked out;
   the notes of local returns and imports are analysts' own words and are withheld.
5. Rows that already carry a status symbol ("c", "x", "z", "k", "low" ...) are left exactly as
   they are, and so are illustrative rows (percentages without counts).

A suppressed row has value, numerator, denominator and published_value set to NaN, status
"c" and the note ``SUPPRESSED_NOTE`` (notes can quote figures). Secondary and linked
suppressions get the same note as primary ones, so that the note does not tell which of two
hidden cells is the small one.

Areas are not summed here: England and regional figures are published totals in their own
right and are left as published, and a group whose only "c" came from the publisher is left
as the publisher suppressed it (DfE applies its own secondary suppression, and rounds
regional figures to the nearest 10, so they cannot be recovered exactly).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..registry import Registry, Unit, derivable_small_numbers

#: Status of a suppressed row (DfE's symbol for "confidential").
SUPPRESSED = "c"

#: Note of every row this function suppresses, replacing any note that might quote a figure.
SUPPRESSED_NOTE = "Suppressed: small number"

def count_of_rate(registry: Registry) -> dict[str, str]:
    """Rate metric -> the count metric it is built on (``suppression.count_metric`` in the registry)."""
    return {m.id: m.suppression.count_metric for m in registry.metrics if m.suppression.count_metric}


def headline_cells(registry: Registry) -> dict[str, tuple[str, str]]:
    """Metric -> (breakdown dimension, value) of the cell its headline row repeats (``headline_cell``)."""
    return {m.id: (m.headline_cell.breakdown, m.headline_cell.value) for m in registry.metrics if m.headline_cell}


def total_of_share(registry: Registry) -> dict[str, str]:
    """Share metric -> the count metric its breakdown's shares are of (``suppression.total_metric``)."""
    return {m.id: m.suppression.total_metric for m in registry.metrics if m.suppression.total_metric}


FIGURES = ("value", "numerator", "denominator", "published_value")

# What one unit of a rate's value is per item of its numerator: value = numerator / denominator x scale.
_SCALE = {Unit.PERCENT: 100.0, Unit.RATE_PER_10000: 10000.0, Unit.CASES_PER_FTE: 1.0}

_ROW = ["area_code", "period_end", "agency", "breakdown", "breakdown_value"]
_GROUP = ["metric_id", "area_code", "period_end", "agency", "breakdown"]
_PLACE = ["metric_id", "area_code", "period_end", "agency"]


def suppress_for_external(frame: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """A copy of ``frame`` with small numbers, and whatever would reveal them, shown as "c".

    Same columns and rows in the same order; the input is not changed. See the module
    docstring for the rule.
    """
    out = frame.copy(deep=True)
    if out.empty:
        return out

    rules = {
        m.id: (float(m.suppression.min), float(m.suppression.max), m.unit)
        for m in registry.metrics
        if m.suppression.rule == "small_numbers"
    }
    codes, names = pd.factorize(out["metric_id"].astype(str))

    def per_row(values: dict, default) -> np.ndarray:
        return np.array([values.get(name, default) for name in names], dtype=object)[codes]

    status = out["status"].fillna("").astype(str).to_numpy()
    governed = per_row({k: True for k in rules}, False).astype(bool)
    illustrative = out["illustrative"].fillna(False).astype(bool).to_numpy()
    # Rows this function may change: governed, real, and not already carrying a symbol.
    open_ = governed & ~illustrative & (status == "")
    already = governed & (status == SUPPRESSED)

    lo = per_row({k: v[0] for k, v in rules.items()}, np.nan).astype(float)
    hi = per_row({k: v[1] for k, v in rules.items()}, np.nan).astype(float)
    is_count = per_row({k: v[2] is Unit.COUNT for k, v in rules.items()}, False).astype(bool)
    scale = per_row({k: _SCALE.get(v[2], np.nan) for k, v in rules.items()}, np.nan).astype(float)
    nums = {c: out[c].astype(float).to_numpy() for c in FIGURES}

    def small(x: np.ndarray) -> np.ndarray:
        return (x >= lo) & (x <= hi)

    implied = nums["value"] * nums["denominator"] / scale
    implied = np.where(np.isnan(nums["numerator"]), np.round(implied), np.nan)
    total_pos, total_value = _share_totals(out, registry, governed)
    share_count = np.where(np.isnan(nums["numerator"]) & np.isnan(nums["denominator"]) & ~np.isnan(total_value),
                           np.round(nums["value"] * total_value / scale), np.nan)
    primary = small(nums["numerator"]) | small(nums["denominator"]) | small(implied) | small(share_count)
    primary |= is_count & (small(nums["value"]) | small(nums["published_value"]))
    hidden = open_ & primary

    pairs = _linked_pairs(out, registry)
    groups = _partition_groups(out, registry, governed, open_, is_count, nums, share_count, total_pos)
    while True:
        shut = hidden | already
        new = np.zeros(len(out), dtype=bool)
        a, b = pairs
        new[a[shut[b]]] = True
        new[b[shut[a]]] = True
        new |= groups.secondary(hidden, shut, lo, hi)
        new &= open_ & ~hidden
        if not new.any():
            break
        hidden |= new

    column = out.columns.get_loc
    withheld = governed & ~hidden & _notes_to_withhold(out)
    if withheld.any():
        out.iloc[np.flatnonzero(withheld), column("note")] = None
    if hidden.any():
        rows = np.flatnonzero(hidden)  # by position: the index may repeat labels
        out.iloc[rows, [column(c) for c in FIGURES]] = np.nan
        out.iloc[rows, column("status")] = SUPPRESSED
        out.iloc[rows, column("note")] = SUPPRESSED_NOTE
    return out


def _notes_to_withhold(frame: pd.DataFrame) -> np.ndarray:
    """Row notes external viewers do not get: every note of a local return or an import (analysts'
    own words, which may quote counts: "Report: 10 (3%)"), and any note from which a number from 1
    to 5 can be worked out (:func:`dashboard.registry.derivable_small_numbers`)."""
    notes = frame["note"]
    present = notes.notna().to_numpy() & (notes.astype(str) != "").to_numpy()
    if "source_kind" in frame.columns:
        local = (frame["source_kind"].fillna("") != "published").to_numpy()
    else:
        local = np.zeros(len(frame), dtype=bool)
    texts = notes[present].astype(str)
    risky = {t: bool(derivable_small_numbers(t)) for t in texts.unique()}
    small = np.zeros(len(frame), dtype=bool)
    small[np.flatnonzero(present)] = texts.map(risky).to_numpy(dtype=bool)
    return present & (local | small)


def _share_totals(frame: pd.DataFrame, registry: Registry, governed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of a share metric with a ``total_metric``: the position and value of the total's
    row (same area, period and agency, no breakdown); -1 and NaN elsewhere."""
    pos = np.full(len(frame), -1)
    value = np.full(len(frame), np.nan)
    links = total_of_share(registry)
    if not links:
        return pos, value
    keyed = frame[_PLACE].assign(_pos=np.arange(len(frame)), breakdown=frame["breakdown"].to_numpy())
    keyed["agency"] = keyed["agency"].fillna("")
    for share, total in links.items():
        cells = keyed[(keyed["metric_id"] == share).to_numpy() & governed & (keyed["breakdown"] != "").to_numpy()]
        heads = keyed[(keyed["metric_id"] == total).to_numpy() & (keyed["breakdown"] == "").to_numpy()]
        if cells.empty or heads.empty:
            continue
        m = cells.drop(columns="metric_id").merge(heads.drop(columns=["metric_id", "breakdown"]).drop_duplicates(
            ["area_code", "period_end", "agency"]), on=["area_code", "period_end", "agency"], suffixes=("", "_t"))
        pos[m["_pos"].to_numpy()] = m["_pos_t"].to_numpy()
    has = pos >= 0
    value[has] = frame["value"].astype(float).to_numpy()[pos[has]]
    return pos, value


def _linked_pairs(frame: pd.DataFrame, registry: Registry) -> tuple[np.ndarray, np.ndarray]:
    """Positions (a, b) of rows that reveal each other: a rate and its count, a headline and its cell."""
    rates, heads = count_of_rate(registry), headline_cells(registry)
    wanted = {*rates, *rates.values(), *heads}
    keyed = frame[["metric_id", *_ROW]].assign(_pos=np.arange(len(frame)))
    keyed = keyed[keyed["metric_id"].isin(list(wanted)).to_numpy()]
    keyed["agency"] = keyed["agency"].fillna("")
    a: list[np.ndarray] = []
    b: list[np.ndarray] = []
    for rate, count in rates.items():
        m = keyed[keyed["metric_id"] == rate].merge(keyed[keyed["metric_id"] == count], on=_ROW)
        a.append(m["_pos_x"].to_numpy())
        b.append(m["_pos_y"].to_numpy())
    for metric_id, (dim, code) in heads.items():
        mine = keyed[keyed["metric_id"] == metric_id]
        head = mine[mine["breakdown"] == ""]
        cell = mine[(mine["breakdown"] == dim) & (mine["breakdown_value"] == code)]
        m = head.merge(cell, on=_PLACE)
        a.append(m["_pos_x"].to_numpy())
        b.append(m["_pos_y"].to_numpy())
    if not a:
        return np.array([], dtype=int), np.array([], dtype=int)
    return np.concatenate(a).astype(int), np.concatenate(b).astype(int)


class _Groups:
    """The cells of partition breakdowns, grouped, with each group's total row (if any)."""

    def __init__(self, cell_pos, gid, count, pickable, head_pos, total, by_count, den_shown_cell, den_shown_head):
        self.cell_pos = cell_pos  # frame position of each cell
        self.gid = gid  # group number of each cell
        self.count = count  # the cell's count (value for a count, numerator for a share)
        self.pickable = pickable  # open cell with a known count: may be chosen as a secondary
        self.head_pos = head_pos  # per group: position of the total / headline row, -1 if none
        self.total = total  # per group: the total the cells add up to (NaN if unknown)
        self.by_count = by_count  # per group: True when the total is the headline row's value
        self.den_shown_cell = den_shown_cell  # per cell: the row shows the total as its denominator
        self.den_shown_head = den_shown_head  # per group: the headline shows it
        self.n = len(head_pos)

    def secondary(self, hidden, shut, lo, hi) -> np.ndarray:
        """Rows to suppress so that no suppressed cell can be recovered from its group's total."""
        new = np.zeros(len(hidden), dtype=bool)
        if self.n == 0:
            return new
        gid, pos, n = self.gid, self.cell_pos, self.n
        has_head = self.head_pos >= 0
        head = np.where(has_head, self.head_pos, 0)
        glo = np.full(n, np.nan)
        ghi = np.full(n, np.nan)
        glo[gid] = lo[pos]
        ghi[gid] = hi[pos]

        n_shut = np.bincount(gid, weights=shut[pos], minlength=n)
        touched = np.bincount(gid, weights=hidden[pos], minlength=n) > 0
        head_hidden = has_head & hidden[head]
        shown_by_count = has_head & ~shut[head] & ~np.isnan(self.total)
        shown_by_den = (np.bincount(gid, weights=self.den_shown_cell & ~hidden[pos], minlength=n) > 0) | (
            self.den_shown_head & ~head_hidden
        )
        total_shown = np.where(self.by_count, shown_by_count, shown_by_den)

        whole = (self.total >= glo) & (self.total <= ghi)
        need = touched & (n_shut == 1) & total_shown & ~whole
        if need.any():
            free = self.pickable & ~shut[pos] & need[gid]
            cand = pd.DataFrame({"g": gid[free], "zero": self.count[free] == 0, "count": self.count[free],
                                 "pos": pos[free]})
            first = cand.sort_values(["g", "zero", "count"], kind="stable").drop_duplicates("g")
            new[first["pos"].to_numpy()] = True
            orphan = need.copy()
            orphan[first["g"].to_numpy()] = False
            whole |= orphan  # nothing left to pair with: hide the group and its total
        if whole.any():
            new[pos[whole[gid]]] = True
            new[self.head_pos[whole & has_head]] = True
        return new


def _partition_groups(frame, registry, governed, open_, is_count, nums, share_count, total_pos) -> _Groups:
    parts = {k for k, b in registry.breakdowns.items() if b.partition}
    is_cell = governed & frame["breakdown"].isin(list(parts)).to_numpy()
    cell_pos = np.flatnonzero(is_cell)
    empty = np.array([], dtype=int)
    if len(cell_pos) == 0:
        return _Groups(empty, empty, np.array([]), np.array([], dtype=bool), empty, np.array([]),
                       np.array([], dtype=bool), np.array([], dtype=bool), np.array([], dtype=bool))

    keys = frame[_GROUP].iloc[cell_pos].copy()
    keys["agency"] = keys["agency"].fillna("")
    gid = keys.groupby(_GROUP, sort=False, dropna=False).ngroup().to_numpy()
    n = int(gid.max()) + 1

    count = np.where(is_count[cell_pos], nums["value"][cell_pos], nums["numerator"][cell_pos])
    count = np.where(np.isnan(count), share_count[cell_pos], count)  # a share of a total metric: share x total
    pickable = open_[cell_pos] & ~np.isnan(count)

    # The headline row (breakdown "") of the same metric, area, period and agency, per group.
    firsts = pd.DataFrame({"g": gid, "pos": cell_pos}).drop_duplicates("g").sort_values("g")
    group_place = frame[_PLACE].iloc[firsts["pos"].to_numpy()].reset_index(drop=True)
    group_place["agency"] = group_place["agency"].fillna("")
    group_place["g"] = firsts["g"].to_numpy()
    heads = frame[_PLACE].assign(_pos=np.arange(len(frame)))[governed & (frame["breakdown"] == "").to_numpy()]
    heads["agency"] = heads["agency"].fillna("")
    matched = group_place.merge(heads.drop_duplicates(_PLACE), on=_PLACE, how="left")
    head_pos = np.full(n, -1)
    found = matched["_pos"].notna().to_numpy()
    head_pos[matched["g"].to_numpy()[found]] = matched["_pos"].to_numpy()[found].astype(int)
    # A share breakdown without a headline of its own is of its total metric's row: that row is its total.
    share_head = np.full(n, -1)
    share_head[gid] = total_pos[cell_pos]
    of_total = (head_pos < 0) & (share_head >= 0)
    head_pos = np.where(of_total, share_head, head_pos)
    has_head = head_pos >= 0

    by_count = np.zeros(n, dtype=bool)
    by_count[gid] = is_count[cell_pos]
    by_count |= of_total
    den = nums["denominator"]
    den_total = pd.Series(den[cell_pos]).groupby(gid).max().reindex(range(n)).to_numpy()
    head_den = np.where(has_head, den[np.where(has_head, head_pos, 0)], np.nan)
    den_total = np.fmax(den_total, head_den)
    head_value = np.where(has_head, nums["value"][np.where(has_head, head_pos, 0)], np.nan)
    total = np.where(by_count, head_value, den_total)

    return _Groups(
        cell_pos=cell_pos,
        gid=gid,
        count=count,
        pickable=pickable,
        head_pos=head_pos,
        total=total,
        by_count=by_count,
        den_shown_cell=~np.isnan(den[cell_pos]),
        den_shown_head=has_head & ~np.isnan(head_den),
    )
