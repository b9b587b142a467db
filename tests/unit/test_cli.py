"""The command line: help, and a scorecard that says what the screens say."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys

import pytest

from dashboard import cli
from dashboard.config import ROOT

THURROCK = "E06000034"


def run_module(*args, env=None):
    return subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)


def subcommands(parser) -> dict:
    (action,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return action.choices


def test_help_lists_every_subcommand():
    res = run_module("--help")
    assert res.returncode == 0, res.stderr
    names = list(subcommands(cli.make_parser()))
    assert {"build", "scorecard", "areas"} <= set(names)
    for name in names:
        assert name in res.stdout, name
    assert "DATABASE_URL" in res.stdout and "DASHBOARD_LA" in res.stdout


def test_scorecard_help_lists_every_option():
    res = run_module("scorecard", "--help")
    assert res.returncode == 0, res.stderr
    for text in ("--la", "--as-of", "--format", "table", "csv", "json", "YYYY-MM-DD"):
        assert text in res.stdout, text


def test_every_subcommand_has_help(capsys):
    for name, sub in subcommands(cli.make_parser()).items():
        with pytest.raises(SystemExit) as exc:
            cli.main([name, "--help"])
        assert exc.value.code == 0, name
        out = capsys.readouterr().out
        assert out.startswith("usage:") and name in out
        for action in sub._actions:
            for opt in action.option_strings:
                assert opt in out, (name, opt)


def test_no_command_is_an_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([])
    assert exc.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def _json_scorecard(capsys, *args):
    assert cli.main(["scorecard", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_scorecard_json_matches_build_scorecard(cli_env, capsys, snap, registry):
    from dashboard.analysis.scorecard import build_scorecard

    out = _json_scorecard(capsys, "--la", "883", "--all-metrics")
    assert out["area"] == {"code": THURROCK, "old_code": "883", "name": "Thurrock"}
    assert out["as_of"] is None
    assert out["data_version"] == snap.version_id
    want = build_scorecard(snap.effective_registry(registry), snap.rows, THURROCK)
    assert [m["metric_id"] for m in out["metrics"]] == [r.metric_id for r in want]
    for got, r in zip(out["metrics"], want):
        assert got["value"] == r.value, r.metric_id
        assert got["rag"] == r.rag.label, r.metric_id
        assert got["period"] == r.period_label, r.metric_id
        assert got["target"] == r.target, r.metric_id
        assert got["status_symbol"] == (r.status_symbol or None), r.metric_id
    cp = {m["metric_id"]: m for m in out["metrics"]}["cp_rate_31mar"]
    assert cp["rag"] == "Not rated" and isinstance(cp["value"], float)


def test_scorecard_by_gss_code_is_the_same(cli_env, capsys):
    a = _json_scorecard(capsys, "--la", "883")
    b = _json_scorecard(capsys, "--la", "e06000034")
    assert a == b


def test_scorecard_default_la_from_the_environment(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("DASHBOARD_LA", "202")
    out = _json_scorecard(capsys)
    assert out["area"]["name"] == "Camden"


def test_scorecard_csv(cli_env, capsys, registry):
    assert cli.main(["scorecard", "--la", "883", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    # the default framework's metrics, in its order
    assert [r["metric_id"] for r in rows] == registry.framework_ids()
    for key in ("metric_id", "title", "period", "value", "target", "rag", "rank", "rank_of", "quartile_band",
                "vs_neighbour_median", "vs_england"):
        assert key in rows[0]
    by_id = {r["metric_id"]: r for r in rows}
    assert by_id["cp_rate_31mar"]["rag"] == "Not rated"
    assert by_id["supervision_compliance"]["agency"] == "NELFT"


def test_scorecard_as_of(cli_env, capsys, dfe):
    out = _json_scorecard(capsys, "--la", "883", "--as-of", "2017-06-30")
    assert out["as_of"] == "2017-06-30"
    for m in out["metrics"]:
        if m["period_end"] is not None:
            assert dt.date.fromisoformat(m["period_end"]) <= dt.date(2017, 6, 30), m["metric_id"]
    cp = {m["metric_id"]: m for m in out["metrics"]}["cp_rate_31mar"]
    assert (cp["period_end"], cp["value"]) == ("2017-03-31", dfe.cp_rate("883", 2017)[0])


def test_scorecard_table(cli_env, capsys, registry):
    assert cli.main(["scorecard", "--la", "883", "--all-metrics"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("Thurrock (883, E06000034)")
    assert lines[1].split()[:3] == ["id", "title", "period"]
    for metric_id in registry.ids:
        assert any(line.startswith(metric_id + " ") for line in lines), metric_id
    assert "illustrative target" in out  # a footnote explains the asterisk


def test_scorecard_json_carries_rank_and_band(cli_env, capsys, snap, registry):
    from dashboard import views
    from dashboard.state import ViewState

    out = {m["metric_id"]: m for m in _json_scorecard(capsys, "--la", "883", "--all-metrics")["metrics"]}
    ctx = views.make_context(snap, registry, ViewState(la="883"), "883")
    want = {r.metric_id: r for r in views.scorecard(ctx, all_metrics=True)}
    ranked = [m for m in out.values() if m["rank"] is not None]
    assert len(ranked) >= 10
    for m in ranked:
        r = want[m["metric_id"]]
        assert (m["rank"], m["rank_of"], m["quartile_band"]) == (r.rank, r.rank_of, r.quartile_band)
        assert m["quartile_band"] in ("A", "B", "C", "D")
        assert 1 <= m["rank"] <= m["rank_of"]
    assert out["cp_rate_31mar"]["rank"] is None and "neutral" in out["cp_rate_31mar"]["benchmark_note"]


def test_scorecard_framework_from_the_environment(cli_env, capsys, monkeypatch, registry):
    monkeypatch.setenv("DASHBOARD_FRAMEWORK", "lait_timeliness")
    out = _json_scorecard(capsys, "--la", "883")
    assert [m["metric_id"] for m in out["metrics"]] == registry.framework("lait_timeliness").metrics
    # the framework's local target is in force while it is active
    icpc = {m["metric_id"]: m for m in out["metrics"]}["icpc_15_days_pct"]
    assert icpc["target"] == registry.framework("lait_timeliness").targets["icpc_15_days_pct"][0].value
    assert len(_json_scorecard(capsys, "--la", "883", "--all-metrics")["metrics"]) == len(registry.ids)
    import dashboard.data

    monkeypatch.setenv("DASHBOARD_FRAMEWORK", "no_such_framework")
    monkeypatch.setattr(dashboard.data, "_manager", None)
    with pytest.raises(SystemExit) as exc:
        cli.main(["scorecard", "--la", "883", "--format", "json"])
    assert "no_such_framework" in str(exc.value.code)


@pytest.mark.parametrize("la", ["999", "E12000006", "nonsense"])
def test_unknown_la_is_refused(cli_env, la):
    with pytest.raises(SystemExit) as exc:
        cli.main(["scorecard", "--la", la])
    message = str(exc.value.code)
    assert la in message and "not an English local authority" in message


def test_unknown_la_exit_status(built_db):
    env = dict(os.environ, DATABASE_URL=built_db.database_url, DASHBOARD_INSTANCE_DIR=str(built_db.instance_dir))
    env.pop("REDIS_URL", None)
    res = run_module("scorecard", "--la", "999", env=env)
    assert res.returncode != 0
    assert "'999' is not an English local authority code" in res.stderr
    assert res.stdout == ""


def test_bad_as_of_date(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["scorecard", "--la", "883", "--as-of", "2017-02-30"])
    assert exc.value.code == 2
    assert "'2017-02-30' is not a date written YYYY-MM-DD" in capsys.readouterr().err


def test_areas_lists_authorities(cli_env, capsys, snap):
    assert cli.main(["areas"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(snap.local_authorities())
    (thurrock,) = [line for line in lines if "Thurrock" in line]
    assert thurrock.split()[:2] == ["883", THURROCK]
    assert "(East of England)" in thurrock


def test_scorecard_csv_neutralises_formula_text(cli_env, capsys, monkeypatch):
    """Agency names and target sources come from returns: a leading =, +, - or @ must not run in a spreadsheet."""
    from dashboard.analysis.scorecard import ScorecardRow

    original = ScorecardRow.as_record

    def record(self):
        return original(self) | {"agency": "=HYPERLINK(\"http://x\",\"y\")", "target_source": "+1-2",
                                 "title": "@SUM(A1)", "source": "-cmd"}

    monkeypatch.setattr(ScorecardRow, "as_record", record)
    assert cli.main(["scorecard", "--la", "883", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows
    for r in rows:
        assert r["agency"] == "'=HYPERLINK(\"http://x\",\"y\")"
        assert r["target_source"] == "'+1-2"
        assert r["title"] == "'@SUM(A1)"
        assert r["source"] == "'-cmd"
    assert out.startswith('"metric_id","title"')  # every field quoted, as the export rule says
