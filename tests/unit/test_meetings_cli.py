"""`python -m dashboard meetings add|list`: the id printed, the list, refusals, the audit row."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from dashboard import cli, store
from dashboard.models import AuditEvent


@pytest.fixture
def db_env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DASHBOARD_INSTANCE_DIR", str(tmp_path))
    return url


def test_meetings_add_prints_the_id_and_list_shows_it(db_env, capsys):
    assert cli.main(["meetings", "add", "--date", "2026-01-15", "--title", "January panel"]) == 0
    first = capsys.readouterr().out.strip()
    assert cli.main(["meetings", "add", "--date", "2026-03-12", "--title", "=cmd|' /C calc'!A0"]) == 0
    second = capsys.readouterr().out.strip()
    assert first.isdigit() and second.isdigit() and int(second) == int(first) + 1
    assert cli.main(["meetings", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{second}\t2026-03-12\t=cmd|' /C calc'!A0", f"{first}\t2026-01-15\tJanuary panel"]
    engine = store.get_engine(db_env)
    with engine.connect() as c:
        audit = c.execute(select(AuditEvent.action, AuditEvent.actor, AuditEvent.target)).all()
    assert [tuple(a) for a in audit] == [("meeting.create", "cli", f"meeting:{first}"),
                                         ("meeting.create", "cli", f"meeting:{second}")]


def test_meetings_add_refuses_a_bad_date_or_title(db_env, capsys):
    with pytest.raises(SystemExit):
        cli.main(["meetings", "add", "--date", "15/01/2026", "--title", "x"])
    assert "YYYY-MM-DD" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="title is required"):
        cli.main(["meetings", "add", "--date", "2026-01-15", "--title", "  "])
    assert cli.main(["meetings", "list"]) == 0
    assert capsys.readouterr().out == ""


def test_pack_command_writes_the_xlsx_and_refuses_what_it_cannot_make(cli_env, tmp_path, capsys):
    from openpyxl import load_workbook

    assert cli.main(["meetings", "add", "--date", "2026-01-15", "--title", "Pack test"]) == 0
    meeting = capsys.readouterr().out.strip()
    out = tmp_path / "pack.xlsx"
    assert cli.main(["pack", "--la", "883", "--meeting", meeting, "--out", str(out)]) == 0
    assert "exceptions" in capsys.readouterr().out
    assert load_workbook(out).sheetnames == ["Scorecard", "Exceptions", "Actions"]
    with pytest.raises(SystemExit, match="no meeting 987654"):
        cli.main(["pack", "--la", "883", "--meeting", "987654", "--out", str(out)])
    with pytest.raises(SystemExit, match=r"\.pdf or \.xlsx"):
        cli.main(["pack", "--la", "883", "--meeting", meeting, "--out", str(tmp_path / "pack.doc")])
    with pytest.raises(SystemExit, match="not an English local authority"):
        cli.main(["pack", "--la", "999", "--meeting", meeting, "--out", str(out)])
