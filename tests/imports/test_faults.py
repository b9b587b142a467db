"""Imports when things go wrong: a killed process, a full disk, a lost database, bad uploads.

Whatever fails, the previous data version stays current and complete, the database still opens,
and the person is told what happened in words (no traceback): StoreUnavailable from the service,
exit status 2 from the command line, 503 from /healthz, 413 or a refusal from the upload page.
"""
from __future__ import annotations

import contextlib
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

import dashboard.importers.returns
import dashboard.imports
from dashboard import cli, store
from dashboard.config import ROOT
from dashboard.imports import MAX_UPLOAD_BYTES, StoreUnavailable, import_return, list_versions, restore_version
from tests.helpers import sign_in
from tests.imports.conftest import (
    CORPUS,
    TEMPLATE_CSV,
    audit_actions,
    corpus_case,
    counts,
    dump,
    dump_diff,
    forget_engine,
    last_audit_id,
    layer,
    make_settings,
    max_version,
    point_cli_at,
    table_body,
    training_return,
    upload,
)

HELPER = Path(__file__).resolve().parent / "kill_helper.py"
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"


# --------------------------------------------------------------------------- killed mid-import


def _wait_for(proc: subprocess.Popen, prefix: str, timeout: float) -> str:
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"the import helper did not start writing within {timeout:.0f} s")
        if line is None:
            proc.wait(timeout=10)
            pytest.fail(f"the import helper ended (exit {proc.returncode}) before writing:\n{proc.stderr.read()[-3000:]}")
        if line.startswith(prefix):
            return line


def test_killed_mid_import_leaves_the_previous_version_current_and_complete(any_db, registry, tmp_path):
    eng = any_db.engine
    previous = import_return(eng, registry, TEMPLATE_CSV.read_bytes(), "return_template.csv", user="analyst-a")
    data, expected = training_return(range(2000, 2010))  # 3,000 rows
    path = tmp_path / "training_2000s.csv"
    path.write_bytes(data)
    wal = None
    if any_db.kind == "sqlite":
        with eng.connect() as c:
            assert c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()[0] == 0
        wal = any_db.path.with_name(any_db.path.name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0
    before = dump(eng)
    observations_before = len(before["observation"])

    proc = subprocess.Popen([sys.executable, str(HELPER), any_db.url, str(path)], cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = _wait_for(proc, "WRITING", timeout=180)
        # inside its open transaction the helper sees the new layer: the carried rows and the file's
        assert int(line.split()[1]) == observations_before + len(layer(eng, previous.version_id)) + len(expected)
        if wal is not None:
            assert wal.stat().st_size > 0  # uncommitted pages reached the write-ahead log
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    if any_db.kind == "sqlite":
        con = sqlite3.connect(any_db.path)
        try:
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            con.close()
    assert dump_diff(before, dump(eng)) == ""
    with eng.connect() as c:
        assert store.layer_versions(c)[1] == previous.version_id
    assert max_version(eng) == previous.version_id

    again = import_return(eng, registry, data, path.name, user="analyst-a")
    assert again.accepted and again.version_id > previous.version_id
    assert (again.added, again.changed, again.unchanged) == (len(expected), 0, 0)
    assert len(layer(eng, again.version_id)) == len(layer(eng, previous.version_id)) + len(expected)


# --------------------------------------------------------------------------- disk full


@contextlib.contextmanager
def full_disk(engine):
    """Every new connection of ``engine`` may not grow the SQLite file beyond its current size
    (``PRAGMA max_page_count``): a write that needs a new page fails with "database or disk is full"."""
    def no_more_pages(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        pages = cur.execute("PRAGMA page_count").fetchone()[0]
        cur.execute(f"PRAGMA max_page_count={pages}")
        cur.close()

    event.listen(engine, "connect", no_more_pages)
    engine.dispose()
    try:
        yield
    finally:
        event.remove(engine, "connect", no_more_pages)
        engine.dispose()


def test_disk_full_is_reported_in_words_and_changes_nothing(sqlite_db, registry):
    eng = sqlite_db.engine
    data, expected = training_return(range(2003, 2007))  # 1,200 rows: more than the free space in the file's pages
    before = dump(eng)
    with full_disk(eng):
        with pytest.raises(StoreUnavailable) as exc:
            import_return(eng, registry, data, "training.csv", user="analyst-a")
    assert "database or disk is full" in str(exc.value.__cause__)  # the real SQLite error
    msg = str(exc.value)
    assert "disk is full" in msg.lower() and "nothing was changed" in msg.lower(), msg
    assert "Traceback" not in msg and "sqlite3" not in msg and "INSERT" not in msg
    assert dump_diff(before, dump(eng)) == ""
    # with room again the same file loads
    rep = import_return(eng, registry, data, "training.csv", user="analyst-a")
    assert rep.accepted and rep.added == len(expected)


def test_cli_import_on_a_full_disk_exits_2_with_the_message(sqlite_db, monkeypatch, capsys, tmp_path):
    point_cli_at(monkeypatch, sqlite_db)
    data, _ = training_return(range(2003, 2007))
    path = tmp_path / "training.csv"
    path.write_bytes(data)
    before = dump(sqlite_db.engine)
    with full_disk(sqlite_db.engine):  # the command line uses the same engine (store.get_engine by URL)
        rc = cli.main(["import", str(path)])
    out = capsys.readouterr()
    assert rc == 2, out
    assert "disk is full" in out.err.lower() and "nothing was changed" in out.err.lower(), out.err
    assert "Traceback" not in out.err + out.out
    assert dump_diff(before, dump(sqlite_db.engine)) == ""


# --------------------------------------------------------------------------- database unreachable


@pytest.fixture
def unreachable():
    yield UNREACHABLE
    forget_engine(UNREACHABLE)


def test_lost_connection_raises_store_unavailable_in_words(unreachable, registry):
    eng = store.get_engine(unreachable)
    with pytest.raises(StoreUnavailable) as exc:
        import_return(eng, registry, TEMPLATE_CSV.read_bytes(), "return_template.csv", user="analyst-a")
    msg = str(exc.value)
    assert "could not be reached" in msg and "nothing was changed" in msg.lower(), msg
    assert "nobody" not in msg and "Traceback" not in msg and "psycopg" not in msg
    with pytest.raises(StoreUnavailable):
        restore_version(eng, 2, user="admin-a")
    with pytest.raises(StoreUnavailable):
        list_versions(eng)


def test_cli_import_with_the_database_unreachable_exits_2(unreachable, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", unreachable)
    monkeypatch.setenv("DASHBOARD_INSTANCE_DIR", str(tmp_path))
    rc = cli.main(["import", str(TEMPLATE_CSV)])
    out = capsys.readouterr()
    assert rc == 2
    assert "could not be reached" in out.err and "Traceback" not in out.err


def test_healthz_answers_503_with_a_reason_when_the_database_is_unreachable(unreachable, tmp_path):
    from dashboard.web.app import create_app

    app = create_app(make_settings(unreachable, tmp_path))
    resp = app.server.test_client().get("/healthz")
    assert resp.status_code == 503
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text and "nobody" not in text
    body = resp.get_json()
    assert body["status"] != "ok"
    assert "database" in body["status"].lower() and set(body) == {"status"}


# --------------------------------------------------------------------------- uploads the page refuses


@pytest.fixture(scope="module")
def web(databases):
    from dashboard.web.app import create_app

    db = databases.sqlite("faults-web")
    app = create_app(db.settings)
    client = sign_in(app.server.test_client(), db.engine, "analyst")
    return db, client


@pytest.fixture
def no_parsing(monkeypatch):
    def must_not_parse(*_a, **_k):
        pytest.fail("parse_return was called for a file that should have been refused unread")

    monkeypatch.setattr(dashboard.imports, "parse_return", must_not_parse)
    monkeypatch.setattr(dashboard.importers.returns, "parse_return", must_not_parse)


def _writes(engine) -> tuple:
    with engine.connect() as c:
        return (c.execute(select(func.max(store.DataVersion.id))).scalar(),
                c.execute(select(func.count()).select_from(store.PendingUpload)).scalar())


@pytest.mark.parametrize("over", [1, 200 * 1024], ids=["one-byte-over", "over-the-request-limit"])
def test_an_oversized_upload_gets_413_before_it_is_parsed(web, no_parsing, over):
    db, client = web
    body = TEMPLATE_CSV.read_bytes()
    data = body + b"\n" * (MAX_UPLOAD_BYTES - len(body) + over)  # a valid return padded with blank lines
    assert len(data) == MAX_UPLOAD_BYTES + over
    before = _writes(db.engine)
    resp = upload(client, data, "big.csv")
    assert resp.status_code == 413
    text = resp.get_data(as_text=True)
    assert f"{MAX_UPLOAD_BYTES:,}" in text and "Traceback" not in text
    assert _writes(db.engine) == before


def test_a_pdf_is_refused_unread_with_a_clear_message(web, no_parsing):
    db, client = web
    before = _writes(db.engine)
    resp = upload(client, (CORPUS / "23_not_a_return.pdf").read_bytes(), "annual report.pdf")
    assert resp.status_code == 415
    text = resp.get_data(as_text=True)
    assert ".csv" in text and ".xlsx" in text and "annual report.pdf" in text
    assert _writes(db.engine) == before


def test_a_binary_file_named_csv_is_refused_with_a_clear_message(web):
    db, client = web
    case = corpus_case("23_not_a_return.pdf")
    before = _writes(db.engine)
    resp = upload(client, (CORPUS / case["file"]).read_bytes(), "return.csv")
    assert resp.status_code == 422
    (problem,) = table_body(resp.get_data(as_text=True), "problems")
    rule = problem[-1].lower()
    for word in case["problems"][0]["words"]:
        assert word.lower() in rule, (word, problem)
    assert _writes(db.engine) == before


# --------------------------------------------------------------------------- refused on the command line


@pytest.mark.parametrize("name", ["02_unreadable_period.csv", "07_percent_above_100.xlsx", "16_missing_columns.csv"])
def test_cli_import_of_a_refused_file_exits_1_and_prints_every_problem(sqlite_db, monkeypatch, capsys, name):
    point_cli_at(monkeypatch, sqlite_db)
    case = corpus_case(name)
    eng = sqlite_db.engine
    before = dump(eng, exclude=("audit_event",))
    since = last_audit_id(eng)
    assert cli.main(["import", str(CORPUS / name)]) == 1
    out = capsys.readouterr().out
    errors = [p for p in case["problems"] if p["severity"] == "error"]
    assert "REFUSED" in out and f"{len(errors)} problem(s)" in out, out
    lines = out.splitlines()
    for p in case["problems"]:
        where = [f"row {p['row']}"] if p["row"] is not None else []
        where += [f"sheet '{p['sheet']}'"] if p["sheet"] else []
        where += [f"column '{p['column']}'"] if p["column"] else []
        found = [ln for ln in lines if all(w in ln for w in where) and str(p["value"]) in ln
                 and all(word.lower() in ln.lower() for word in p.get("words", []))]
        assert found, (p, out)
    assert dump_diff(before, dump(eng, exclude=("audit_event",))) == ""
    assert [(a, o) for a, _actor, o, _d in audit_actions(eng, since)] == [("import.refused", "denied")]
    assert counts(eng)["pending_upload"] == 0
