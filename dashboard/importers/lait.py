"""Readers for the tidy-long published files: LAIT's extracts and DfE's category-of-abuse tables.

Pure functions from a data folder to observation rows in the shape of
:func:`dashboard.importers.dfe.read_observations` (:data:`dfe.OBSERVATION_COLUMNS`); no database,
no Dash. ``data/dfe/SOURCES.md`` describes the files. The layout, one value per row:
``measure_code, measure_name, time_period, geographic_level, la_code, new_la_code, la_name,
region_name, value, polarity, unit`` (the England age file adds ``breakdown, breakdown_value``).

Rules, the same as :mod:`dfe`'s:

- Columns by name, every cell as text, byte-order mark ignored.
- LAIT's ``-`` (no figure: suppressed, not collected or not applicable; LAIT does not say which)
  is a typed missing value with status ``x``, never 0. The EES symbols (``c``, ``x``, ``z`` ...)
  are kept as they are.
- Float artefacts (``80.30000000000001``) are rounded half up to the measure's published
  decimals (the registry's ``decimals``).
- Areas: England (``National``), the regions and Inner and Outer London by their GSS code, local
  authorities by their three-digit DfE code through :func:`dfe._area_index`, so every row of an
  authority is filed under its current GSS code as in the EES files.
- Where LAIT publishes the count and the denominator, the rate or percentage is recomputed from
  them with DfE's arithmetic (rates per 10,000 over the ONS 0-17 estimate for the mid-year
  before 31 March) and LAIT's figure is kept in ``published_value``; a row whose published
  figure is ``-`` takes that status, whatever the counts would give. Where LAIT publishes only
  the figure, the value is LAIT's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..analysis.rates import MISSING, parse_published, percentage, rate_per_10000, round_half_up
from ..registry import PeriodType, Registry
from . import dfe
from .dfe import (
    ENGLAND,
    F_CP_AGE_ENGLAND,
    F_CP_CATEGORY,
    F_LAIT_CARE_LEAVERS,
    F_LAIT_CP,
    F_LAIT_PERFORMANCE,
    F_POPULATION,
)

#: The LAIT extracts in the tidy layout, in reading order.
LAIT_FILES = (F_LAIT_CP, F_LAIT_PERFORMANCE, F_LAIT_CARE_LEAVERS)

#: LAIT's symbol for "no figure", and the status it is stored with.
LAIT_NO_FIGURE = "-"
LAIT_NO_FIGURE_STATUS = "x"

#: LAIT's polarity column -> the registry's polarity.
POLARITY = {"High": "higher_better", "Low": "lower_better", "": "neutral"}

_TIDY_COLUMNS = ["measure_code", "time_period", "geographic_level", "la_code", "new_la_code", "la_name", "value"]

#: The first year the LAIT extracts cover.
FIRST_YEAR = 2016

Y31 = PeriodType.YEAR_TO_31_MARCH
S31 = PeriodType.SNAPSHOT_31_MARCH


@dataclass(frozen=True)
class Part:
    """A count a rate or percentage is built on: a LAIT measure, an EES column, or the population."""

    code: str  # LAIT measure code, EES column name, or "population"
    file: str | None = None  # None: a LAIT measure (any of the three extracts); else the EES file


POPULATION = Part("population", F_POPULATION)


@dataclass(frozen=True)
class Measure:
    """One registry metric read from a LAIT measure.

    ``kind``: "count" (the measure's number), "published" (LAIT's figure is the value; ``numerator``
    may name its count, kept for small-number suppression), "rate" (per 10,000 children,
    ``numerator`` / population) or "percentage" (``numerator`` / ``denominator``).
    """

    metric_id: str
    code: str
    kind: str
    decimals: int
    period_type: PeriodType
    numerator: Part | None = None
    denominator: Part | None = None


def measures(registry: Registry) -> tuple[Measure, ...]:
    """The LAIT measures the registry declares (``published: {reader: lait, ...}``), in registry order.

    What a metric is built from is a fact about the metric, so it lives in ``data/metrics.yaml``;
    decimals and period type come from the metric too.
    """
    out = []
    for m in registry.metrics:
        p = m.published
        if p is None or p.reader != "lait":
            continue
        out.append(Measure(m.id, p.measure, p.kind, m.decimals, m.period_type, _part(p.numerator, p.file),
                           _part(p.denominator, p.file)))
    return tuple(out)


def _part(part, default_file: str | None) -> Part | None:
    if part is None:
        return None
    if part.population:
        return POPULATION
    if part.measure is not None:
        return Part(part.measure)
    return Part(part.column, part.file or default_file)


#: Category-of-abuse measure names in the EES file -> the registry's ``category_of_abuse`` codes.
CATEGORY_CODES = {"Neglect": "NEG", "Emotional": "EMO", "Physical": "PHY", "Sexual": "SAB", "Multiple": "MUL"}
#: Initial or latest category -> the breakdown dimension it is filed under.
CATEGORY_BREAKDOWNS = {"Initial": "category_of_abuse", "Latest": "category_of_abuse_latest"}
#: Table -> (total measure, count metric, percentage metric, rate metric, period type).
CATEGORY_TABLES = {
    "D4": ("D4_CPP_At31", "cp_category_31mar", "cp_by_category", "cp_category_31mar_rate", S31),
    "D2": ("D2_CPP_start", "cp_category_started", "cp_category_started_pct", "cp_category_started_rate", Y31),
}
_CATEGORY_MEASURE = re.compile(r"(D[24])_(Neglect|Emotional|Physical|Sexual|Multiple)_(Initial|Latest)")

#: England's age groups in the A5 file -> the registry's ``age_group_dfe`` codes.
AGE_GROUPS = {"Unborn": "unborn", "Under 1": "under_1", "1-4 years": "1-4", "5-9 years": "5-9",
              "10-15 years": "10-15", "16 & over": "16_plus"}
AGE_METRIC = "cp_by_age_england"


Cell = tuple[float | None, str]  # (value, status)


# --------------------------------------------------------------------------- reading


def _area(level: str, la_code: str, new_la_code: str, name: str, index, filename: str) -> str:
    level = level.strip().lower()
    if level == "national":
        return ENGLAND
    if level == "regional":
        code = new_la_code.strip()
        if code not in index.canonical:
            raise ValueError(f"{filename}: region {name!r} ({code!r}) is not a known area")
        return code
    if level == "local authority":
        code = dfe._clean_la_code(la_code)
        area = index.by_old_code.get(code)
        if area is None:
            raise ValueError(f"{filename}: la_code {la_code!r} ({name}) names no known authority")
        return area
    raise ValueError(f"{filename}: unknown geographic_level {level!r}")


def _cells(texts: list[str], filename: str) -> tuple[list[float | None], list[str]]:
    """Published cells as (values, statuses); LAIT's "-" is "x", never 0."""
    seen: dict[str, Cell] = {}
    values, statuses = [], []
    for text in texts:
        got = seen.get(text)
        if got is None:
            if text.strip() == LAIT_NO_FIGURE:
                got = (None, LAIT_NO_FIGURE_STATUS)
            else:
                try:
                    got = parse_published(text)
                except ValueError as exc:
                    raise ValueError(f"{filename}, column 'value': {exc}") from exc
            seen[text] = got
        values.append(got[0])
        statuses.append(got[1])
    return values, statuses


def read_tidy(data_dir: Path | str | None, filename: str) -> pd.DataFrame:
    """A tidy-long file as ``[measure, area_code, year, value, status, polarity, breakdown, breakdown_value]``."""
    df = dfe._read_csv(data_dir, filename)
    dfe._require(df, filename, _TIDY_COLUMNS)
    index = dfe._area_index(data_dir)
    seen: dict[tuple[str, str, str, str], str] = {}
    areas = []
    for key in zip(df["geographic_level"].tolist(), df["la_code"].tolist(), df["new_la_code"].tolist(),
                   df["la_name"].tolist()):
        if key not in seen:
            seen[key] = _area(*key, index, filename)
        areas.append(seen[key])
    values, statuses = _cells(df["value"].tolist(), filename)
    out = pd.DataFrame(dict(
        measure=df["measure_code"].str.strip(), area_code=areas, year=df["time_period"].astype(int),
        value=pd.Series(values, dtype=object), status=statuses,
        polarity=df["polarity"].str.strip() if "polarity" in df.columns else "",
        breakdown=df["breakdown"].str.strip() if "breakdown" in df.columns else "",
        breakdown_value=df["breakdown_value"].str.strip() if "breakdown_value" in df.columns else "",
    ))
    key = ["measure", "area_code", "year", "breakdown", "breakdown_value"]
    dup = out[out.duplicated(key, keep=False)]
    if not dup.empty:
        raise ValueError(f"{filename}: two values for the same measure, area and year:\n{dup.head().to_string()}")
    return out


def read_lait(data_dir: Path | str | None = None) -> dict[str, dict[tuple[str, int], Cell]]:
    """Every LAIT measure in the tidy extracts: measure code -> (area code, year) -> (value, status).

    Values are as published (float artefacts and all); "-" is ``(None, "x")``.
    """
    out: dict[str, dict[tuple[str, int], Cell]] = {}
    for filename in LAIT_FILES:
        df = read_tidy(data_dir, filename)
        for measure, area, year, v, s in zip(df["measure"].tolist(), df["area_code"].tolist(), df["year"].tolist(),
                                             df["value"].tolist(), df["status"].tolist()):
            table = out.setdefault(measure, {})
            if (area, year) in table:
                raise ValueError(f"{filename}: measure {measure} for {area} in {year} is also in another extract")
            table[(area, int(year))] = (v, s)
    return out


def lait_polarity(data_dir: Path | str | None = None) -> dict[str, str]:
    """LAIT measure code -> the registry polarity its ``polarity`` column gives (High, Low or blank)."""
    out: dict[str, str] = {}
    for filename in LAIT_FILES:
        df = read_tidy(data_dir, filename)
        for measure, grp in df.groupby("measure"):
            found = set(grp["polarity"])
            if len(found) != 1 or next(iter(found)) not in POLARITY:
                raise ValueError(f"{filename}: measure {measure} has polarity {sorted(found)}")
            out[measure] = POLARITY[next(iter(found))]
    return out


def _ees_column(data_dir, filename: str, column: str) -> dict[tuple[str, int], Cell]:
    df = dfe._read_csv(data_dir, filename)
    dfe._require(df, filename, ["time_period", "geographic_level", "old_la_code", column])
    values, statuses = dfe._parsed(df, filename, column)
    index = dfe._area_index(data_dir)
    out: dict[tuple[str, int], Cell] = {}
    for areas, year, v, s in zip(dfe._row_area_codes(df, index), df["time_period"].astype(int).tolist(), values,
                                 statuses):
        for area, _note in areas:
            out[(area, year)] = (v, s)
    return out


# --------------------------------------------------------------------------- observations


def _rounded(v: float | None, decimals: int) -> float | None:
    return None if v is None else round_half_up(v, decimals)


def _lait_rows(out, data_dir, lait, pops, declared: tuple[Measure, ...]) -> None:
    ees_cache: dict[tuple[str, str], dict[tuple[str, int], Cell]] = {}

    def part(p: Part | None) -> dict[tuple[str, int], Cell]:
        if p is None:
            return {}
        if p.file is None:
            if p.code not in lait:
                raise ValueError(f"LAIT measure {p.code} is not in the extracts")
            return lait[p.code]
        if p is POPULATION:
            return {(a, y + 1): c for (a, y), c in pops.items()}  # year to 31 March Y uses mid-(Y-1)
        key = (p.file, p.code)
        if key not in ees_cache:
            ees_cache[key] = _ees_column(data_dir, p.file, p.code)
        return ees_cache[key]

    sources_of = {code: f for f in LAIT_FILES for code in _codes_in(data_dir, f)}
    for m in declared:
        if m.code not in lait:
            raise ValueError(f"LAIT measure {m.code} ({m.metric_id}) is not in the extracts")
        pub = lait[m.code]
        source = sources_of[m.code]
        nums, dens = part(m.numerator), part(m.denominator)
        if m.kind in ("count", "published"):
            for (area, year), (v, s) in sorted(pub.items()):
                num = nums.get((area, year), (None, ""))[0] if m.numerator and not s else None
                value = _rounded(v, m.decimals)
                out.add(m.metric_id, area, year, value=value, status=s, numerator=num, published=value,
                        source=source)
            continue
        # A figure built from counts: every area and year with a published figure, or with both counts in
        # the years the extracts cover (LAIT's rates of children starting to be looked after begin in 2018;
        # the counts, and so our rates, in 2016).
        keys = set(pub) | {k for k in set(nums) & set(dens) if k[1] >= FIRST_YEAR}
        for area, year in sorted(keys):
            n, n_s = nums.get((area, year), (None, MISSING))
            d, d_s = dens.get((area, year), (None, MISSING))
            p, p_s = pub.get((area, year), (None, MISSING))
            if m.kind == "rate":
                value = rate_per_10000(n, d, m.decimals)
                note = dfe._pop_note(year)
            else:
                value = percentage(n, d, m.decimals)
                note = ""
            status = dfe._first_status(n_s, d_s)
            no_count = MISSING in (n_s, d_s)  # not in the files held here that year
            no_population = m.kind == "rate" and n is not None and d is None  # pre-2019 Dorset authorities
            if value is None and p is not None and not p_s and (no_count or no_population):
                # Nothing to recompute from: DfE's figure stands. A count withheld by DfE ("c", or
                # LAIT's "-") stays withheld, and so does the figure built on it.
                value, status, note = _rounded(p, m.decimals), "", (
                    "LAIT's published figure: the counts to recompute it from are not in the files held here.")
            if p_s == LAIT_NO_FIGURE_STATUS and status not in ("", MISSING):
                p_s = status  # LAIT's "-" over a count DfE marked ("c", "u"): say which, not just "no figure"
            if p_s and p_s != MISSING:
                # The figure is withheld: so are its parts (LAIT can print a count of 1 to 5 beside a "-").
                n = d = None
            out.add(m.metric_id, area, year, value=value, status=status, numerator=n,
                    denominator=d, published=_rounded(p, m.decimals), published_status=p_s, source=source,
                    note=note)


def _codes_in(data_dir, filename: str) -> set[str]:
    """The measure codes in one extract (the file read is cached by dfe for as long as it is unchanged)."""
    return set(dfe._read_csv(data_dir, filename)["measure_code"].str.strip())


def _category_rows(out, data_dir, pops) -> None:
    df = read_tidy(data_dir, F_CP_CATEGORY)
    cells = {(m, a, int(y)): (v, s) for m, a, y, v, s in zip(df["measure"].tolist(), df["area_code"].tolist(),
                                                              df["year"].tolist(), df["value"].tolist(),
                                                              df["status"].tolist())}
    totals = {t[0] for t in CATEGORY_TABLES.values()}
    unknown = sorted(set(df["measure"]) - totals - {m for m in df["measure"] if _CATEGORY_MEASURE.fullmatch(m)})
    if unknown:
        raise ValueError(f"{F_CP_CATEGORY}: unknown measure(s) {unknown}")
    for measure, area, year in sorted(cells):
        v, s = cells[(measure, area, year)]
        if measure in totals:
            table = next(k for k, t in CATEGORY_TABLES.items() if t[0] == measure)
            out.add(CATEGORY_TABLES[table][1], area, year, value=v, status=s, published=v, source=F_CP_CATEGORY)
            continue
        table, category, basis = _CATEGORY_MEASURE.fullmatch(measure).groups()
        total_measure, count_id, pct_id, rate_id, _pt = CATEGORY_TABLES[table]
        t, t_s = cells.get((total_measure, area, year), (None, MISSING))
        pop, pop_s = pops.get((area, year - 1), (None, MISSING))
        cell = dict(breakdown=CATEGORY_BREAKDOWNS[basis], breakdown_value=CATEGORY_CODES[category],
                    source=F_CP_CATEGORY)
        out.add(count_id, area, year, value=v, status=s, published=v, **cell)
        out.add(pct_id, area, year, value=percentage(v, t, 1), status=dfe._first_status(s, t_s), numerator=v,
                denominator=t, note="Percentage of all plans: the category's count / the total.", **cell)
        out.add(rate_id, area, year, value=rate_per_10000(v, pop, 1), status=dfe._first_status(s, pop_s),
                numerator=v, denominator=pop, note=dfe._pop_note(year), **cell)


def _age_rows(out, data_dir) -> None:
    df = read_tidy(data_dir, F_CP_AGE_ENGLAND)
    df = df[df["measure"] == "A5_CPP_At31"]
    totals = {(r.area_code, r.year): (r.value, r.status)
              for r in df[(df["breakdown"] == "Gender") & (df["breakdown_value"] == "Total")].itertuples()}
    ages = df[df["breakdown"] == "Age"]
    unknown = sorted(set(ages["breakdown_value"]) - set(AGE_GROUPS))
    if unknown:
        raise ValueError(f"{F_CP_AGE_ENGLAND}: unknown age group(s) {unknown}")
    for r in ages.itertuples():
        t, t_s = totals.get((r.area_code, r.year), (None, MISSING))
        out.add(AGE_METRIC, r.area_code, r.year, value=percentage(r.value, t, 1),
                status=dfe._first_status(r.status, t_s),
                numerator=r.value, denominator=t, source=F_CP_AGE_ENGLAND, breakdown="age_group_dfe",
                breakdown_value=AGE_GROUPS[r.breakdown_value],
                note="England's counts are rounded to the nearest 10; the total is all children on a plan.")


def read_observations(data_dir: Path | str | None = None,
                      registry: Registry | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """The LAIT measures the registry declares, CP plans by category of abuse and England's plans by age:
    ``(rows, sources)`` in the shape of :func:`dfe.read_observations`."""
    registry = dfe.registry_for(data_dir, registry)
    out = dfe._Rows({m.id: m.period_type for m in registry.metrics})
    pops = dfe._population_lookup(data_dir)
    lait = read_lait(data_dir)
    _lait_rows(out, data_dir, lait, pops, measures(registry))
    _category_rows(out, data_dir, pops)
    _age_rows(out, data_dir)
    rows = dfe.observation_frame(out.rows)
    used = sorted({k.split("/", 1)[1] for k in rows["source_key"]})
    return rows, dfe.sources(data_dir, used)


__all__ = [
    "AGE_GROUPS",
    "CATEGORY_CODES",
    "LAIT_FILES",
    "measures",
    "POLARITY",
    "lait_polarity",
    "read_lait",
    "read_observations",
    "read_tidy",
]
