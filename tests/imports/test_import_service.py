"""The import service (dashboard.imports) and its command line, against a real database.

Each test gets its own copy of the database built from data/: SQLite, and PostgreSQL when
DASHBOARD_TEST_DATABASE_URL is set. An import is one new data version holding the original file,
its SHA-256, who loaded it and the validation report; the import layer is copied forward with the
file's rows replacing the cells they name; a target in a file replaces only the targets (registry or
imported) of its metric and agency whose periods overlap it; a restore copies an earlier layer (or, for
a build version, none) into a new version; a rebuild from data/ leaves the import layer alone.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil

import openpyxl
import pytest
from sqlalchemy import select

from dashboard import cli, store, views
from dashboard.analysis.rag import RagStatus
from dashboard.config import DEFAULT_DATA_DIR
from dashboard.imports import ImportRefused, import_return, list_versions, original_file, restore_version
from dashboard.state import parse_query
from tests.imports.conftest import (
    TEMPLATE_CSV,
    TEMPLATE_XLSX,
    THURROCK,
    audit_actions,
    cell_of,
    csv_bytes,
    csv_records,
    dump,
    dump_diff,
    expected_value,
    last_audit_id,
    layer,
    make_settings,
    max_version,
    month_end,
    point_cli_at,
    target_rows,
    training_return,
    version_rows,
)

TARGETS_HEADER = ["metric_id", "target", "from", "to", "agency", "source", "tolerance", "tolerance_kind", "illustrative"]
DATA_HEADER = ["metric_id", "period", "value", "numerator", "denominator", "breakdown", "breakdown_value", "agency",
               "area", "note"]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def xlsx_counts(path) -> tuple[int, int]:
    """(data rows, target rows) of a workbook, read with openpyxl: every non-blank row under each header,
    on every sheet except readme/notes/instructions; a sheet named targets holds targets."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = targets = 0
    for ws in wb.worksheets:
        name = ws.title.strip().lower()
        if name in ("readme", "notes", "instructions"):
            continue
        filled = [r for r in ws.iter_rows(values_only=True) if any(c not in (None, "") for c in r)]
        n = max(len(filled) - 1, 0)
        if name == "targets":
            targets += n
        else:
            rows += n
    wb.close()
    return rows, targets


def file_counts(path) -> tuple[int, int]:
    if path.suffix == ".xlsx":
        return xlsx_counts(path)
    return len(csv_records(path.read_bytes())), 0


def snapshot_cell(snap, metric_id: str, period_end, agency: str = "", breakdown: str = "", value: str = ""):
    rows = snap.rows(metric_id, THURROCK)
    m = ((rows["period_end"] == period_end) & (rows["agency"] == agency) & (rows["breakdown"] == breakdown)
         & (rows["breakdown_value"] == value))
    found = rows[m]
    assert len(found) <= 1, found
    return None if found.empty else found.iloc[0]


def scorecard_row(db, metric_id: str):
    mgr = db.manager()
    snap = mgr.snapshot()
    topics = tuple(t.id for t in mgr.registry.topics)
    ctx = views.make_context(snap, mgr.registry, parse_query("", topics, mgr.settings.sn_model), mgr.settings.la_code)
    (row,) = [r for r in views.scorecard(ctx) if r.metric_id == metric_id]
    return row, snap


# --------------------------------------------------------------------------- dry run and import


@pytest.mark.parametrize("path", [TEMPLATE_CSV, TEMPLATE_XLSX], ids=["csv", "xlsx"])
def test_dry_run_of_a_template_writes_nothing(any_db, registry, path):
    data = path.read_bytes()
    rows, targets = file_counts(path)
    assert rows > 10
    before = dump(any_db.engine)
    report = import_return(any_db.engine, registry, data, path.name, user="analyst-a", dry_run=True)
    assert dump_diff(before, dump(any_db.engine)) == ""
    assert report.accepted and report.dry_run and report.version_id is None
    assert report.problems == []
    assert (report.rows_in_file, report.targets_in_file) == (rows, targets)
    assert (report.added, report.changed, report.unchanged) == (rows, 0, 0)  # nothing was imported before
    assert report.sha256 == sha(data) and report.size == len(data)


def test_import_makes_one_version_with_the_file_and_its_report(any_db, registry):
    eng = any_db.engine
    data = TEMPLATE_CSV.read_bytes()
    recs = csv_records(data)
    before = version_rows(eng)
    report = import_return(eng, registry, data, "return_template.csv", user="analyst-a")

    after = version_rows(eng)
    assert [v.id for v in after[:-1]] == [v.id for v in before]
    v = after[-1]
    assert v.id == report.version_id and v.id > before[-1].id
    assert (v.kind, v.filename, v.created_by) == ("import", "return_template.csv", "analyst-a")
    assert v.fingerprint == sha(data)
    assert v.rows_in_file == len(recs) and v.rows == len(recs)  # the first import: its layer is the file
    saved = json.loads(v.report)
    assert saved["accepted"] is True and saved["problems"] == []
    assert saved["sha256"] == sha(data) and saved["filename"] == "return_template.csv"
    assert (saved["rows_in_file"], saved["added"], saved["changed"], saved["unchanged"]) == (len(recs), len(recs), 0, 0)
    assert saved["version_id"] == v.id
    assert isinstance(saved["details"], list) and isinstance(saved["warnings"], list)
    assert len(saved["details"]) == len(saved["warnings"])  # every warning, field by field

    kept = original_file(eng, v.id)
    assert kept.content == data and kept.sha256 == sha(data) and kept.size == len(data)
    assert kept.filename == "return_template.csv"

    rows = {(r[0], r[1], r[2], r[4], r[5], r[6]): r for r in layer(eng, v.id)}
    assert set(rows) == {cell_of(r) for r in recs}
    for r in recs:
        assert rows[cell_of(r)][7] == pytest.approx(expected_value(r, registry)), r

    snap = any_db.manager().snapshot()
    assert snap.version_id == v.id
    compared = 0
    for r in recs:
        metric, _area, end, agency, dim, val = cell_of(r)
        cell = snapshot_cell(snap, metric, end, agency, dim, val)
        assert cell is not None, r
        if cell["source_kind"] == "published":
            continue  # a published figure for the same cell comes first, by design
        assert cell["value"] == pytest.approx(expected_value(r, registry)), (r, cell.to_dict())
        compared += 1
    assert compared >= len(recs) // 2


def test_imported_rows_are_what_the_dashboard_shows(any_db, registry):
    """Cells that only the import has: every one is in the snapshot with the file's value and the import's source."""
    data, expected = training_return(range(2008, 2010))
    report = import_return(any_db.engine, registry, data, "training_2008_2009.csv", user="analyst-a")
    snap = any_db.manager().snapshot()
    rows = snap.rows("training_compliance", THURROCK)
    mine = rows[rows["source_key"].str.startswith(f"import/v{report.version_id}/")]
    got = {(r.period_end, r.agency, r.breakdown_value): r.value for r in mine.itertuples()}
    assert got == pytest.approx(expected)
    assert set(mine["breakdown"]) == {"training_level"} and set(mine["source_kind"]) == {"import"}


def test_an_import_corrects_a_figure_from_a_local_return(any_db, registry):
    # data/local/thurrock_lscb_2016_17.csv gives cin_cases_local 618 for Thurrock at 31 March 2017
    data = csv_bytes(DATA_HEADER, [["cin_cases_local", "31/03/2017", "640", "", "", "", "", "", "883",
                                    "corrected by the analyst"]])
    report = import_return(any_db.engine, registry, data, "correction.csv", user="analyst-a")
    assert report.changed == 0 and report.added == 1
    snap = any_db.manager().snapshot()
    cell = snapshot_cell(snap, "cin_cases_local", month_end(2017, 3))
    assert cell["source_key"].startswith(f"import/v{report.version_id}/"), cell.to_dict()
    assert cell["value"] == 640


def test_second_file_counts_added_changed_unchanged_and_keeps_history(any_db, registry):
    eng = any_db.engine
    data = TEMPLATE_CSV.read_bytes()
    recs = csv_records(data)
    first = import_return(eng, registry, data, "first.csv", user="analyst-a")
    first_layer = layer(eng, first.version_id)

    second = [dict(r) for r in recs]
    changed = next(r for r in second if r["metric_id"] == "training_compliance" and r["breakdown_value"] == "L2")
    assert changed["value"] != "90.5%"
    changed["value"] = "90.5%"
    added = {"metric_id": "sickness_days_local", "period": "2017-18", "value": "5.1", "agency": "Thurrock Council",
             "area": "883", "note": "added in the second file"}
    second.append(added)
    data2 = csv_bytes(list(recs[0].keys()), second)
    report = import_return(eng, registry, data2, "second.csv", user="analyst-b")

    assert (report.added, report.changed, report.unchanged) == (1, 1, len(recs) - 1)
    n_training = sum(r["metric_id"] == "training_compliance" for r in recs)
    n_sickness = sum(r["metric_id"] == "sickness_days_local" for r in recs)
    assert report.by_metric["training_compliance"] == {"added": 0, "changed": 1, "unchanged": n_training - 1}
    assert report.by_metric["sickness_days_local"] == {"added": 1, "changed": 0, "unchanged": n_sickness}
    assert sum(sum(c.values()) for c in report.by_metric.values()) == len(second)

    new = {(r[0], r[1], r[2], r[4], r[5], r[6]): r for r in layer(eng, report.version_id)}
    assert len(new) == len(recs) + 1
    assert new[cell_of(changed)][7] == pytest.approx(90.5)
    assert new[cell_of(added)][7] == pytest.approx(5.1)
    assert layer(eng, first.version_id) == first_layer  # history is never rewritten

    snap = any_db.manager().snapshot()
    cell = snapshot_cell(snap, "sickness_days_local", month_end(2018, 3), "Thurrock Council")
    assert cell["value"] == pytest.approx(5.1)
    assert cell["source_key"].startswith(f"import/v{report.version_id}/")


def test_a_file_naming_a_few_cells_carries_the_rest_of_the_layer_forward(any_db, registry):
    eng = any_db.engine
    first = import_return(eng, registry, TEMPLATE_CSV.read_bytes(), "first.csv", user="analyst-a")
    data = csv_bytes(DATA_HEADER, [["cin_cases_local", "31/03/2019", "700", "", "", "", "", "", "883", ""]])
    report = import_return(eng, registry, data, "one_row.csv", user="analyst-a")
    assert (report.added, report.changed, report.unchanged) == (1, 0, 0)
    old, new = layer(eng, first.version_id), layer(eng, report.version_id)
    assert len(new) == len(old) + 1
    assert set(old) < set(new)
    (extra,) = set(new) - set(old)
    assert extra[:3] == ("cin_cases_local", THURROCK, month_end(2019, 3)) and extra[7] == 700


def test_the_same_file_twice_is_refused_naming_the_version(any_db, registry):
    eng = any_db.engine
    data = TEMPLATE_CSV.read_bytes()
    first = import_return(eng, registry, data, "return_template.csv", user="analyst-a")
    before = dump(eng)
    with pytest.raises(ImportRefused) as exc:
        import_return(eng, registry, data, "renamed copy.csv", user="analyst-b")
    rep = exc.value.report
    assert not rep.accepted and rep.version_id is None
    assert rep.duplicate_of == first.version_id
    assert any(f"data version {first.version_id}" in p for p in rep.problems), rep.problems
    assert dump_diff(before, dump(eng)) == ""


# --------------------------------------------------------------------------- targets


def test_imported_targets_replace_the_registrys_and_rag_follows(any_db, registry):
    eng = any_db.engine
    reg_metric = registry.metric("sickness_days_local")
    assert reg_metric.polarity.value == "lower_better" and [t.value for t in reg_metric.targets] == [9]

    row, _ = scorecard_row(any_db, "sickness_days_local")
    assert row.value == pytest.approx(4.32)  # data/local: 4.32 days in 2016-17
    assert row.target == 9 and row.rag.status is RagStatus.GREEN  # 4.32 is under 9

    t3 = csv_bytes(TARGETS_HEADER, [["sickness_days_local", "3", "", "", "", "Test: partnership aim of 3 days", "1",
                                     "absolute", "no"]])
    rep = import_return(eng, registry, t3, "targets_3.csv", user="analyst-a")
    assert rep.targets_in_file == 1 and rep.rows_in_file == 0
    row, snap = scorecard_row(any_db, "sickness_days_local")
    eff = snap.effective_registry(registry)
    assert [(t.value, t.source, t.agency) for t in eff.metric("sickness_days_local").targets] == [
        (3.0, "Test: partnership aim of 3 days", None)]
    assert eff.metric("sickness_days_local").tolerance.value == 1
    for other in ("training_compliance", "supervision_compliance", "sw_agency_rate"):
        assert eff.metric(other).targets == registry.metric(other).targets, other
    # lower is better: 4.32 is above 3 by more than the tolerance of 1
    assert row.target == 3 and row.target_source == "Test: partnership aim of 3 days"
    assert row.rag.status is RagStatus.RED

    # a later file's targets for the metric replace these (not add to them): 4.32 is within 4 + 1
    t4 = csv_bytes(TARGETS_HEADER, [["sickness_days_local", "4", "", "", "", "Test: revised aim of 4 days", "1",
                                     "absolute", "no"]])
    v4 = import_return(eng, registry, t4, "targets_4.csv", user="analyst-a").version_id
    # and a file with figures only carries the targets forward
    data = csv_bytes(DATA_HEADER, [["cin_cases_local", "31/03/2019", "700", "", "", "", "", "", "883", ""]])
    v5 = import_return(eng, registry, data, "figures.csv", user="analyst-a").version_id
    assert target_rows(eng, v5) == target_rows(eng, v4)
    row, snap = scorecard_row(any_db, "sickness_days_local")
    assert snap.version_id == v5
    assert [t.value for t in snap.effective_registry(registry).metric("sickness_days_local").targets] == [4.0]
    assert row.target == 4 and row.rag.status is RagStatus.AMBER


def _in_force(snap, registry, metric_id: str) -> set[tuple]:
    return {(t.value, t.agency, t.start, t.end) for t in snap.effective_registry(registry).metric(metric_id).targets}


def test_imported_targets_replace_only_the_metric_agency_and_periods_they_name(any_db, registry):
    """Issue 13: two agency targets in a return must not remove the other agencies' targets."""
    import datetime as dt

    eng = any_db.engine
    reg = {(t.value, t.agency, t.start, t.end) for t in registry.metric("training_compliance").targets}
    assert (80.0, "NELFT", None, None) in reg and (95.0, "Probation", None, None) in reg
    assert (80.0, None, None, None) in reg  # the illustrative target for all agencies

    first = csv_bytes(TARGETS_HEADER, [
        ["training_compliance", "85", "", "", "NELFT", "Test: NELFT's new aim", "5", "absolute", "no"],
        ["training_compliance", "90", "", "", "Essex Police", "Test: police aim", "", "", "no"],
    ])
    before = dump(eng)
    dry = import_return(eng, registry, first, "targets_a.csv", user="analyst-a", dry_run=True)
    assert dump_diff(before, dump(eng)) == ""
    assert len(dry.targets_added) == 1 and "Essex Police" in dry.targets_added[0]
    assert len(dry.targets_changed) == 1 and "NELFT" in dry.targets_changed[0] and "becomes 85" in \
        dry.targets_changed[0] and "registry" in dry.targets_changed[0]
    assert dry.targets_removed == []
    text = dry.text()
    assert "1 target(s) added" in text and "1 target(s) changed" in text and "Essex Police" in text

    import_return(eng, registry, first, "targets_a.csv", user="analyst-a")
    row, snap = scorecard_row(any_db, "training_compliance")
    assert _in_force(snap, registry, "training_compliance") == {
        (85.0, "NELFT", None, None), (90.0, "Essex Police", None, None), (95.0, "Probation", None, None),
        (80.0, None, None, None)}
    assert snap.effective_registry(registry).metric("training_compliance").target_for(
        dt.date(2017, 3, 31), "Probation").value == 95.0

    # a later target for NELFT from April 2018 overlaps the imported open-ended one: that one is removed whole
    second = csv_bytes(TARGETS_HEADER, [
        ["training_compliance", "88", "01/04/2018", "", "NELFT", "Test: from 2018-19", "", "", "no"]])
    rep = import_return(eng, registry, second, "targets_b.csv", user="analyst-a")
    assert rep.targets_added == [] and rep.targets_changed == []
    assert len(rep.targets_removed) == 1 and "85" in rep.targets_removed[0] and "earlier import" in \
        rep.targets_removed[0]
    _row, snap = scorecard_row(any_db, "training_compliance")
    assert _in_force(snap, registry, "training_compliance") == {
        (88.0, "NELFT", dt.date(2018, 4, 1), None), (90.0, "Essex Police", None, None),
        (95.0, "Probation", None, None), (80.0, None, None, None)}
    assert sorted((t[0], t[1], t[4]) for t in target_rows(eng, rep.version_id)) == [
        ("training_compliance", 88.0, "NELFT"), ("training_compliance", 90.0, "Essex Police")]
    # a target for another period of the same agency, not overlapping, is added beside it
    third = csv_bytes(TARGETS_HEADER, [
        ["training_compliance", "82", "", "31/03/2018", "NELFT", "Test: to 2017-18", "", "", "no"]])
    rep = import_return(eng, registry, third, "targets_c.csv", user="analyst-a")
    assert len(rep.targets_added) == 1 and rep.targets_removed == [] and rep.targets_changed == []
    _row, snap = scorecard_row(any_db, "training_compliance")
    assert {(88.0, "NELFT", dt.date(2018, 4, 1), None), (82.0, "NELFT", None, dt.date(2018, 3, 31))} <= \
        _in_force(snap, registry, "training_compliance")


def test_a_refused_file_reports_the_rows_it_read(any_db, registry):
    eng = any_db.engine
    data = csv_bytes(DATA_HEADER, [["cp_plans_31mar", "31/03/2017", "many", "", "", "", "", "", "883", ""],
                                   ["cp_plans_31mar", "31/03/2016", "290", "", "", "", "", "", "Thurrock", ""],
                                   ["lac_31mar", "31/03/2016", "300", "", "", "", "", "", "883", ""]])
    with pytest.raises(ImportRefused) as exc:
        import_return(eng, registry, data, "refused.csv", user="analyst-a")
    text = exc.value.report.text()
    assert "rows in file: 0" not in text and "rows read: 3" in text, text
    assert "did you mean 883 (Thurrock)?" in text, text
    with pytest.raises(ImportRefused) as exc:
        import_return(eng, registry, b"x", "refused.pdf", user="analyst-a")
    assert "rows" not in exc.value.report.text()


def xlsx_targets(path) -> set[tuple]:
    """(metric_id, target, agency or None) of the rows of a workbook's targets sheet, read with openpyxl."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    (ws,) = [w for w in wb.worksheets if w.title.strip().lower() == "targets"]
    rows = [r for r in ws.iter_rows(values_only=True) if any(c not in (None, "") for c in r)]
    wb.close()
    head = [str(h).strip().lower() for h in rows[0]]
    return {(r[head.index("metric_id")], float(r[head.index("target")]), r[head.index("agency")] or None)
            for r in rows[1:]}


def test_targets_from_the_xlsx_template_are_in_force(any_db, registry):
    report = import_return(any_db.engine, registry, TEMPLATE_XLSX.read_bytes(), "return_template.xlsx",
                           user="analyst-a")
    want = xlsx_targets(TEMPLATE_XLSX)
    assert report.targets_in_file == len(want)
    row, snap = scorecard_row(any_db, "training_compliance")
    eff = snap.effective_registry(registry)
    got = {(m, t.value, t.agency) for m in {w[0] for w in want} for t in eff.metric(m).targets}
    # the template's targets are open-ended: each replaces the registry's target for its metric and agency;
    # the registry's targets for agencies the template does not name stay in force
    named = {(m, a) for m, _v, a in want}
    kept = {(m, t.value, t.agency) for m in {w[0] for w in want} for t in registry.metric(m).targets
            if (m, t.agency) not in named}
    assert got == want | kept


# --------------------------------------------------------------------------- restore and rebuild


def test_restore_makes_a_new_version_equal_to_the_earlier_one(any_db, registry):
    eng = any_db.engine
    first = import_return(eng, registry, TEMPLATE_XLSX.read_bytes(), "return_template.xlsx", user="analyst-a")
    assert first.targets_in_file > 0
    added = ["sickness_days_local", "2017-18", "5.1", "", "", "", "", "Thurrock Council", "883", ""]
    second = import_return(eng, registry, csv_bytes(DATA_HEADER, [added]), "second.csv", user="analyst-a")
    second_layer = layer(eng, second.version_id)
    assert len(second_layer) == len(layer(eng, first.version_id)) + 1

    new_id = restore_version(eng, first.version_id, user="admin-a")
    v = version_rows(eng)[-1]
    assert v.id == new_id and new_id > second.version_id
    assert (v.kind, v.restored_from, v.created_by) == ("restore", first.version_id, "admin-a")
    assert layer(eng, new_id) == layer(eng, first.version_id)
    assert target_rows(eng, new_id) == target_rows(eng, first.version_id) != []
    assert layer(eng, second.version_id) == second_layer  # the undone version is kept
    assert [x.id for x in list_versions(eng)][:2] == [new_id, second.version_id]  # newest first

    snap = any_db.manager().snapshot()
    assert snap.version_id == new_id
    cell = snapshot_cell(snap, "sickness_days_local", month_end(2018, 3), "Thurrock Council")
    assert cell is None or not cell["source_key"].startswith("import/"), cell.to_dict()


def test_restore_refuses_a_missing_version_and_changes_nothing(any_db, registry):
    eng = any_db.engine
    import_return(eng, registry, TEMPLATE_CSV.read_bytes(), "return_template.csv", user="analyst-a")
    before = dump(eng)
    bad = max_version(eng) + 100
    with pytest.raises(ValueError, match=f"data version {bad} does not exist"):
        restore_version(eng, bad, user="admin-a")
    assert dump_diff(before, dump(eng)) == ""


def test_restoring_the_build_version_leaves_the_published_data_alone(any_db, registry):
    """Restoring a build version is a new restore version with an empty import layer: no imported figures or
    targets, so the dashboard shows the published data as built (the build layer is untouched)."""
    eng = any_db.engine
    build_id = next(v.id for v in version_rows(eng) if v.kind == "build")
    published = any_db.manager().snapshot()
    published_targets = published.effective_registry(registry).metric("training_compliance").targets
    built_rows = layer(eng, build_id)
    import_return(eng, registry, TEMPLATE_XLSX.read_bytes(), "return_template.xlsx", user="analyst-a")
    assert any_db.manager().snapshot().rows("training_compliance", THURROCK)["source_key"].str.startswith(
        "import/").any()

    new_id = restore_version(eng, build_id, user="admin-a")
    v = version_rows(eng)[-1]
    assert (v.id, v.kind, v.restored_from, v.rows) == (new_id, "restore", build_id, 0)
    assert "published data only" in v.label
    assert layer(eng, new_id) == [] and target_rows(eng, new_id) == []
    assert layer(eng, build_id) == built_rows
    with eng.connect() as c:
        assert store.layer_versions(c) == (build_id, new_id)
    snap = any_db.manager().snapshot()
    assert snap.version_id == new_id
    assert not snap.frame["source_key"].str.startswith("import/").any()
    assert snap.effective_registry(registry).metric("training_compliance").targets == published_targets


def _import_state(eng, version_id: int) -> dict:
    """Everything that belongs to the import layer, with ids."""
    with eng.connect() as c:
        versions = [tuple(r) for r in c.execute(select(store.DataVersion.__table__).where(
            store.DataVersion.kind.in_(("import", "restore"))).order_by(store.DataVersion.id))]
        files = [tuple(r) for r in c.execute(select(store.VersionFile.__table__).order_by(store.VersionFile.version_id))]
        targets = [tuple(r) for r in c.execute(select(store.ImportedTarget.__table__).order_by(store.ImportedTarget.id))]
        sources = [tuple(r) for r in c.execute(select(store.Source.__table__).where(
            store.Source.key.startswith("import/")).order_by(store.Source.id))]
        obs = [tuple(r) for r in c.execute(select(store.Observation.__table__).where(
            store.Observation.version_id.in_([v[0] for v in versions])).order_by(store.Observation.id))]
        flags = [tuple(r) for r in c.execute(select(store.QualityFlag.__table__).where(
            store.QualityFlag.version_id.in_([v[0] for v in versions])).order_by(store.QualityFlag.id))]
    return {"versions": versions, "files": files, "targets": targets, "sources": sources, "observations": obs,
            "flags": flags, "current": version_id}


def test_a_rebuild_after_a_data_file_changes_keeps_the_import_layer(any_db, registry, tmp_path):
    from dashboard.build import build

    eng = any_db.engine
    import_return(eng, registry, TEMPLATE_CSV.read_bytes(), "return_template.csv", user="analyst-a")
    targets = csv_bytes(TARGETS_HEADER, [["sickness_days_local", "3", "", "", "", "Test: aim of 3 days", "1", "", ""],
                                         ["sw_agency_rate_local", "25", "", "", "", "Test: aim of 25%", "", "", ""]])
    import_return(eng, registry, targets, "targets.csv", user="analyst-a")
    data, expected = training_return(range(2011, 2012))
    last = import_return(eng, registry, data, "training_2011.csv", user="analyst-a")
    kept = _import_state(eng, last.version_id)
    assert len(kept["observations"]) > len(expected)

    data_dir = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data_dir)
    touched = data_dir / "local" / "thurrock_lscb_2016_17.source.yaml"
    touched.write_text(touched.read_text(encoding="utf-8") + "\n# touched by the imports tier\n", encoding="utf-8")
    settings = make_settings(any_db.url, any_db.settings.instance_dir, data_dir=data_dir)
    res = build(settings, if_stale=True)
    assert res.built and res.version_id > last.version_id

    assert _import_state(eng, last.version_id) == kept
    with eng.connect() as c:
        assert store.layer_versions(c) == (res.version_id, last.version_id)

    from dashboard.data import DataManager

    mgr = DataManager(settings)
    snap = mgr.snapshot()
    assert snap.version_id == res.version_id
    rows = snap.rows("training_compliance", THURROCK)
    mine = rows[rows["source_key"].str.startswith(f"import/v{last.version_id}/")]
    assert {(r.period_end, r.agency, r.breakdown_value): r.value for r in mine.itertuples()} == pytest.approx(expected)
    eff = snap.effective_registry(mgr.registry)
    assert [(t.value, t.source) for t in eff.metric("sickness_days_local").targets] == [(3.0, "Test: aim of 3 days")]
    assert [(t.value, t.source) for t in eff.metric("sw_agency_rate_local").targets] == [(25.0, "Test: aim of 25%")]


# --------------------------------------------------------------------------- command line


@pytest.fixture
def cli_db(any_db, monkeypatch):
    """The command line, run in this process, reads and writes this test's database."""
    return point_cli_at(monkeypatch, any_db)


SUMMARY = re.compile(r"(\d+) added, (\d+) changed, (\d+) unchanged")


def test_cli_import_dry_run_prints_the_summary_and_writes_nothing(cli_db, capsys):
    n = len(csv_records(TEMPLATE_CSV.read_bytes()))
    before = dump(cli_db.engine)
    assert cli.main(["import", str(TEMPLATE_CSV), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "return_template.csv" in out and "dry run" in out
    assert SUMMARY.search(out).groups() == (str(n), "0", "0"), out
    assert dump_diff(before, dump(cli_db.engine)) == ""


def test_cli_import_versions_list_and_restore(cli_db, capsys, tmp_path):
    eng = cli_db.engine
    since = last_audit_id(eng)
    assert cli.main(["import", str(TEMPLATE_CSV), "--user", "cli-analyst"]) == 0
    out = capsys.readouterr().out
    v1 = max_version(eng)
    assert f"data version {v1}" in out
    second = tmp_path / "second.csv"
    second.write_bytes(csv_bytes(DATA_HEADER, [["cin_cases_local", "31/03/2019", "700", "", "", "", "", "", "883", ""]]))
    assert cli.main(["import", str(second), "--user", "cli-analyst"]) == 0
    out = capsys.readouterr().out
    v2 = max_version(eng)
    assert v2 > v1 and SUMMARY.search(out).groups() == ("1", "0", "0")
    assert len(layer(eng, v2)) == len(layer(eng, v1)) + 1

    assert cli.main(["versions", "list"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    listed = [int(ln.split()[0]) for ln in lines]
    assert listed == [v.id for v in reversed(version_rows(eng))]
    assert "import" in lines[0] and "cli-analyst" in lines[0] and "build" in lines[-1]

    assert cli.main(["versions", "restore", str(v1), "--user", "cli-admin"]) == 0
    out = capsys.readouterr().out
    v3 = max_version(eng)
    assert str(v1) in out and str(v3) in out
    restored = version_rows(eng)[-1]
    assert (restored.kind, restored.restored_from, restored.created_by) == ("restore", v1, "cli-admin")
    assert layer(eng, v3) == layer(eng, v1)

    actions = [(a, actor) for a, actor, _o, _d in audit_actions(eng, since)]
    assert actions == [("import.accepted", "cli-analyst"), ("import.accepted", "cli-analyst"),
                       ("version.restore", "cli-admin")]

    before = dump(eng)
    missing = max_version(eng) + 90
    assert cli.main(["versions", "restore", str(missing)]) == 1
    err = capsys.readouterr().err
    assert f"data version {missing} does not exist" in err and "Traceback" not in err
    assert dump_diff(before, dump(eng)) == ""

    build_id = next(v.id for v in version_rows(eng) if v.kind == "build")
    assert cli.main(["versions", "restore", str(build_id), "--user", "cli-admin"]) == 0
    assert f"Restored data version {build_id}" in capsys.readouterr().out
    assert layer(eng, max_version(eng)) == []
