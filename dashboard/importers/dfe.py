"""Readers for the Department for Education's published statistics in ``data/dfe/``.

Pure functions from a data folder to pandas DataFrames; no database, no Dash. The rules they
keep (``data/dfe/SOURCES.md`` describes the files):

- Columns are read by name, never by position; a byte-order mark is ignored ("utf-8-sig").
- Every cell is read as text. Codes stay text ("883", never 883.0; LAIT's "883.0" becomes
  "883"). Numbers go through :func:`dashboard.analysis.rates.parse_published`, so a
  suppression symbol becomes a missing value with its symbol as ``status``, never 0.
- An authority is identified by its current GSS code. DfE's three-digit code is stable for an
  authority, its GSS code is not (Barnsley, Sheffield, Buckinghamshire, North Yorkshire and
  Somerset changed code without changing their area), so every row of an authority is filed
  under the GSS code of its newest row. Authorities created or abolished by reorganisation
  have their own three-digit codes and stay separate: see :func:`reorganised_authorities`.
- London boroughs belong to the London region (E12000007); Inner and Outer London are
  areas of level "regional" whose ``region_code`` is London's.
- Rates are recomputed from counts and denominators with DfE's arithmetic and rounding
  (:mod:`dashboard.analysis.rates`); the published figure is kept beside it in
  ``published_value``. If DfE publishes a symbol where we could compute a figure, the row
  takes the symbol and no value: what DfE withheld is not shown.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import warnings
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import pandas as pd

from ..analysis.rates import (
    MISSING,
    agency_rate,
    caseload,
    parse_published,
    percentage,
    rate_per_10000,
    round_half_up,
    turnover_rate,
    vacancy_rate,
)
from ..config import DEFAULT_DATA_DIR
from ..periods import period_end_for_year
from ..registry import PeriodType, Registry, get_registry

ENGLAND = "E92000001"
LONDON = "E12000007"
INNER_LONDON = "E13000001"
OUTER_LONDON = "E13000002"

PUBLISHER = "Department for Education"
LICENCE = "Open Government Licence v3.0"
ATTRIBUTION = "Department for Education, explore-education-statistics"

EES = "https://explore-education-statistics.service.gov.uk/find-statistics/"
URL_CIN = EES + "characteristics-of-children-in-need"
URL_CLA = EES + "children-looked-after-in-england-including-adoptions"
URL_CSWW = EES + "children-s-social-work-workforce"
URL_LAIT = "https://www.gov.uk/government/publications/local-authority-interactive-tool-lait"
URL_OUTCOMES_REPO = "https://github.com/dfe-analytical-services/CSC_outcomes_and_enablers"
URL_LAIT_REPO = "https://github.com/dfe-analytical-services/local-authority-interactive-tool"

F_POPULATION = "ons_mid-year_population_estimates_2012_to_2024.csv"
F_CIN = "b1_children_in_need_2013_to_2025.csv"
F_REFERRALS = "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv"
F_CP_STARTED = "d3_cpps_subsequent_plan_2013_to_2025.csv"
F_CP_31MAR = "d5_cpps_at31march_by_duration_2013_to_2025.csv"
F_CLA = "cla_number_and_rate_per_10k_children.csv"
F_PLACEMENTS = "la_cla_during_year_new_placements.csv"
F_WORKFORCE = "csww_indicators_2017_to_2025.csv"
F_SN_2021 = "New_Statistical_Neighbour_Groupings_April_2021.csv"
F_SN_2025 = "sn_model_2025_wide.csv"
F_LAIT = "lait_looked_after_measures.csv"
F_LAIT_CP = "lait_child_protection_measures.csv"
F_LAIT_PERFORMANCE = "lait_performance_measures.csv"
F_LAIT_CARE_LEAVERS = "lait_care_leaver_and_placement_measures.csv"
F_LAIT_DICTIONARY = "lait_data_dictionary_subset.csv"
F_CP_CATEGORY = "ees_cpp_by_category_of_abuse_2013_to_2022.csv"
F_CP_AGE_ENGLAND = "ees_cpp_by_age_gender_ethnicity_england_2018_to_2022.csv"

#: The tidy EES files (``time_period``, ``geographic_level``, ``old_la_code`` ...), in which areas are named.
EES_FILES = (F_POPULATION, F_CIN, F_REFERRALS, F_CP_STARTED, F_CP_31MAR, F_CLA, F_PLACEMENTS, F_WORKFORCE)


@dataclass(frozen=True)
class FileInfo:
    title: str
    url: str
    copied_from: str
    publisher: str = PUBLISHER
    kind: str = "ees"  # ees | lait | tidy (LAIT-style long layout, ``time_period``) | dictionary | neighbours


_OUTCOMES_COPY = "dfe-analytical-services/CSC_outcomes_and_enablers data-raw/ at 2f5d11a"
_LAIT_COPY = "dfe-analytical-services/local-authority-interactive-tool 01_data/02_prod/bds_long_0.parquet at 2e30e39"
_STLITE_COPY = "DfE Characteristics of children in need 2022 release, as copied in WillLP-code/stlite-tests at 6d93070"

FILES: dict[str, FileInfo] = {
    F_POPULATION: FileInfo(
        "ONS mid-year population estimates, children aged 0 to 17, by local authority",
        URL_OUTCOMES_REPO, _OUTCOMES_COPY,
        publisher="Office for National Statistics; compiled by the Department for Education",
    ),
    F_CIN: FileInfo("Characteristics of children in need: children in need episodes (B1)", URL_CIN, _OUTCOMES_COPY),
    F_REFERRALS: FileInfo(
        "Characteristics of children in need: referrals and re-referrals within 12 months (C1)", URL_CIN, _OUTCOMES_COPY
    ),
    F_CP_STARTED: FileInfo(
        "Characteristics of children in need: child protection plans started, and second or subsequent plans (D3)",
        URL_CIN, _OUTCOMES_COPY,
    ),
    F_CP_31MAR: FileInfo(
        "Characteristics of children in need: child protection plans at 31 March by length of plan (D5)",
        URL_CIN, _OUTCOMES_COPY,
    ),
    F_CLA: FileInfo(
        "Children looked after in England: number and rate per 10,000 children (looked after at 31 March, "
        "starting, ceasing)", URL_CLA, _OUTCOMES_COPY,
    ),
    F_PLACEMENTS: FileInfo(
        "Children looked after in England: new placements during the year by location and distance from home",
        URL_CLA, _OUTCOMES_COPY,
    ),
    F_WORKFORCE: FileInfo(
        "Children's social work workforce: indicators at 30 September (FTE, agency, vacancy, turnover, caseload, "
        "absence)", URL_CSWW, _OUTCOMES_COPY,
    ),
    F_SN_2021: FileInfo("Statistical neighbour groupings, April 2021 model", URL_LAIT, _OUTCOMES_COPY,
                        kind="neighbours"),
    F_SN_2025: FileInfo("Statistical neighbour groupings, 2025 model", URL_OUTCOMES_REPO, _OUTCOMES_COPY,
                        kind="neighbours"),
    F_LAIT: FileInfo(
        "Local authority interactive tool (LAIT): children looked after at 31 March (number, rate per 10,000, "
        "placed outside the LA boundary and more than 20 miles from home, unaccompanied asylum-seeking children)",
        URL_LAIT,
        "dfe-analytical-services/local-authority-interactive-tool 01_data/02_prod/bds_long_0.parquet at 2e30e39, "
        "four measures kept",
        kind="lait",
    ),
    F_LAIT_CP: FileInfo(
        "Local authority interactive tool (LAIT): child protection measures (s47 enquiries, initial conferences, "
        "plans ceasing, reviews on time, second or subsequent plans, plans lasting two years or more)",
        URL_LAIT, _LAIT_COPY, kind="tidy",
    ),
    F_LAIT_PERFORMANCE: FileInfo(
        "Local authority interactive tool (LAIT): referrals, assessments, children looked after starting and "
        "ceasing, placement stability, health and dental checks, missing and away from placement",
        URL_LAIT, _LAIT_COPY, kind="tidy",
    ),
    F_LAIT_CARE_LEAVERS: FileInfo(
        "Local authority interactive tool (LAIT): care leavers aged 19 to 21, placements at 31 March, "
        "permanence and outcomes",
        URL_LAIT, _LAIT_COPY, kind="tidy",
    ),
    F_LAIT_DICTIONARY: FileInfo(
        "Local authority interactive tool (LAIT): data dictionary (the measures held here)",
        URL_LAIT, "dfe-analytical-services/local-authority-interactive-tool 01_data/02_prod/lait_data_dictionary.csv "
        "at 2e30e39", kind="dictionary",
    ),
    F_CP_CATEGORY: FileInfo(
        "Characteristics of children in need: child protection plans at 31 March (D4) and starting in the year "
        "(D2) by initial and latest category of abuse",
        URL_CIN, _STLITE_COPY, kind="tidy",
    ),
    F_CP_AGE_ENGLAND: FileInfo(
        "Characteristics of children in need: child protection plans at 31 March by age, gender and ethnicity, "
        "England (A5)",
        URL_CIN, _STLITE_COPY, kind="tidy",
    ),
}

#: Columns of :func:`read_observations`' rows, in order.
OBSERVATION_COLUMNS = [
    "metric_id", "area_code", "period_end", "agency", "breakdown", "breakdown_value", "value", "numerator",
    "denominator", "published_value", "status", "source_key", "note",
]

#: Placement location texts in the new-placements file -> the registry's ``placement_location`` codes.
PLACEMENT_LOCATIONS = {
    "placed inside la boundary less than 20 miles from home": "inside_lt20",
    "placed inside la boundary more than 20 miles from home": "inside_gt20",
    "placed outside la boundary less than 20 miles from home": "outside_lt20",
    "placed outside la boundary more than 20 miles from home": "outside_gt20",
    "distance not known or not recorded": "not_known",
}
PLACEMENT_TOTAL = "total new placements"
PLACEMENT_CHARACTERISTIC = "location of new placements during the year"

#: LAIT's codes for England and the regions -> GSS codes.
LAIT_AREA_CODES = {
    "970": ENGLAND,
    "980": "E12000001",  # North East
    "981": "E12000002",  # North West
    "982": "E12000003",  # Yorkshire and the Humber
    "983": "E12000004",  # East Midlands
    "984": "E12000005",  # West Midlands
    "985": "E12000006",  # East of England
    "986": LONDON,
    "987": INNER_LONDON,
    "988": OUTER_LONDON,
    "989": "E12000008",  # South East
    "990": "E12000009",  # South West
}

#: The month a file's ``time_period`` refers to (default 3: 31 March), to order rows in time.
_AS_AT_MONTH = {F_POPULATION: 6, F_WORKFORCE: 9}

_LEVELS = {"national": "national", "regional": "regional", "local authority": "la"}

_REORGANISATIONS = {
    "dorset": (
        "Dorset County Council (835), Poole (836) and Bournemouth (837) were replaced on 1 April 2019 by "
        "Dorset (838) and Bournemouth, Christchurch and Poole (839). DfE publishes the old authorities to the "
        "year to 31 March 2019 and the new ones from the year to 31 March 2020 (workforce from 30 September "
        "2019). A series for such an authority is short, not broken."
    ),
    "northamptonshire": (
        "Northamptonshire (928) was replaced on 1 April 2021 by North Northamptonshire (940) and West "
        "Northamptonshire (941). DfE publishes Northamptonshire to the year to 31 March 2021 and the new "
        "authorities from the year to 31 March 2022; their social work workforce is published as one joint "
        "return from 30 September 2021. A series for such an authority is short, not broken."
    ),
    "cumbria": (
        "Cumbria (909) was replaced on 1 April 2023 by Cumberland (942) and Westmorland and Furness (943). "
        "DfE publishes Cumbria to the year to 31 March 2023 and the new authorities from the year to 31 March "
        "2024 (workforce from 30 September 2023). A series for such an authority is short, not broken."
    ),
}
_REORGANISED = {
    "835": "dorset", "836": "dorset", "837": "dorset", "838": "dorset", "839": "dorset",
    "928": "northamptonshire", "940": "northamptonshire", "941": "northamptonshire",
    "909": "cumbria", "942": "cumbria", "943": "cumbria",
}


def reorganised_authorities() -> dict[str, str]:
    """DfE three-digit code -> a note, for every authority abolished or created by a reorganisation since 2013.

    Both the old authorities (835, 836, 837, 928, 909) and their successors (838, 839, 940, 941,
    942, 943) are keys: each has a series that starts or stops at the reorganisation.
    """
    return {code: _REORGANISATIONS[group] for code, group in _REORGANISED.items()}


# --------------------------------------------------------------------------- files


def _dfe_dir(data_dir: Path | str | None) -> Path:
    """The folder holding the DfE files: ``<data_dir>/dfe``, or ``data_dir`` itself if the files are there."""
    base = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    return base / "dfe" if (base / "dfe").is_dir() else base


def _stamp(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path.resolve()), st.st_mtime_ns, st.st_size


@lru_cache(maxsize=32)
def _csv_cached(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _read_csv(data_dir: Path | str | None, filename: str) -> pd.DataFrame:
    """The file as text cells (a private copy: callers may change it)."""
    path = _dfe_dir(data_dir) / filename
    if not path.exists():
        raise FileNotFoundError(f"{path}: DfE data file is missing (see data/dfe/SOURCES.md)")
    return _csv_cached(*_stamp(path)).copy()


@lru_cache(maxsize=32)
def _sha256_cached(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _require(df: pd.DataFrame, filename: str, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{filename}: expected column(s) {missing} are missing (has {list(df.columns)})")


def _parse_many(cells: Iterable[object]) -> tuple[list[float | None], list[str]]:
    """``parse_published`` over a column, each distinct text parsed once."""
    seen: dict[object, tuple[float | None, str]] = {}
    values: list[float | None] = []
    statuses: list[str] = []
    for cell in cells:
        got = seen.get(cell)
        if got is None:
            got = seen[cell] = parse_published(cell)
        values.append(got[0])
        statuses.append(got[1])
    return values, statuses


def _parsed(df: pd.DataFrame, filename: str, column: str) -> tuple[list[float | None], list[str]]:
    try:
        return _parse_many(df[column].tolist())
    except ValueError as exc:
        raise ValueError(f"{filename}, column {column!r}: {exc}") from exc


def sources(data_dir: Path | str | None = None, filenames: Iterable[str] | None = None) -> list[dict]:
    """Provenance of the DfE files (all of them, or those named), as ``Source`` rows."""
    out = []
    for filename in filenames or FILES:
        info = FILES[filename]
        path = _dfe_dir(data_dir) / filename
        df = _read_csv(data_dir, filename)
        if info.kind == "ees":
            years = df["time_period"].astype(int)
            vintage = f"EES file covering {years.min()} to {years.max()}"
        elif info.kind == "lait":
            years = df["Years"].astype(int)
            vintage = f"LAIT extract covering {years.min()} to {years.max()}"
        elif info.kind == "tidy":
            years = df["time_period"].astype(int)
            what = "LAIT extract" if info.url == URL_LAIT else "EES tables"
            vintage = f"{what} covering {years.min()} to {years.max()}"
        elif info.kind == "dictionary":
            vintage = "LAIT data dictionary at commit 2e30e39"
        else:
            vintage = info.title.rsplit(", ", 1)[-1]
        out.append(
            dict(
                key=f"dfe/{filename}",
                kind="published",
                title=info.title,
                publisher=info.publisher,
                vintage=vintage,
                licence=LICENCE,
                url=info.url,
                sha256=_sha256_cached(*_stamp(path)),
            )
        )
    return out


# --------------------------------------------------------------------------- areas


def _clean_la_code(text: str) -> str:
    """A DfE three-digit code as text: "883", "883.0" and " 883 " all give "883"."""
    s = str(text).strip()
    m = re.fullmatch(r"(\d+)(?:\.0+)?", s)
    return m.group(1) if m else s


def _is_joint(code: str) -> bool:
    return "/" in code


@dataclass(frozen=True)
class _AreaIndex:
    areas: pd.DataFrame
    by_old_code: dict[str, str]  # DfE three-digit code -> current GSS code
    canonical: dict[str, str]  # any GSS code seen -> current GSS code


def _area_index(data_dir: Path | str | None) -> _AreaIndex:
    folder = _dfe_dir(data_dir)
    stamps = tuple(_stamp(folder / f) for f in EES_FILES)
    return _area_index_cached(stamps)


@lru_cache(maxsize=4)
def _area_index_cached(stamps: tuple[tuple[str, int, int], ...]) -> _AreaIndex:
    cols = ["time_period", "geographic_level", "region_code", "region_name", "old_la_code", "new_la_code", "la_name"]
    frames = []
    for stamp, filename in zip(stamps, EES_FILES):
        df = _csv_cached(*stamp)
        _require(df, filename, cols)
        frames.append(df[cols].drop_duplicates().assign(month=_AS_AT_MONTH.get(filename, 3)))
    rows = pd.concat(frames, ignore_index=True)
    rows[cols] = rows[cols].apply(lambda s: s.str.strip())
    # Newest means latest in calendar time: workforce 2025 (30 September) is after CIN 2025 (31 March).
    rows["as_at"] = rows["time_period"].astype(int) * 100 + rows["month"]
    rows["level"] = rows["geographic_level"].str.lower().map(_LEVELS)
    unknown = sorted(set(rows.loc[rows["level"].isna(), "geographic_level"]))
    if unknown:
        raise ValueError(f"unknown geographic_level value(s) {unknown} in the DfE files")
    rows = rows.sort_values("as_at", kind="stable")

    records: list[dict] = [dict(code=ENGLAND, old_code=None, name="England", level="national", region_code=None)]

    # Regions: from regional rows and from the region columns of local authority rows; newest name wins.
    reg = rows[rows["region_code"] != ""]
    reg_names = reg.groupby("region_code")["region_name"].last()
    for code, name in sorted(reg_names.items()):
        parent = LONDON if code in (INNER_LONDON, OUTER_LONDON) else None
        records.append(dict(code=code, old_code=None, name=name, level="regional", region_code=parent))

    la = rows[(rows["level"] == "la") & (rows["old_la_code"] != "") & ~rows["old_la_code"].str.contains("/")]
    by_old: dict[str, str] = {}
    canonical: dict[str, str] = {}
    for old, grp in la.groupby("old_la_code", sort=True):
        newest = grp.iloc[-1]
        newest_date = grp["as_at"].max()
        codes_newest = set(grp.loc[grp["as_at"] == newest_date, "new_la_code"])
        if len(codes_newest) > 1:
            raise ValueError(
                f"authority {old} has several GSS codes at {newest_date // 100}-{newest_date % 100:02d}: "
                f"{sorted(codes_newest)}"
            )
        code = newest["new_la_code"]
        region = newest["region_code"]
        if region in (INNER_LONDON, OUTER_LONDON):
            region = LONDON
        by_old[old] = code
        for c in set(grp["new_la_code"]):
            if c in canonical and canonical[c] != code:
                raise ValueError(f"GSS code {c} is used by DfE codes for two authorities")
            canonical[c] = code
        records.append(dict(code=code, old_code=old, name=newest["la_name"], level="la", region_code=region or None))
    for rec in records:
        if rec["level"] != "la":
            canonical[rec["code"]] = rec["code"]
    areas = pd.DataFrame(records, columns=["code", "old_code", "name", "level", "region_code"])
    if areas["code"].duplicated().any():
        dup = sorted(areas.loc[areas["code"].duplicated(), "code"])
        raise ValueError(f"GSS code(s) {dup} name more than one authority")
    areas = areas.astype(object).where(areas.notna(), None)
    return _AreaIndex(areas=areas, by_old_code=by_old, canonical=canonical)


def read_areas(data_dir: Path | str | None = None) -> pd.DataFrame:
    """Every area named in the EES files: ``[code, old_code, name, level, region_code]``.

    ``level`` is "national" (England, E92000001), "regional" (the nine regions, plus Inner and
    Outer London with ``region_code`` E12000007) or "la". One row per authority, under its
    newest GSS code and newest name; ``old_code`` is DfE's three-digit code (text). Joint
    workforce returns ("940 / 941") are not areas.
    """
    return _area_index(data_dir).areas.copy()


def superseded_codes(data_dir: Path | str | None = None) -> dict[str, str]:
    """Older GSS codes of authorities whose code changed without reorganisation -> their current code."""
    return {old: new for old, new in _area_index(data_dir).canonical.items() if old != new}


def _row_area_codes(df: pd.DataFrame, index: _AreaIndex) -> list[list[tuple[str, str]]]:
    """For each row of an EES file: the [(area code, note)] it is filed under (two for a joint return)."""
    out: list[list[tuple[str, str]]] = []
    for level, region, old, name in zip(
        df["geographic_level"].str.strip().str.lower().tolist(), df["region_code"].str.strip().tolist(),
        df["old_la_code"].str.strip().tolist(), df["la_name"].str.strip().tolist(),
    ):
        if level == "national":
            out.append([(ENGLAND, "")])
        elif level == "regional":
            if not region:
                raise ValueError(f"a regional row has no region_code: {name!r}")
            out.append([(region, "")])
        elif _is_joint(old):
            parts = [p.strip() for p in old.split("/")]
            note = (
                f"Joint return for {name} ({old}): the figure covers all of these authorities together."
            )
            out.append([(index.by_old_code[p], note) for p in parts])
        else:
            out.append([(index.by_old_code[old], "")])
    return out


# --------------------------------------------------------------------------- population


def read_population(data_dir: Path | str | None = None) -> pd.DataFrame:
    """ONS mid-year estimates of children aged 0 to 17: ``[area_code, year, population, status]``.

    ``year`` is the mid-year of the estimate (``time_period``). A cell DfE marks "x" has
    ``population`` None and the symbol in ``status``.
    """
    df = _read_csv(data_dir, F_POPULATION)
    _require(df, F_POPULATION, ["time_period", "geographic_level", "old_la_code", "population_estimate"])
    index = _area_index(data_dir)
    values, statuses = _parsed(df, F_POPULATION, "population_estimate")
    recs = []
    for areas, year, v, s in zip(_row_area_codes(df, index), df["time_period"].astype(int).tolist(), values, statuses):
        for code, _note in areas:
            recs.append(dict(area_code=code, year=int(year), population=v, status=s))
    out = pd.DataFrame(recs, columns=["area_code", "year", "population", "status"])
    out["population"] = out["population"].astype(object).where(out["population"].notna(), None)
    if out.duplicated(["area_code", "year"]).any():
        raise ValueError(f"{F_POPULATION}: an area has two estimates for the same year")
    return out


# --------------------------------------------------------------------------- statistical neighbours


def _closeness(text: str) -> str | None:
    """Closeness with spaces trimmed and one capitalisation for both models: "Very Close" -> "Very close"."""
    s = " ".join(str(text).split())
    return s[:1].upper() + s[1:].lower() if s else None


def read_stat_neighbours(data_dir: Path | str | None = None) -> pd.DataFrame:
    """Both neighbour models: ``[model, la_code, rank, neighbour_code, closeness]``, GSS codes.

    Model "2021" is DfE's April 2021 groupings (including the block of pre-reorganisation
    authorities at the foot of that file); "2025" the 2025 model. Three-digit codes are mapped
    to GSS codes through :func:`read_areas`. Neighbour codes that do not map are left out of
    the frame, warned about, and listed in ``frame.attrs["unmapped"]``.
    """
    index = _area_index(data_dir)
    recs: list[dict] = []
    unmapped: list[dict] = []

    def add(model: str, la: str, rank: int, nb: str, closeness: str) -> None:
        la, nb = _clean_la_code(la), _clean_la_code(nb)
        if not nb:
            return
        la_code, nb_code = index.by_old_code.get(la), index.by_old_code.get(nb)
        if la_code is None or nb_code is None:
            unmapped.append(dict(model=model, la=la, rank=rank, neighbour=nb))
            return
        recs.append(dict(model=model, la_code=la_code, rank=rank, neighbour_code=nb_code,
                         closeness=_closeness(closeness)))

    df = _read_csv(data_dir, F_SN_2021)
    # The closeness columns are all headed "SNP": each is the column just after its "SN<n>".
    cols = list(df.columns)
    _require(df, F_SN_2021, ["LA num"] + [f"SN{i}" for i in range(1, 11)])
    pairs = []
    for i in range(1, 11):
        at = cols.index(f"SN{i}")
        if not cols[at + 1].startswith("SNP"):
            raise ValueError(f"{F_SN_2021}: expected a closeness column 'SNP' after 'SN{i}', found {cols[at + 1]!r}")
        pairs.append((i, cols[at], cols[at + 1]))
    for _, row in df.iterrows():
        la = _clean_la_code(row["LA num"])
        if not la.isdigit():  # blank lines and the "Old SNs:" heading
            continue
        for rank, sn, snp in pairs:
            add("2021", la, rank, row[sn], row[snp])

    df = _read_csv(data_dir, F_SN_2025)
    _require(df, F_SN_2025, ["old_la_code"] + [f"SN_{i}" for i in range(1, 11)] + [f"SN_{i}P" for i in range(1, 11)])
    for _, row in df.iterrows():
        la = _clean_la_code(row["old_la_code"])
        if not la.isdigit():
            continue
        for rank in range(1, 11):
            add("2025", la, rank, row[f"SN_{rank}"], row[f"SN_{rank}P"])

    out = pd.DataFrame(recs, columns=["model", "la_code", "rank", "neighbour_code", "closeness"])
    if out.duplicated(["model", "la_code", "rank"]).any():
        raise ValueError("statistical neighbours: an authority has two neighbours at the same rank")
    out.attrs["unmapped"] = unmapped
    if unmapped:
        warnings.warn(f"statistical neighbour codes that name no known authority: {unmapped}", stacklevel=2)
    return out


# --------------------------------------------------------------------------- observations


def registry_for(data_dir: Path | str | None, registry: Registry | None) -> Registry:
    """The registry given, or the one in ``data_dir`` (default: the shipped data folder)."""
    if registry is not None:
        return registry
    return get_registry((Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR) / "metrics.yaml")


def _first_status(*statuses: str) -> str:
    return next((s for s in statuses if s), "")


class _Rows:
    """Collects observation rows, with the period end taken from each metric's period type."""

    def __init__(self, period_types: dict[str, PeriodType]):
        self.types = period_types
        self.rows: list[dict] = []
        self._ends: dict[tuple[str, int], dt.date] = {}

    def end(self, metric_id: str, year: int) -> dt.date:
        key = (metric_id, year)
        if key not in self._ends:
            self._ends[key] = period_end_for_year(self.types[metric_id], year)
        return self._ends[key]

    def add(self, metric_id: str, area: str, year: int, *, value: float | None, status: str, source: str,
            numerator: float | None = None, denominator: float | None = None, published: float | None = None,
            published_status: str = "", note: str = "", breakdown: str = "", breakdown_value: str = "") -> None:
        if published_status and published_status != MISSING:
            # DfE withheld this figure: so do we, whatever the inputs would give.
            value, status = None, published_status
        elif value is None and not status:
            status = "z" if denominator is not None and denominator <= 0 else MISSING
        elif value is not None:
            status = ""
        if value is not None and published is not None and value != published:
            differs = (
                f"DfE publishes {published:g}; {value:g} is recomputed from the published numerator and "
                "denominator (see data/dfe/SOURCES.md)."
            )
            note = " ".join(x for x in (note, differs) if x)
        self.rows.append(dict(
            metric_id=metric_id, area_code=area, period_end=self.end(metric_id, year), agency="",
            breakdown=breakdown, breakdown_value=breakdown_value, value=value, numerator=numerator,
            denominator=denominator, published_value=published, status=status, source_key=f"dfe/{source}",
            note=note,
        ))


def _population_lookup(data_dir: Path | str | None) -> dict[tuple[str, int], tuple[float | None, str]]:
    pop = read_population(data_dir)
    return {(a, int(y)): (p, s) for a, y, p, s in zip(pop["area_code"], pop["year"], pop["population"], pop["status"])}


def _pop_note(year: int) -> str:
    return f"Denominator: ONS mid-{year - 1} estimate of children aged 0 to 17."


def observation_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows collected by a reader as a frame of :data:`OBSERVATION_COLUMNS` (missing figures None, not
    NaN); two rows for the same cell are an error naming them."""
    frame = pd.DataFrame(rows, columns=OBSERVATION_COLUMNS)
    for col in ("value", "numerator", "denominator", "published_value"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    key = ["metric_id", "area_code", "period_end", "agency", "breakdown", "breakdown_value"]
    dup = frame[frame.duplicated(key, keep=False)]
    if not dup.empty:
        raise ValueError(f"two published observations for the same cell:\n{dup.head(10).to_string()}")
    return frame


def _declared(out: _Rows, data_dir, index, pops, metric) -> None:
    """A metric the registry declares read from a tidy EES file (``published: {reader: ees, ...}``):
    a count as published, a rate per 10,000 over the population, or a percentage of two columns with
    the publisher's own figure beside it. Rates and percentages are recomputed with DfE's rounding."""
    p = metric.published
    filename = p.file
    df = _read_csv(data_dir, filename)
    if p.kind == "percentage":
        cols = [p.numerator.column, p.denominator.column] + ([p.published_column] if p.published_column else [])
    else:
        cols = [p.column]
    _require(df, filename, ["time_period", "geographic_level", "old_la_code", *cols])
    parsed = [_parsed(df, filename, c) for c in cols]
    for i, (areas, year) in enumerate(zip(_row_area_codes(df, index), df["time_period"].astype(int).tolist())):
        for area, note in areas:
            v, s = parsed[0][0][i], parsed[0][1][i]
            if p.kind in ("count", "published"):
                out.add(metric.id, area, year, value=v, status=s, source=filename, note=note)
            elif p.kind == "rate":
                pop, pop_status = pops.get((area, year - 1), (None, MISSING))
                out.add(metric.id, area, year, value=rate_per_10000(v, pop, metric.decimals),
                        status=_first_status(s, pop_status), numerator=v, denominator=pop, source=filename,
                        note=" ".join(x for x in (note, _pop_note(year)) if x))
            else:
                d, d_s = parsed[1][0][i], parsed[1][1][i]
                pub, pub_s = (parsed[2][0][i], parsed[2][1][i]) if p.published_column else (None, "")
                out.add(metric.id, area, year, value=percentage(v, d, metric.decimals), status=_first_status(s, d_s),
                        numerator=v, denominator=d, published=pub, published_status=pub_s, source=filename,
                        note=note)


def _lait(data_dir: Path | str | None, index: _AreaIndex) -> dict[str, dict[tuple[str, int], tuple[float | None, str]]]:
    """LAIT measure -> (area code, year) -> (value, status). LAIT's "-" (no figure) has status "x"."""
    df = _read_csv(data_dir, F_LAIT)
    _require(df, F_LAIT, ["Short Desc", "Years", "LA Number", "Values"])
    out: dict[str, dict[tuple[str, int], tuple[float | None, str]]] = {}
    cells = ["x" if v.strip() == "-" else v for v in df["Values"]]
    try:
        values, statuses = _parse_many(cells)
    except ValueError as exc:
        raise ValueError(f"{F_LAIT}, column 'Values': {exc}") from exc
    measures = df["Short Desc"].str.strip().tolist()
    years = df["Years"].astype(int).tolist()
    for measure, year, code, v, s in zip(measures, years, df["LA Number"].tolist(), values, statuses):
        c = _clean_la_code(code)
        area = LAIT_AREA_CODES.get(c) or index.by_old_code.get(c)
        if area is None:
            raise ValueError(f"{F_LAIT}: LA Number {code!r} names no known area")
        key = (area, int(year))
        table = out.setdefault(measure, {})
        if key in table:
            raise ValueError(f"{F_LAIT}: two {measure} values for {area} in {year}")
        table[key] = (v, s)
    return out


def _looked_after(out: _Rows, data_dir, index, pops, lait) -> list[dict]:
    """lac_31mar and lac_rate_31mar: EES from 2021, LAIT before; returns EES/LAIT disagreements."""
    df = _read_csv(data_dir, F_CLA)
    _require(df, F_CLA, ["time_period", "geographic_level", "old_la_code", "population_type", "population_estimate",
                         "children_count", "rate_per_10000"])
    df = df[df["population_type"].str.strip().str.lower() == "children looked after on 31 march each year"]
    counts, count_st = _parsed(df, F_CLA, "children_count")
    pops_ees, pop_st = _parsed(df, F_CLA, "population_estimate")
    rates, rate_st = _parsed(df, F_CLA, "rate_per_10000")
    lait_num, lait_rate = lait.get("LACnum", {}), lait.get("LAC", {})
    disagreements: list[dict] = []
    done: set[tuple[str, int]] = set()
    for i, (areas, year) in enumerate(zip(_row_area_codes(df, index), df["time_period"].astype(int).tolist())):
        for area, note in areas:
            done.add((area, year))
            notes = [note] if note else []
            lait_v, lait_s = lait_num.get((area, year), (None, ""))
            if counts[i] is not None and lait_v is not None and lait_v != counts[i]:
                disagreements.append(dict(area_code=area, year=year, ees=counts[i], lait=lait_v))
                notes.append(f"LAIT gives {lait_v:g} for this count.")
            row_note = " ".join(notes)
            out.add("lac_31mar", area, year, value=counts[i], status=count_st[i], source=F_CLA, note=row_note)
            out.add("lac_rate_31mar", area, year, value=rate_per_10000(counts[i], pops_ees[i], 0),
                    status=_first_status(count_st[i], pop_st[i]), numerator=counts[i], denominator=pops_ees[i],
                    published=rates[i], published_status=rate_st[i], source=F_CLA, note=row_note)
    for (area, year), (v, s) in sorted(lait_num.items()):
        if (area, year) in done:
            continue
        pop, pop_status = pops.get((area, year - 1), (None, MISSING))
        pub, pub_s = lait_rate.get((area, year), (None, MISSING))
        out.add("lac_31mar", area, year, value=v, status=s, source=F_LAIT)
        rate, note = rate_per_10000(v, pop, 0), _pop_note(year)
        if rate is None and v is not None and pop is None and pub is not None:
            # No ONS estimate for the authority (the pre-2019 Dorset authorities): DfE's own figure stands.
            rate, note = pub, f"DfE's published rate: the ONS file has no mid-{year - 1} estimate for this authority."
        out.add("lac_rate_31mar", area, year, value=rate, status=_first_status(s, pop_status), numerator=v,
                denominator=pop, published=pub, published_status=pub_s, source=F_LAIT, note=note)
    return disagreements


def _lait_only(out: _Rows, lait) -> None:
    for (area, year), (v, s) in sorted(lait.get("LACDistance", {}).items()):
        out.add("lac_placed_20_miles", area, year, value=None if v is None else round_half_up(v, 0), status=s,
                published=v, source=F_LAIT)
    for (area, year), (v, s) in sorted(lait.get("Unacc_Asylmn_Seek_Childn", {}).items()):
        out.add("uasc_31mar", area, year, value=v, status=s, source=F_LAIT)


def _new_placements(out: _Rows, data_dir, index) -> None:
    df = _read_csv(data_dir, F_PLACEMENTS)
    _require(df, F_PLACEMENTS, ["time_period", "geographic_level", "old_la_code", "characteristic", "breakdown",
                                "children_count", "children_percent"])
    df = df[df["characteristic"].str.strip().str.lower() == PLACEMENT_CHARACTERISTIC].reset_index(drop=True)
    texts = df["breakdown"].str.strip().str.lower()
    unknown = sorted(set(texts) - set(PLACEMENT_LOCATIONS) - {PLACEMENT_TOTAL})
    if unknown:
        raise ValueError(f"{F_PLACEMENTS}: unknown placement location(s) {unknown}")
    counts, count_st = _parsed(df, F_PLACEMENTS, "children_count")
    pcts, pct_st = _parsed(df, F_PLACEMENTS, "children_percent")
    groups: dict[tuple[int, str, str], dict[str, int]] = {}
    years = df["time_period"].astype(int).tolist()
    for i, (areas, year, text) in enumerate(zip(_row_area_codes(df, index), years, texts.tolist())):
        for area, note in areas:
            code = PLACEMENT_LOCATIONS.get(text, "total")
            cell = groups.setdefault((year, area, note), {})
            if code in cell:
                raise ValueError(f"{F_PLACEMENTS}: two '{text}' rows for {area} in {year}")
            cell[code] = i
    for (year, area, note), cell in sorted(groups.items()):
        if "total" not in cell:
            raise ValueError(f"{F_PLACEMENTS}: no 'Total new placements' row for {area} in {year}")
        t = cell["total"]
        total, total_st = counts[t], count_st[t]
        for code in PLACEMENT_LOCATIONS.values():
            if code not in cell:
                continue
            i = cell[code]
            out.add("lac_new_placements_20_miles", area, year, value=pcts[i], status=pct_st[i] or count_st[i],
                    numerator=counts[i], denominator=total, published=pcts[i], source=F_PLACEMENTS, note=note,
                    breakdown="placement_location", breakdown_value=code)
        if "outside_gt20" in cell:
            i = cell["outside_gt20"]
            head_note = "Denominator: the file's 'Total new placements' row."
            out.add("lac_new_placements_20_miles", area, year, value=percentage(counts[i], total, 0),
                    status=_first_status(count_st[i], total_st), numerator=counts[i], denominator=total,
                    published=pcts[i], published_status=pct_st[i], source=F_PLACEMENTS,
                    note=" ".join(x for x in (note, head_note) if x))


def _workforce(out: _Rows, data_dir, index) -> None:
    f = F_WORKFORCE
    df = _read_csv(data_dir, f)
    need = ["inpost_fte", "agency_fte", "agency_rate_fte", "vacancy_fte", "vacancy_rate_fte", "leavers_fte",
            "turnover_rate_fte", "cases", "case_holders_fte", "caseload_fte", "absence_rate_fte"]
    _require(df, f, ["time_period", "geographic_level", "old_la_code"] + need)
    p = {c: _parsed(df, f, c) for c in need}

    def v(col: str, i: int) -> float | None:
        return p[col][0][i]

    def s(col: str, i: int) -> str:
        return p[col][1][i]

    def total(a: float | None, b: float | None) -> float | None:
        # 30 + 162.3 is 192.3, not the binary float 192.30000000000001.
        return None if a is None or b is None else float(Decimal(repr(a)) + Decimal(repr(b)))

    for i, (areas, year) in enumerate(zip(_row_area_codes(df, index), df["time_period"].astype(int).tolist())):
        for area, note in areas:
            out.add("sw_agency_rate", area, year, value=agency_rate(v("agency_fte", i), v("inpost_fte", i)),
                    status=_first_status(s("agency_fte", i), s("inpost_fte", i)), numerator=v("agency_fte", i),
                    denominator=total(v("agency_fte", i), v("inpost_fte", i)), published=v("agency_rate_fte", i),
                    published_status=s("agency_rate_fte", i), source=f, note=note)
            out.add("sw_vacancy_rate", area, year, value=vacancy_rate(v("vacancy_fte", i), v("inpost_fte", i)),
                    status=_first_status(s("vacancy_fte", i), s("inpost_fte", i)), numerator=v("vacancy_fte", i),
                    denominator=total(v("vacancy_fte", i), v("inpost_fte", i)), published=v("vacancy_rate_fte", i),
                    published_status=s("vacancy_rate_fte", i), source=f, note=note)
            out.add("sw_turnover_rate", area, year, value=turnover_rate(v("leavers_fte", i), v("inpost_fte", i)),
                    status=_first_status(s("leavers_fte", i), s("inpost_fte", i)), numerator=v("leavers_fte", i),
                    denominator=v("inpost_fte", i), published=v("turnover_rate_fte", i),
                    published_status=s("turnover_rate_fte", i), source=f, note=note)
            out.add("sw_caseload", area, year, value=caseload(v("cases", i), v("case_holders_fte", i)),
                    status=_first_status(s("cases", i), s("case_holders_fte", i)), numerator=v("cases", i),
                    denominator=v("case_holders_fte", i), published=v("caseload_fte", i),
                    published_status=s("caseload_fte", i), source=f, note=note)
            out.add("sw_absence_rate", area, year, value=v("absence_rate_fte", i), status=s("absence_rate_fte", i),
                    published=v("absence_rate_fte", i), source=f, note=note)


def read_observations(
    data_dir: Path | str | None = None, registry: Registry | None = None
) -> tuple[pd.DataFrame, list[dict]]:
    """Every published observation: ``(rows, sources)``.

    ``rows`` has the columns :data:`OBSERVATION_COLUMNS`; ``value``, ``numerator``,
    ``denominator`` and ``published_value`` hold floats or None, ``period_end`` a
    ``datetime.date`` from the metric's period type in the registry. The standard count, rate
    and percentage files are read as the registry declares (``published: {reader: ees}``). A missing
    value carries its reason in ``status``: the DfE
    symbol of the cell it came from (for a rate, of its count first, then of its
    denominator), "z" for a zero denominator, "missing" for a blank cell. ``sources`` are the
    ``Source`` rows (dicts) of the files the rows cite plus the population file.

    ``note`` says what a reader needs: the population year of a rate, a joint workforce return
    filed under each of its authorities, a recomputed value that differs from DfE's printed
    one. Where the ONS file has no estimate for an authority (Dorset, Poole and Bournemouth
    before 2019), its looked-after rate is LAIT's published figure, and the note says so.
    EES and LAIT counts of children looked after that disagree are listed in
    ``rows.attrs["lac_disagreements"]`` and noted on the rows.
    """
    index = _area_index(data_dir)
    registry = registry_for(data_dir, registry)
    out = _Rows({m.id: m.period_type for m in registry.metrics})
    pops = _population_lookup(data_dir)
    lait = _lait(data_dir, index)

    for metric in registry.metrics:
        if metric.published is not None and metric.published.reader == "ees":
            _declared(out, data_dir, index, pops, metric)
    disagreements = _looked_after(out, data_dir, index, pops, lait)
    _lait_only(out, lait)
    _new_placements(out, data_dir, index)
    _workforce(out, data_dir, index)

    rows = observation_frame(out.rows)
    rows.attrs["lac_disagreements"] = disagreements

    used = sorted({k.split("/", 1)[1] for k in rows["source_key"]} | {F_POPULATION})
    return rows, sources(data_dir, used)


__all__ = [
    "ATTRIBUTION",
    "FILES",
    "LICENCE",
    "OBSERVATION_COLUMNS",
    "PLACEMENT_LOCATIONS",
    "read_areas",
    "read_observations",
    "read_population",
    "read_stat_neighbours",
    "reorganised_authorities",
    "sources",
    "superseded_codes",
]
