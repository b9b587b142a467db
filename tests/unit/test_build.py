"""The build: files -> store in one transaction, rebuilt only when the inputs change."""
from __future__ import annotations

import csv
import datetime as dt
import io
import shutil

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard import store
from dashboard.analysis.rates import SUPPRESSION_SYMBOLS
from dashboard.build import build, fingerprint, is_stale
from dashboard.config import DEFAULT_DATA_DIR, load_settings
from tests.helpers import dfe_file

F_CP = dfe_file("d5_cpps_at31march_by_duration_")  # by its stem: a refresh renames it


def _counts(engine):
    with Session(engine) as s:
        ver = store.current_version(engine)
        return {
            "version_id": ver.id,
            "created_at": ver.created_at,
            "observations": s.scalar(select(func.count()).select_from(store.Observation)),
            "flags": s.scalar(select(func.count()).select_from(store.QualityFlag)),
            "areas": s.scalar(select(func.count()).select_from(store.Area)),
            "fingerprint": store.get_meta(engine, "fingerprint"),
        }


@pytest.fixture(scope="module")
def own_build(tmp_path_factory):
    """A copy of data/ and its own SQLite store, built once: the tests here may change both."""
    root = tmp_path_factory.mktemp("own-build")
    data_dir = root / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data_dir)
    settings = load_settings({
        "DASHBOARD_DATA_DIR": str(data_dir),
        "DASHBOARD_INSTANCE_DIR": str(root / "instance"),
        "DATABASE_URL": f"sqlite:///{root / 'instance' / 'dashboard.db'}",
    })
    result = build(settings)
    return settings, result


# --------------------------------------------------------------------------- the session store


def test_session_build(built_db):
    engine = store.get_engine(built_db.database_url)
    c = _counts(engine)
    ver = store.current_version(engine)
    assert ver.kind == "build"
    assert ver.rows == c["observations"] > 30000
    assert c["fingerprint"] == fingerprint(built_db.data_dir)
    assert not is_stale(engine, built_db.data_dir)


def test_suppressed_values_stored_as_null_with_symbol(built_db, dfe):
    engine = store.get_engine(built_db.database_url)
    with Session(engine) as s:
        symbols = dict(s.execute(select(store.Observation.status, func.count())
                                 .where(store.Observation.status != "")
                                 .group_by(store.Observation.status)).all())
        assert symbols.get("c", 0) > 0
        valued = s.scalar(select(func.count()).select_from(store.Observation)
                          .where(store.Observation.status.in_(list(SUPPRESSION_SYMBOLS)))
                          .where(store.Observation.value.is_not(None)))
        assert valued == 0  # a suppressed cell never carries a number, 0 least of all

        # every LA cell DfE suppressed in the CP-at-31-March file is NULL + "c" for the count and the rate
        suppressed = [r for r in dfe.rows(F_CP) if r["geographic_level"] == "Local authority"
                      and r["CPP_At31"].strip() == "c"]
        assert suppressed, "the file has suppressed cells"
        for r in suppressed:
            year = int(r["time_period"])
            code = s.scalar(select(store.Area.code).where(store.Area.old_code == r["old_la_code"]))
            for metric_id in ("cp_plans_31mar", "cp_rate_31mar"):
                got = s.execute(select(store.Observation.value, store.Observation.status)
                                .where(store.Observation.metric_id == metric_id,
                                       store.Observation.area_code == code,
                                       store.Observation.period_end == dt.date(year, 3, 31),
                                       store.Observation.breakdown == "")).all()
                assert got == [(None, "c")], (metric_id, r["la_name"], year)


def test_published_zero_is_a_zero_not_a_symbol(built_db, dfe):
    """The other side of the rule: a published 0 stays 0 with no symbol."""
    engine = store.get_engine(built_db.database_url)
    zeros = [r for r in dfe.rows(F_CP) if r["geographic_level"] == "Local authority" and r["CPP_At31"].strip() == "0"]
    assert zeros
    r = zeros[0]
    with Session(engine) as s:
        code = s.scalar(select(store.Area.code).where(store.Area.old_code == r["old_la_code"]))
        got = s.execute(select(store.Observation.value, store.Observation.status)
                        .where(store.Observation.metric_id == "cp_plans_31mar", store.Observation.area_code == code,
                               store.Observation.period_end == dt.date(int(r["time_period"]), 3, 31))).all()
    assert got == [(0.0, "")]


def test_lait_and_category_rows_are_in_the_store(built_db, dfe):
    """The tidy-long readers are wired into the build: LAIT's "-" is NULL with "x", and the category rows
    sit with the seed report's local figures in cp_by_category."""
    lait = [r for r in dfe.rows("lait_child_protection_measures.csv") if r["measure_code"] == "Section_47"
            and r["geographic_level"] == "Local authority"]
    dashes = [r for r in lait if r["value"] == "-"]
    assert dashes
    engine = store.get_engine(built_db.database_url)
    with Session(engine) as s:
        for r in dashes:
            code = s.scalar(select(store.Area.code).where(store.Area.old_code == r["la_code"]))
            got = s.execute(select(store.Observation.value, store.Observation.status)
                            .where(store.Observation.metric_id == "s47_rate", store.Observation.area_code == code,
                                   store.Observation.period_end == dt.date(int(r["time_period"]), 3, 31))).all()
            assert got == [(None, "x")], r
        stored = s.scalar(select(func.count()).select_from(store.Observation)
                          .where(store.Observation.metric_id == "s47_rate"))
        assert stored == len(dfe.rows("lait_child_protection_measures.csv")) // 20  # 20 measures, same rows each
        kinds = s.execute(select(store.Source.kind, func.count())
                          .join(store.Observation, store.Observation.source_id == store.Source.id)
                          .where(store.Observation.metric_id == "cp_by_category")
                          .group_by(store.Source.kind)).all()
    assert dict(kinds)["local_return"] == 4 and dict(kinds)["published"] > 10000


# --------------------------------------------------------------------------- a store of its own


def test_if_stale_skips_when_nothing_changed(own_build):
    settings, first = own_build
    assert first.built and first.version_id is not None
    engine = store.get_engine(settings.database_url)
    build(settings, if_stale=True)  # whatever an earlier test left, the store now matches the files
    before = _counts(engine)
    again = build(settings, if_stale=True)
    assert again.built is False
    assert again.version_id == before["version_id"]
    assert again.rows == before["observations"]
    assert _counts(engine) == before


def test_failed_build_leaves_the_previous_store(own_build):
    settings, _ = own_build
    engine = store.get_engine(settings.database_url)
    build(settings, if_stale=True)
    before = _counts(engine)
    local = settings.data_dir / "local" / "thurrock_lscb_2016_17.csv"
    original = local.read_bytes()
    try:
        with open(local, "a", encoding="utf-8") as f:
            f.write("cp_plans_31mar,883,2018-03-31,,,,not-a-number,,,\n")
        assert is_stale(engine, settings.data_dir)
        with pytest.raises(ValueError) as exc:
            build(settings)
        assert "thurrock_lscb_2016_17.csv" in str(exc.value) and "not-a-number" in str(exc.value)
        assert _counts(engine) == before
        with pytest.raises(ValueError):
            build(settings, if_stale=True)
        assert _counts(engine) == before
    finally:
        local.write_bytes(original)
    assert not is_stale(engine, settings.data_dir)


def _set_cp_count(path, old_code: str, year: str, new_value: str) -> str:
    """Rewrite one CPP_At31 cell of the tmp copy; returns the old value."""
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    old = None
    for r in rows:
        if r["geographic_level"] == "Local authority" and r["old_la_code"] == old_code and r["time_period"] == year:
            old, r["CPP_At31"] = r["CPP_At31"], new_value
    assert old is not None
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=reader.fieldnames, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return old


def test_if_stale_rebuilds_after_a_data_file_changes(own_build):
    from dashboard.data import DataManager

    settings, _ = own_build
    engine = store.get_engine(settings.database_url)
    build(settings, if_stale=True)
    before = _counts(engine)
    mgr = DataManager(settings)
    old_snapshot = mgr.snapshot()
    published = _set_cp_count(settings.data_dir / "dfe" / F_CP, "883", "2017", "300")
    assert published == "285"
    assert is_stale(engine, settings.data_dir)
    res = build(settings, if_stale=True)
    assert res.built is True
    # a new data version, so every reader that caches by version sees the change
    assert res.version_id > before["version_id"]
    assert store.current_version(engine).id == res.version_id
    with Session(engine) as s:
        value = s.scalar(select(store.Observation.value).where(
            store.Observation.metric_id == "cp_plans_31mar", store.Observation.area_code == "E06000034",
            store.Observation.period_end == dt.date(2017, 3, 31),
            store.Observation.version_id == res.version_id,
            store.Observation.source_id == select(store.Source.id).where(store.Source.kind == "published")
            .where(store.Source.key == f"dfe/{F_CP}").scalar_subquery()))
    assert value == 300.0
    # a reader holding the old snapshot gets the new version on its next call
    new_snapshot = mgr.snapshot()
    assert (old_snapshot.version_id, new_snapshot.version_id) == (before["version_id"], res.version_id)
    thurrock = new_snapshot.rows("cp_plans_31mar", "E06000034")
    assert thurrock.loc[thurrock["period_end"] == dt.date(2017, 3, 31), "value"].tolist() == [300.0]
    assert build(settings, if_stale=True).built is False


# --------------------------------------------------------------------------- illustrative monthly demand

DEMAND_IDS = [
    "demand_contacts", "demand_referrals", "demand_rereferrals", "demand_assessments", "demand_assessments_45d_pct",
    "demand_s47", "demand_icpc", "demand_icpc_15d_pct", "demand_cp_started", "demand_cp_ended", "demand_cp_open",
    "demand_cin_open", "demand_lac_started", "demand_lac_ceased", "demand_lac_open", "demand_placements_20mi",
    "demand_sw_fte", "demand_agency_fte", "demand_vacancies", "demand_caseload",
]
F_REFERRALS = "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv"
F_CP_START = "d3_cpps_subsequent_plan_2013_to_2025.csv"


def _demand(engine, area_code: str) -> dict[str, dict[dt.date, tuple[float | None, bool, str]]]:
    with Session(engine) as s:
        got = s.execute(select(store.Observation.metric_id, store.Observation.period_end, store.Observation.value,
                               store.Observation.illustrative, store.Source.key)
                        .join(store.Source, store.Source.id == store.Observation.source_id)
                        .where(store.Observation.area_code == area_code,
                               store.Observation.metric_id.like("demand_%"))).all()
    out: dict = {}
    for mid, d, v, ill, src in got:
        assert d not in out.setdefault(mid, {}), (mid, d, "two rows for one month")
        out[mid][d] = (v, ill, src)
    return out


def _published(dfe, filename: str, column: str, old_code: str) -> dict[int, float]:
    """The authority's published count by year to 31 March, read from DfE's file here, not by the code under test."""
    return {int(r["time_period"]): float(r[column]) for r in dfe.rows(filename)
            if r["geographic_level"] == "Local authority" and r["old_la_code"].strip() == old_code
            and r[column].strip().replace(".", "").isdigit()}


def _months_to_march(year: int) -> list[dt.date]:
    ends = []
    for y, m in [(year - 1, m) for m in range(4, 13)] + [(year, m) for m in range(1, 4)]:
        nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
        ends.append(nxt - dt.timedelta(days=1))
    return ends


def _check_calibrated(months: dict, published: dict[int, float]) -> int:
    """Every complete year to 31 March among the months adds up to the published count; returns how many."""
    checked = 0
    for year, count in published.items():
        ends = _months_to_march(year)
        if all(d in months for d in ends):
            assert sum(months[d][0] for d in ends) == count, year
            checked += 1
    return checked


def test_build_makes_36_illustrative_months_of_demand_for_the_default_authority(built_db, dfe):
    assert built_db.la_code == "883"  # Thurrock, the default
    engine = store.get_engine(built_db.database_url)
    months = _demand(engine, "E06000034")
    assert sorted(months) == sorted(DEMAND_IDS)
    for mid, by_month in months.items():
        assert len(by_month) == 36, mid
        assert all(ill and src == "illustrative/demand-generator" for _, ill, src in by_month.values()), mid
    ends = sorted(months["demand_referrals"])
    assert ends[0] == dt.date(2022, 4, 30) and ends[-1] == dt.date(2025, 3, 31)  # DfE's latest year is 2025
    assert _check_calibrated(months["demand_referrals"], _published(dfe, F_REFERRALS, "referral_count", "883")) == 3
    assert _check_calibrated(months["demand_rereferrals"],
                             _published(dfe, F_REFERRALS, "rereferral_count", "883")) == 3
    assert _check_calibrated(months["demand_cp_started"], _published(dfe, F_CP_START, "CPP_start", "883")) == 3
    # a stock is not added up: the March month is DfE's count at 31 March
    at31 = _published(dfe, F_CP, "CPP_At31", "883")
    for year in (2023, 2024, 2025):
        assert months["demand_cp_open"][dt.date(year, 3, 31)][0] == at31[year]
    # other authorities get none unless configured
    assert _demand(engine, "E08000035") == {}


def test_build_for_another_authority_by_configuration(tmp_path, dfe):
    settings = load_settings({"DASHBOARD_LA": "383", "DASHBOARD_INSTANCE_DIR": str(tmp_path),
                              "DATABASE_URL": f"sqlite:///{tmp_path / 'dashboard.db'}"})
    res = build(settings)
    assert res.built
    engine = store.get_engine(settings.database_url)
    leeds = _demand(engine, "E08000035")
    assert sorted(leeds) == sorted(DEMAND_IDS)
    assert all(len(v) == 36 for v in leeds.values())
    assert _check_calibrated(leeds["demand_referrals"], _published(dfe, F_REFERRALS, "referral_count", "383")) == 3
    assert len(_demand(engine, "E06000034")["demand_referrals"]) == 36  # Thurrock's are kept
    # the configured authority is an input of the build: another one makes the store stale
    assert not is_stale(engine, settings.data_dir, "383")
    assert is_stale(engine, settings.data_dir, "883")
    assert fingerprint(settings.data_dir, "383") != fingerprint(settings.data_dir, "883")


def test_an_unknown_configured_authority_is_refused():
    from dashboard.build import demand_areas
    from dashboard.importers import dfe as dfe_reader

    areas = dfe_reader.read_areas(DEFAULT_DATA_DIR)
    assert demand_areas(areas, "383") == ["E08000035", "E06000034"]
    assert demand_areas(areas, "E06000034") == ["E06000034"]
    with pytest.raises(ValueError, match="DASHBOARD_LA '999'"):
        demand_areas(areas, "999")


def test_months_that_miss_a_published_figure_are_data_quality_flags():
    from dashboard.build import demand_flags
    from dashboard.importers import demand

    annual = {demand.MARCH: {2024: {"referrals": 1200, "cin_open": 900}, 2025: {"referrals": 1300}},
              demand.SEPTEMBER: {}}
    rows = demand.generate("E06000034", annual)
    assert demand_flags(rows, annual, "E06000034") == []
    moved = [dict(r, value=r["value"] + 7) if r["metric_id"] == "demand_referrals"
             and r["period_end"] == dt.date(2025, 1, 31) else r for r in rows]
    (flag,) = demand_flags(moved, annual, "E06000034")
    assert flag["metric_id"] == "demand_referrals" and flag["severity"] == "warning"
    assert flag["source_key"] == "illustrative/demand-generator"
    assert "1,307" in flag["message"] and "1,300" in flag["message"]
