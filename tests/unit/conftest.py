"""Fixtures and helpers shared by the unit tests of the pipeline, analysis and view modules.

Expected values are worked out here from the files in ``data/`` (read with the ``csv``
module, with DfE's arithmetic done in ``decimal``), never copied from the code under test.
"""
from __future__ import annotations

import csv
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest

from dashboard.config import DEFAULT_DATA_DIR
from dashboard.registry import Registry, load_registry
from tests.helpers import dfe_file

THURROCK = "E06000034"
THURROCK_OLD = "883"
EAST_OF_ENGLAND = "E12000006"
ENGLAND = "E92000001"
DFE_DIR = DEFAULT_DATA_DIR / "dfe"
LOCAL_CSV = DEFAULT_DATA_DIR / "local" / "thurrock_lscb_2016_17.csv"

# Found by the start of their names: a refresh renames a file for its new years.
F_CP = dfe_file("d5_cpps_at31march_by_duration_")
F_POP = dfe_file("ons_mid-year_population_estimates_")
F_WORKFORCE = dfe_file("csww_indicators_")
F_CP_CATEGORY = dfe_file("ees_cpp_by_category_of_abuse_")
F_SN_2021 = "New_Statistical_Neighbour_Groupings_April_2021.csv"
F_SN_2025 = "sn_model_2025_wide.csv"


# --------------------------------------------------------------------------- file helpers


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """A CSV file as a list of dicts (text cells), ignoring a byte-order mark."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


_DFE_CACHE: dict[str, list[dict[str, str]]] = {}


def dfe_rows(filename: str) -> list[dict[str, str]]:
    if filename not in _DFE_CACHE:
        _DFE_CACHE[filename] = read_csv_rows(DFE_DIR / filename)
    return _DFE_CACHE[filename]


def la_rows(filename: str, old_code: str) -> dict[int, dict[str, str]]:
    """A local authority's rows of a tidy DfE file, by ``time_period`` year."""
    out: dict[int, dict[str, str]] = {}
    for r in dfe_rows(filename):
        if r["geographic_level"] == "Local authority" and r["old_la_code"].strip() == old_code:
            year = int(r["time_period"])
            assert year not in out, f"two rows for {old_code} in {year} in {filename}"
            out[year] = r
    return out


def national_rows(filename: str) -> dict[int, dict[str, str]]:
    return {int(r["time_period"]): r for r in dfe_rows(filename) if r["geographic_level"] == "National"}


def half_up(x: Decimal, places: int) -> float:
    return float(x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def dfe_rate(count: str, population: str) -> float:
    """DfE's rate per 10,000 to 1 decimal place, from the two cells as written in the files."""
    return half_up(Decimal(count) * 10000 / Decimal(population), 1)


def cp_rate_from_files(old_code: str, year: int) -> tuple[float | None, str, str]:
    """(rate, CPP_At31 cell, population cell) for 31 March ``year``: count / mid-(year-1) 0-17 estimate."""
    count = la_rows(F_CP, old_code)[year]["CPP_At31"].strip()
    pop = la_rows(F_POP, old_code)[year - 1]["population_estimate"].strip()
    try:
        return dfe_rate(count, pop), count, pop
    except ArithmeticError:
        return None, count, pop


def is_number(text: str) -> bool:
    try:
        Decimal(text.replace(",", ""))
    except ArithmeticError:
        return False
    return text.strip() != ""


# --------------------------------------------------------------------------- frames


OBS_DEFAULTS = dict(
    metric_id="m", area_code=THURROCK, period_end=dt.date(2017, 3, 31), period_label="2016-17", agency="",
    breakdown="", breakdown_value="", value=1.0, numerator=None, denominator=None, published_value=None,
    status="", illustrative=False, source_key="dfe/x.csv", source_kind="published", source_title="Published",
    note=None,
)


def obs_frame(*rows: dict) -> pd.DataFrame:
    """An observation frame (the columns the snapshot has) from partial rows."""
    return pd.DataFrame([{**OBS_DEFAULTS, **r} for r in rows], columns=list(OBS_DEFAULTS))


# --------------------------------------------------------------------------- fixtures


class DfeFiles:
    """The helpers above, handed to tests as the ``dfe`` fixture (test modules do not import conftest)."""

    dir = DFE_DIR
    local_csv = LOCAL_CSV
    F_CP, F_POP, F_WORKFORCE, F_CP_CATEGORY = F_CP, F_POP, F_WORKFORCE, F_CP_CATEGORY
    F_SN_2021, F_SN_2025 = F_SN_2021, F_SN_2025
    read_csv_rows = staticmethod(read_csv_rows)
    rows = staticmethod(dfe_rows)
    la_rows = staticmethod(la_rows)
    national_rows = staticmethod(national_rows)
    half_up = staticmethod(half_up)
    rate = staticmethod(dfe_rate)
    cp_rate = staticmethod(cp_rate_from_files)
    is_number = staticmethod(is_number)


@pytest.fixture(scope="session")
def dfe() -> type[DfeFiles]:
    return DfeFiles


@pytest.fixture(scope="session")
def obs():
    """``obs(dict(...), ...)``: an observation frame from partial rows (see OBS_DEFAULTS)."""
    return obs_frame


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry(DEFAULT_DATA_DIR / "metrics.yaml")


@pytest.fixture(scope="session")
def manager(built_db):
    from dashboard.data import DataManager

    return DataManager(built_db)


@pytest.fixture(scope="session")
def snap(manager):
    """The snapshot of the session database built from ``data/``."""
    return manager.snapshot()


@pytest.fixture
def cli_env(built_db, monkeypatch):
    """In-process runs of ``python -m dashboard`` read the session database (the environment points there)
    through a fresh manager, with no other authority, data folder, framework or Redis from the caller's
    environment."""
    import dashboard.data

    monkeypatch.setenv("DATABASE_URL", built_db.database_url)
    monkeypatch.setenv("DASHBOARD_INSTANCE_DIR", str(built_db.instance_dir))
    for name in ("DASHBOARD_DATA_DIR", "DASHBOARD_LA", "REDIS_URL", "DASHBOARD_FRAMEWORK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(dashboard.data, "_manager", None)
    return built_db
