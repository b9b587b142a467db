"""Illustrative monthly demand, from a seeded generator calibrated to DfE's published annual figures.

A demand page needs months; DfE publishes years. Until an authority loads its own monthly
return, this module makes 36 plausible months for **any** authority from the annual figures
passed in, so that the page has something true-to-scale to show. Every row it makes is marked
``illustrative=True`` (every view showing it says "Illustrative"); a real return replaces it.
Nothing here is a real monthly figure. ``docs/demand.md`` describes each metric.

API
---
``generate(area_code, annual, *, end_year=None, years=3, seed=SEED) -> list[dict]``

``annual`` holds the published figures of one authority, in two sections (a missing key, or
``None``, means "not published" or "suppressed"):

* ``annual["year_to_31_march"][Y]``: flows in the year to 31 March Y (``referrals``,
  ``rereferrals``, ``assessments``, ``s47``, ``icpc``, ``cp_started``, ``cp_ended``,
  ``lac_started``, ``lac_ceased``, ``placements_20mi``, and ``contacts`` if a local count is
  known), percentages of the year (``assessments_45d_pct``, ``icpc_15d_pct``) and stocks at
  31 March Y (``cp_open``, ``cin_open``, ``lac_open``);
* ``annual["at_30_september"][Y]``: the workforce at 30 September Y (``sw_fte``,
  ``agency_fte``, ``vacancies``, ``caseload``).

The months run from April of ``end_year - years`` to March of ``end_year`` (default: the
latest year of the first section). Rows have the keys ``metric_id, area_code, period_end``
(a month-end ``datetime.date``), ``value``, ``illustrative`` (always True), ``calibrated``
and ``note``. :func:`annual_from_observations` builds ``annual`` from the rows of
:func:`dashboard.importers.dfe.read_observations`; the function itself reads nothing.

``reconcile(monthly_rows, annual, *, area_code=None) -> list[str]``: one warning per
published figure that the months do not reproduce (a data-quality warning, not an error).

Calibration
-----------
* **Flows**: the 12 months of each year to 31 March add up exactly to the published count
  (whole numbers): the year's total is shared among its months by a multinomial draw whose
  probabilities follow the seasonal profile below and a trend that runs smoothly from one
  year's monthly average to the next.
* **Stocks at 31 March** (children on a plan, in need, looked after): the March value is
  the published figure exactly. In between, children on a plan and looked after move with
  the generated starts and ends, and any gap between those flows and the published change in
  the stock is spread evenly over the year; children in need follow a straight line between
  the two March figures. A small random "bridge" (zero at both ends) adds month-to-month
  movement.
* **Workforce at 30 September** (FTE in post, agency FTE, vacancies, caseload): the
  September value is the published figure exactly, with a straight line plus bridge between
  Septembers (one decimal place).
* **Percentages** (assessments within 45 working days, ICPCs within 15 working days): the
  year's number of timely assessments is ``round(published % x assessments of the year)``,
  shared among the months (never more than the month's assessments); each month shows its
  own percentage, and the months weighted by their counts give back the published one up to
  what whole numbers allow.

Seasonality (calendar month factors of the monthly average; referrals and contacts)
----------------------------------------------------------------------------------
Jan 1.02, Feb 1.00, Mar 1.06, Apr 0.94 (Easter holidays), May 1.03, Jun 1.05, Jul 1.02,
Aug 0.80 (schools closed: schools are a main source of referrals), Sep 1.04 (return to
school), Oct 1.12, Nov 1.10 (the autumn peak), Dec 0.82 (Christmas holidays in the second
half of December). The factors average 1. Later steps follow with a lag and a weaker swing
(:data:`FLOW_SEASON`): assessments and ICPCs a month behind referrals, plans starting a month
behind, looked-after starts and ends and placements with a much smaller swing. This is a
plausible shape, not a measured one: a council's own months will differ.

Missing figures
---------------
Where a figure is not published (missing or suppressed), it comes from, in order: the same
figure of the nearest published year; else a documented proxy (:data:`PROXIES`: e.g.
section 47 enquiries = 0.33 x referrals, roughly England's ratio); and the rows built on it
have ``calibrated=False`` and a note naming the proxy. Contacts have no published counterpart
at all: they are referrals x :data:`CONTACTS_PER_REFERRAL` and always uncalibrated. A stock
month is calibrated only when both the figures it lies between are published (or it is the
published month itself).

Determinism
-----------
``numpy.random.default_rng`` seeded from ``seed``, the area code and the metric (CRC-32, not
Python's salted ``hash``): the same inputs always give the same rows, another authority gets
another series, and adding a metric does not change the others.
"""
from __future__ import annotations

import datetime as dt
import math
import zlib
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

SEED = 20250331
MARCH = "year_to_31_march"
SEPTEMBER = "at_30_september"

SOURCE = {
    "key": "illustrative/demand-generator",
    "kind": "illustrative",
    "title": "Illustrative monthly demand from a seeded generator calibrated to DfE's annual figures "
             "(dashboard/importers/demand.py)",
    "publisher": "Generated by this dashboard: not real data",
    "vintage": f"seed {SEED}",
    "licence": "",
    "url": None,
    "sha256": None,
}

#: Calendar month -> factor of the monthly average, for referrals and contacts (mean 1).
SEASONAL_PROFILE = {1: 1.02, 2: 1.00, 3: 1.06, 4: 0.94, 5: 1.03, 6: 1.05,
                    7: 1.02, 8: 0.80, 9: 1.04, 10: 1.12, 11: 1.10, 12: 0.82}

#: Flow key -> (lag in months behind referrals, share of the referral swing kept).
FLOW_SEASON = {
    "contacts": (0, 1.0), "referrals": (0, 1.0), "rereferrals": (0, 1.0), "assessments": (1, 0.8),
    "s47": (0, 0.8), "icpc": (1, 0.7), "cp_started": (1, 0.6), "cp_ended": (0, 0.3),
    "lac_started": (0, 0.4), "lac_ceased": (0, 0.3), "placements_20mi": (0, 0.4),
}

#: Contacts per referral: no published counterpart (DfE does not collect contacts). A rough
#: national order of magnitude; a council's own figure should replace it.
CONTACTS_PER_REFERRAL = 4.0

#: key -> the proxies tried in order, each (base key, ratio, plain words), for a figure never published for
#: the authority: value = ratio x base of the same year (a base of None: the ratio is the value itself). A
#: base that is itself being worked out (a cycle) is skipped. Steps of the flow from referral to plan are
#: taken from their nearest neighbour in the flow, so that the funnel keeps its shape. Ratios are rounded,
#: approximate England figures of recent years (CIN census, children looked after and workforce
#: statistics); they give scale, not a local truth.
PROXIES: dict[str, tuple[tuple[str | None, float, str], ...]] = {
    "referrals": (("cin_open", 1.5, "1.5 x children in need at 31 March"),),
    "rereferrals": (("referrals", 0.22, "22% of referrals"),),
    "contacts": (("referrals", CONTACTS_PER_REFERRAL,
                  f"{CONTACTS_PER_REFERRAL:g} x referrals (contacts have no published figure)"),),
    "assessments": (("referrals", 1.0, "1.0 x referrals"),),
    "assessments_45d_pct": ((None, 83.0, "83%"),),
    "s47": (("icpc", 1 / 0.37, "initial child protection conferences / 0.37"),
            ("referrals", 0.33, "0.33 x referrals")),
    "icpc": (("cp_started", 1 / 0.85, "child protection plans started / 0.85"),
             ("s47", 0.37, "0.37 x section 47 enquiries")),
    "icpc_15d_pct": ((None, 78.0, "78%"),),
    "cp_started": (("icpc", 0.85, "0.85 x initial child protection conferences"),),
    "cp_ended": ((None, 0.0, "plans started + plans at the previous 31 March - plans at this 31 March"),),
    "cp_open": (("cp_started", 0.75, "0.75 x plans started in the year"),),
    "cin_open": (("referrals", 0.65, "0.65 x referrals in the year"),),
    "lac_started": (("lac_open", 0.38, "0.38 x looked after at 31 March"),),
    "lac_ceased": ((None, 0.0, "starts + looked after at the previous 31 March - looked after at this 31 March"),),
    "lac_open": (("cin_open", 0.2, "0.2 x children in need at 31 March"),),
    "placements_20mi": (("lac_started", 0.2, "0.2 x children starting to be looked after"),),
    "sw_fte": (("cin_open", 1 / 9.6, "children in need at the next 31 March / 9.6 (16 cases per case holder, "
                                     "60% of FTE holding cases)"),),
    "agency_fte": (("sw_fte", 0.18, "0.18 x social worker FTE in post"),),
    "vacancies": (("sw_fte", 0.2, "0.2 x social worker FTE in post"),),
    "caseload": ((None, 16.0, "16 cases per case-holding FTE"),),
}


@dataclass(frozen=True)
class DemandMetric:
    metric_id: str
    key: str  # key in the annual dict
    kind: str  # flow | stock | pct
    section: str  # MARCH | SEPTEMBER
    title: str
    published: str  # the published annual counterpart, or "" when there is none
    decimals: int = 0
    denominator: str = ""  # for a pct: the flow it is a share of


METRICS: tuple[DemandMetric, ...] = (
    DemandMetric("demand_contacts", "contacts", "flow", MARCH, "Contacts received in the month", ""),
    DemandMetric("demand_referrals", "referrals", "flow", MARCH, "Referrals to children's social care in the month",
                 "referrals (CIN census, year to 31 March)"),
    DemandMetric("demand_rereferrals", "rereferrals", "flow", MARCH,
                 "Re-referrals within 12 months of a previous referral, in the month",
                 "re-referrals within 12 months (CIN census, year to 31 March; DfE prints the count and the %)"),
    DemandMetric("demand_assessments", "assessments", "flow", MARCH, "Assessments completed in the month",
                 "assessments completed (CIN census, year to 31 March)"),
    DemandMetric("demand_assessments_45d_pct", "assessments_45d_pct", "pct", MARCH,
                 "Share of assessments completed in the month within 45 working days",
                 "% of assessments completed within 45 working days (CIN census)", 1, "assessments"),
    DemandMetric("demand_s47", "s47", "flow", MARCH, "Section 47 enquiries started in the month",
                 "section 47 enquiries (CIN census, year to 31 March)"),
    DemandMetric("demand_icpc", "icpc", "flow", MARCH, "Initial child protection conferences held in the month",
                 "initial child protection conferences (CIN census, year to 31 March)"),
    DemandMetric("demand_icpc_15d_pct", "icpc_15d_pct", "pct", MARCH,
                 "Share of ICPCs in the month held within 15 working days of the strategy discussion",
                 "% of ICPCs within 15 working days of the strategy discussion (CIN census)", 1, "icpc"),
    DemandMetric("demand_cp_started", "cp_started", "flow", MARCH, "Child protection plans started in the month",
                 "child protection plans started (CIN census, year to 31 March)"),
    DemandMetric("demand_cp_ended", "cp_ended", "flow", MARCH, "Child protection plans ended in the month",
                 "child protection plans ended (CIN census, year to 31 March)"),
    DemandMetric("demand_cp_open", "cp_open", "stock", MARCH, "Children on a child protection plan at month end",
                 "children on a child protection plan at 31 March (CIN census)"),
    DemandMetric("demand_cin_open", "cin_open", "stock", MARCH, "Children in need at month end",
                 "children in need at 31 March (CIN census)"),
    DemandMetric("demand_lac_started", "lac_started", "flow", MARCH,
                 "Children starting to be looked after in the month",
                 "children starting to be looked after (SSDA903, year to 31 March)"),
    DemandMetric("demand_lac_ceased", "lac_ceased", "flow", MARCH, "Children ceasing to be looked after in the month",
                 "children ceasing to be looked after (SSDA903, year to 31 March)"),
    DemandMetric("demand_lac_open", "lac_open", "stock", MARCH, "Children looked after at month end",
                 "children looked after at 31 March (SSDA903)"),
    DemandMetric("demand_placements_20mi", "placements_20mi", "flow", MARCH,
                 "New placements outside the LA boundary and more than 20 miles from home, in the month",
                 "new placements during the year outside the LA boundary and more than 20 miles from home "
                 "(SSDA903, year to 31 March)"),
    DemandMetric("demand_sw_fte", "sw_fte", "stock", SEPTEMBER, "Social worker FTE in post at month end",
                 "social worker FTE in post at 30 September (CSWW)", 1),
    DemandMetric("demand_agency_fte", "agency_fte", "stock", SEPTEMBER, "Agency social worker FTE at month end",
                 "agency social worker FTE at 30 September (CSWW)", 1),
    DemandMetric("demand_vacancies", "vacancies", "stock", SEPTEMBER, "Social worker vacancies (FTE) at month end",
                 "social worker vacancies FTE at 30 September (CSWW)", 1),
    DemandMetric("demand_caseload", "caseload", "stock", SEPTEMBER,
                 "Average caseload of case-holding social workers at month end",
                 "average caseload per case-holding FTE at 30 September (CSWW)", 1),
)
BY_ID = {m.metric_id: m for m in METRICS}
BY_KEY = {m.key: m for m in METRICS}

#: Month-to-month movement of stocks (standard deviation of a bridge step, as a share of the level).
_STOCK_NOISE = {"cp_open": 0.015, "cin_open": 0.012, "lac_open": 0.006, "sw_fte": 0.008, "agency_fte": 0.03,
                "vacancies": 0.04, "caseload": 0.015}

ILLUSTRATIVE = "Illustrative: generated, not a real figure."


# --------------------------------------------------------------------------- dates


def month_end(year: int, month: int) -> dt.date:
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def months_of_year_to_march(year: int) -> list[dt.date]:
    """The 12 month ends of the year to 31 March ``year``: April ``year - 1`` to March ``year``."""
    return [month_end(year - 1 + (m < 4), m) for m in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)]


def _months_to_september(year: int) -> list[dt.date]:
    return [month_end(year - 1 + (m < 10), m) for m in (10, 11, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9)]


def year_to_march_of(d: dt.date) -> int:
    return d.year + (d.month > 3)


# --------------------------------------------------------------------------- published inputs


def _number(value, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{where}: expected a number or None, got {value!r}")
    v = float(value)
    if math.isnan(v):
        return None
    if v < 0:
        raise ValueError(f"{where}: a published figure cannot be negative ({v:g})")
    return v


class _Cycle(Exception):
    """A proxy that leads back to the figure being worked out."""


@dataclass(frozen=True)
class _Figure:
    value: float
    published: bool
    how: str  # plain words: where the figure came from


class _Inputs:
    """Published figures, and the rule that fills a missing one (nearest year, then proxy)."""

    def __init__(self, annual: Mapping):
        unknown = set(annual) - {MARCH, SEPTEMBER}
        if unknown:
            raise ValueError(f"annual: unknown section(s) {sorted(unknown)}; expected {MARCH!r} and {SEPTEMBER!r}")
        self.pub: dict[str, dict[int, dict[str, float]]] = {MARCH: {}, SEPTEMBER: {}}
        for section in (MARCH, SEPTEMBER):
            for year, figures in (annual.get(section) or {}).items():
                clean = {}
                for key, value in (figures or {}).items():
                    if key not in BY_KEY or BY_KEY[key].section != section:
                        raise ValueError(f"annual[{section!r}][{year}]: unknown figure {key!r}")
                    v = _number(value, f"annual[{section!r}][{year}][{key!r}]")
                    if v is not None:
                        clean[key] = v
                self.pub[section][int(year)] = clean
        self._memo: dict[tuple[str, int], _Figure] = {}
        self._busy: set[tuple[str, int]] = set()

    def published(self, key: str, year: int) -> float | None:
        return self.pub[BY_KEY[key].section].get(year, {}).get(key)

    def get(self, key: str, year: int) -> _Figure:
        k = (key, year)
        if k in self._memo:
            return self._memo[k]
        if k in self._busy:
            raise _Cycle(key)
        self._busy.add(k)
        try:
            fig = self._fill(key, year)
        except _Cycle:
            if self._busy == {k}:  # the outermost figure: no proxy leads anywhere
                raise ValueError(f"{key} for {self._label(key, year)}: not published, and no proxy can be "
                                 f"worked out from the figures given") from None
            raise
        finally:
            self._busy.discard(k)
        self._memo[k] = fig
        return fig

    def _label(self, key: str, year: int) -> str:
        return f"31 March {year}" if BY_KEY[key].section == MARCH else f"30 September {year}"

    def _fill(self, key: str, year: int) -> _Figure:
        section = BY_KEY[key].section
        v = self.published(key, year)
        if v is not None:
            return _Figure(v, True, f"DfE's published figure for {self._label(key, year)}")
        years = sorted((y for y, f in self.pub[section].items() if key in f), key=lambda y: (abs(y - year), y))
        if years:
            near = years[0]
            return _Figure(self.pub[section][near][key], False,
                           f"not published for {self._label(key, year)}: the figure for {self._label(key, near)} "
                           f"is used")
        if key in ("cp_ended", "lac_ceased"):
            words = PROXIES[key][0][2]
            start_key, stock_key = ("cp_started", "cp_open") if key == "cp_ended" else ("lac_started", "lac_open")
            v = (self.get(start_key, year).value + self.get(stock_key, year - 1).value
                 - self.get(stock_key, year).value)
            return _Figure(max(0.0, round(v)), False, f"not published; proxy: {words}")
        for base, ratio, words in PROXIES[key]:
            if base is None:
                return _Figure(ratio, False, f"not published; proxy: {words}")
            # Workforce at 30 September Y sits in the year to 31 March Y + 1.
            base_year = year + 1 if section == SEPTEMBER and BY_KEY[base].section == MARCH else year
            try:
                v = self.get(base, base_year).value * ratio
            except _Cycle:
                continue
            return _Figure(round(v, BY_KEY[key].decimals), False, f"not published; proxy: {words}")
        if key in ("referrals", "cin_open"):
            raise ValueError("the annual figures hold neither referrals nor children in need for any year: "
                             "at least one is needed to give the generator a scale")
        raise _Cycle(key)


#: DfE metric id -> (section, key of ``annual``, field of the row): the published figures the months are
#: calibrated to and checked against.
PUBLISHED_ANNUAL: dict[str, tuple[str, str, str]] = {
    "referrals": (MARCH, "referrals", "value"),
    "rereferral_pct": (MARCH, "rereferrals", "numerator"),
    "cp_started": (MARCH, "cp_started", "value"),
    "cp_plans_31mar": (MARCH, "cp_open", "value"),
    "cin_31mar": (MARCH, "cin_open", "value"),
    "lac_31mar": (MARCH, "lac_open", "value"),
    "lac_new_placements_20_miles": (MARCH, "placements_20mi", "numerator"),
    "sw_turnover_rate": (SEPTEMBER, "sw_fte", "denominator"),
    "sw_agency_rate": (SEPTEMBER, "agency_fte", "numerator"),
    "sw_vacancy_rate": (SEPTEMBER, "vacancies", "numerator"),
    "sw_caseload": (SEPTEMBER, "caseload", "value"),
}


def annual_from_observations(observations, area_code: str) -> dict:
    """``annual`` for :func:`generate` from :func:`dashboard.importers.dfe.read_observations` rows.

    Uses what DfE's files, as read, hold: referrals, re-referrals (the numerator of
    ``rereferral_pct``), plans started, plans, children in need and looked after at 31 March,
    new placements outside the boundary and over 20 miles (the numerator of the headline
    ``lac_new_placements_20_miles`` row), and at 30 September FTE in post (the denominator of
    ``sw_turnover_rate``), agency FTE and vacancies (the numerators of their rates) and
    caseload. Suppressed cells (no value) are left out, so the generator treats them as
    missing. Pure: ``observations`` is a DataFrame or a list of dicts.
    """
    if hasattr(observations, "to_dict"):
        rows = observations[observations["area_code"] == area_code].to_dict("records")
    else:
        rows = list(observations)
    take = PUBLISHED_ANNUAL
    out: dict = {MARCH: {}, SEPTEMBER: {}}
    for r in rows:
        spec = take.get(r.get("metric_id"))
        if spec is None or r.get("area_code") != area_code or (r.get("breakdown") or ""):
            continue
        section, key, fld = spec
        v = r.get(fld)
        if v is None or (isinstance(v, float) and math.isnan(v)) or (r.get("status") or "") not in ("", None):
            continue
        out[section].setdefault(r["period_end"].year, {})[key] = float(v)
    return out


# --------------------------------------------------------------------------- random pieces


def _rng(seed: int, area_code: str, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(area_code.encode()), zlib.crc32(name.encode())])


def _season(months: list[dt.date], lag: int, keep: float) -> np.ndarray:
    return np.array([1 + keep * (SEASONAL_PROFILE[(d.month - 1 - lag) % 12 + 1] - 1) for d in months])


def _allocate(total: int, weights: np.ndarray, rng: np.random.Generator, caps: np.ndarray | None = None) -> np.ndarray:
    """``total`` shared among months in proportion to ``weights`` (a multinomial draw), each at most its cap."""
    n = len(weights)
    total = int(total)
    w = np.clip(np.asarray(weights, dtype=float), 0, None)
    if caps is not None:
        caps = np.asarray(caps, dtype=int)
        if total > caps.sum():
            total = int(caps.sum())  # cannot happen with consistent inputs; the reconcile step will say so
        w = np.where(caps > 0, w, 0.0)
        if w.sum() == 0:
            w = caps.astype(float)
    if total == 0:
        return np.zeros(n, dtype=int)
    if w.sum() == 0:
        w = np.ones(n)
    out = rng.multinomial(total, w / w.sum())
    if caps is not None:
        excess = int(np.clip(out - caps, 0, None).sum())
        out = np.minimum(out, caps)
        while excess > 0:  # move the excess to the months with most room, one at a time
            i = int(np.argmax(caps - out))
            out[i] += 1
            excess -= 1
    return out.astype(int)


def _bridge(rng: np.random.Generator, n: int, sd: float) -> np.ndarray:
    """n values of a random walk pinned to zero at the start (before the first) and at the end."""
    walk = np.cumsum(rng.normal(0.0, sd, n))
    return walk - walk[-1] * np.arange(1, n + 1) / n


# --------------------------------------------------------------------------- the generator


def generate(area_code: str, annual: Mapping, *, end_year: int | None = None, years: int = 3,
             seed: int = SEED) -> list[dict]:
    """Illustrative monthly demand rows for ``area_code``: ``years`` x 12 months to 31 March ``end_year``."""
    if not area_code:
        raise ValueError("area_code is required")
    if years < 1:
        raise ValueError("years must be at least 1")
    inp = _Inputs(annual)
    if end_year is None:
        if not inp.pub[MARCH]:
            raise ValueError("annual holds no year to 31 March: give end_year")
        end_year = max(inp.pub[MARCH])
    fin_years = list(range(end_year - years + 1, end_year + 1))
    months = [d for y in fin_years for d in months_of_year_to_march(y)]
    rows: list[dict] = []

    def emit(key: str, values: Iterable, notes: Iterable[str], calibrated: Iterable[bool]) -> None:
        m = BY_KEY[key]
        for d, v, note, cal in zip(months, values, notes, calibrated):
            if v is not None:
                v = int(v) if m.decimals == 0 and m.kind != "pct" else round(float(v), m.decimals)
            rows.append(dict(metric_id=m.metric_id, area_code=area_code, period_end=d, value=v, illustrative=True,
                             calibrated=bool(cal), note=f"{ILLUSTRATIVE} {note}"))

    flows: dict[str, np.ndarray] = {}

    def flow(key: str, caps_key: str | None = None, floor_key: str | None = None) -> None:
        """Monthly counts of a flow; each year adds up to its (published or proxy) figure."""
        rng = _rng(seed, area_code, key)
        figs = [inp.get(key, y) for y in fin_years]
        totals = [int(round(f.value)) for f in figs]
        if floor_key is not None:  # contacts: at least the referrals of the month, the rest shared
            floor = flows[floor_key]
            totals = [max(t, int(floor[i * 12:(i + 1) * 12].sum())) for i, t in enumerate(totals)]
        # trend: each year's monthly average placed mid-year, linear in between, flat beyond the ends
        centres = np.array([12 * i + 5.5 for i in range(len(fin_years))])
        level = np.interp(np.arange(len(months)), centres, np.array(totals, dtype=float) / 12)
        lag, keep = FLOW_SEASON[key]
        weights = level * _season(months, lag, keep) * rng.lognormal(0.0, 0.03, len(months))
        out = np.zeros(len(months), dtype=int)
        for i, total in enumerate(totals):
            sl = slice(12 * i, 12 * (i + 1))
            if floor_key is not None:
                out[sl] = flows[floor_key][sl] + _allocate(total - int(flows[floor_key][sl].sum()), weights[sl], rng)
            else:
                caps = None if caps_key is None else flows[caps_key][sl]
                out[sl] = _allocate(total, weights[sl], rng, caps)
        flows[key] = out
        notes, cal = [], []
        for i, (y, f) in enumerate(zip(fin_years, figs)):
            if key == "contacts" and not f.published:
                text = (f"Uncalibrated: contacts have no published counterpart; {CONTACTS_PER_REFERRAL:g} contacts "
                        f"per referral assumed.")
            elif f.published and key == "contacts":
                text = f"The 12 months to 31 March {y} add up to the local annual figure given, {totals[i]:,}."
            elif f.published:
                text = f"The 12 months to 31 March {y} add up to DfE's published {totals[i]:,}."
            else:
                text = f"Uncalibrated: {f.how}; the 12 months to 31 March {y} add up to {totals[i]:,}."
            notes += [text] * 12
            cal += [f.published] * 12
        emit(key, out, notes, cal)

    def pct(key: str, of: str) -> None:
        rng = _rng(seed, area_code, key)
        values, notes, cal = [], [], []
        for i, y in enumerate(fin_years):
            f = inp.get(key, y)
            sl = slice(12 * i, 12 * (i + 1))
            counts = flows[of][sl]
            n = int(counts.sum())
            timely_total = min(n, int(round(f.value / 100 * n)))
            month_pct = np.clip(f.value + rng.normal(0, 3.0, 12), 0, 100)
            timely = _allocate(timely_total, counts * month_pct, rng, counts)
            for c, t in zip(counts, timely):
                values.append(None if c == 0 else 100.0 * t / c)
            if f.published:
                text = (f"{timely_total:,} of {n:,} within time in the year to 31 March {y}: DfE's published "
                        f"{f.value:g}% as nearly as whole numbers allow.")
            else:
                text = f"Uncalibrated: {f.how}."
            notes += [text if c else f"{text} No {BY_KEY[of].title.lower()}: no percentage." for c in counts]
            cal += [f.published] * 12
        emit(key, values, notes, cal)

    def stock_march(key: str, inflow: str | None = None, outflow: str | None = None) -> None:
        rng = _rng(seed, area_code, key)
        values, notes, cal = [], [], []
        for i, y in enumerate(fin_years):
            start, end = inp.get(key, y - 1), inp.get(key, y)
            sl = slice(12 * i, 12 * (i + 1))
            k = np.arange(1, 13)
            if inflow is not None:
                path = start.value + np.cumsum(flows[inflow][sl] - flows[outflow][sl])
                path = path + (end.value - path[-1]) * k / 12
            else:
                path = start.value + (end.value - start.value) * k / 12
            path = path + _bridge(rng, 12, _STOCK_NOISE[key] * max(start.value, end.value, 1.0))
            path = np.clip(np.round(path), 0, None)
            path[-1] = round(end.value)
            values += list(path)
            pinned = start.published and end.published
            for j in range(12):
                if j == 11 and end.published:
                    notes.append(f"DfE's published figure at 31 March {y}.")
                    cal.append(True)
                elif pinned:
                    notes.append(f"Between DfE's published figures at 31 March {y - 1} and {y}.")
                    cal.append(True)
                else:
                    which = end if not end.published else start
                    notes.append(f"Uncalibrated: {which.how}.")
                    cal.append(False)
        emit(key, values, notes, cal)

    def stock_september(key: str) -> None:
        rng = _rng(seed, area_code, key)
        m = BY_KEY[key]
        first, last = months[0], months[-1]
        by_month: dict[dt.date, tuple[float, str, bool]] = {}
        for s in range(first.year, last.year + 2):
            seg = _months_to_september(s)
            if seg[-1] < first or seg[0] > last:
                continue
            start, end = inp.get(key, s - 1), inp.get(key, s)
            k = np.arange(1, 13)
            path = start.value + (end.value - start.value) * k / 12
            path = path + _bridge(rng, 12, _STOCK_NOISE[key] * max(start.value, end.value, 1.0))
            path = np.clip(np.round(path, m.decimals), 0, None)
            path[-1] = round(end.value, m.decimals)
            for j, d in enumerate(seg):
                if j == 11 and end.published:
                    info = (f"DfE's published figure at 30 September {s}.", True)
                elif start.published and end.published:
                    info = (f"Between DfE's published figures at 30 September {s - 1} and {s}.", True)
                else:
                    which = end if not end.published else start
                    info = (f"Uncalibrated: {which.how}.", False)
                by_month[d] = (float(path[j]), *info)
        emit(key, [by_month[d][0] for d in months], [by_month[d][1] for d in months],
             [by_month[d][2] for d in months])

    flow("referrals")
    flow("contacts", floor_key="referrals")
    flow("rereferrals", caps_key="referrals")
    flow("assessments")
    pct("assessments_45d_pct", "assessments")
    flow("s47")
    flow("icpc")
    pct("icpc_15d_pct", "icpc")
    flow("cp_started")
    flow("cp_ended")
    stock_march("cp_open", "cp_started", "cp_ended")
    stock_march("cin_open")
    flow("lac_started")
    flow("lac_ceased")
    stock_march("lac_open", "lac_started", "lac_ceased")
    flow("placements_20mi")
    for key in ("sw_fte", "agency_fte", "vacancies", "caseload"):
        stock_september(key)
    order = {m.metric_id: i for i, m in enumerate(METRICS)}
    rows.sort(key=lambda r: (order[r["metric_id"]], r["period_end"]))
    return rows


# --------------------------------------------------------------------------- reconciliation


def reconcile(monthly_rows: Iterable[Mapping], annual: Mapping, *, area_code: str | None = None) -> list[str]:
    """Warnings where the months do not reproduce a published annual figure (an empty list: all agree).

    For each year to 31 March with a published figure and all 12 months present: a flow's
    12 months must add up to it; a stock's March value must equal it; a percentage's months,
    weighted by their counts (``demand_assessments`` or ``demand_icpc`` of the same month),
    must give it back to within what whole numbers allow (``50 / count of the year``
    percentage points) plus 0.05 for the monthly rounding. For each 30 September with a
    published figure, the September value must equal it (to 0.05 for FTE and caseload, which
    have one decimal place). A year with some of its months missing is not checked: a gap is
    the return validator's business. Rows of other metrics are ignored.
    """
    rows = [r for r in monthly_rows if r.get("metric_id") in BY_ID]
    areas = {r["area_code"] for r in rows}
    if area_code is None:
        if len(areas) > 1:
            raise ValueError(f"rows of several areas {sorted(areas)}: say which area_code the annual figures are for")
    else:
        rows = [r for r in rows if r["area_code"] == area_code]
    inp = _Inputs(annual)
    cells: dict[tuple[str, dt.date], float | None] = {}
    for r in rows:
        d = r["period_end"]
        d = d.date() if isinstance(d, dt.datetime) else d
        cells[(r["metric_id"], month_end(d.year, d.month))] = r["value"]
    warnings: list[str] = []

    def fmt(v: float, decimals: int) -> str:
        return f"{v:,.{decimals}f}"

    for m in METRICS:
        for year, figures in sorted(inp.pub[m.section].items()):
            published = figures.get(m.key)
            if published is None:
                continue
            if m.section == SEPTEMBER:
                v = cells.get((m.metric_id, dt.date(year, 9, 30)))
                if v is not None and abs(float(v) - published) > 0.05 + 1e-9:
                    warnings.append(f"{m.metric_id}: 30 September {year}: the monthly value is {fmt(float(v), 1)} but "
                                    f"DfE published {fmt(published, 1)}.")
                continue
            months = months_of_year_to_march(year)
            if not all((m.metric_id, d) in cells for d in months):
                continue
            label = f"year to 31 March {year}"
            if m.kind == "flow":
                vals = [cells[(m.metric_id, d)] for d in months]
                if any(v is None for v in vals):
                    continue
                total = sum(float(v) for v in vals)
                if abs(total - published) > 1e-9:
                    warnings.append(f"{m.metric_id}: {label}: the 12 months add up to {fmt(total, 0)} but DfE "
                                    f"published {fmt(published, 0)}.")
            elif m.kind == "stock":
                v = cells[(m.metric_id, months[-1])]
                if v is not None and abs(float(v) - published) > 1e-9:
                    warnings.append(f"{m.metric_id}: {label}: the value at 31 March is {fmt(float(v), 0)} but DfE "
                                    f"published {fmt(published, 0)}.")
            else:  # pct weighted by the count it is a share of
                den_id = BY_KEY[m.denominator].metric_id
                pairs = [(cells.get((m.metric_id, d)), cells.get((den_id, d))) for d in months]
                if any(c is None for _, c in pairs):
                    continue
                n = sum(float(c) for _, c in pairs)
                if n == 0:
                    continue
                weighted = sum(float(p) * float(c) for p, c in pairs if p is not None) / n
                if abs(weighted - published) > 50.0 / n + 0.05 + 1e-9:
                    warnings.append(f"{m.metric_id}: {label}: the months weighted by {den_id} give "
                                    f"{weighted:.1f}% but DfE published {published:g}%.")
    return warnings


__all__ = [
    "BY_ID",
    "CONTACTS_PER_REFERRAL",
    "DemandMetric",
    "FLOW_SEASON",
    "MARCH",
    "METRICS",
    "PROXIES",
    "PUBLISHED_ANNUAL",
    "SEASONAL_PROFILE",
    "SEED",
    "SEPTEMBER",
    "SOURCE",
    "annual_from_observations",
    "generate",
    "month_end",
    "months_of_year_to_march",
    "reconcile",
]
