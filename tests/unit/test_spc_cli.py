"""``python -m dashboard spc`` (both forms) and the scorecard's SPC in JSON and CSV."""
from __future__ import annotations

import csv
import io
import json

import pytest

from dashboard import cli
from dashboard.analysis.spc import spc

JSON_KEYS = ("mean", "lower_limit", "upper_limit", "near_lower", "near_upper", "variation", "assurance", "points",
             "limit_groups")
SERIES = "period,value\n" + "".join(f"{y}-03-31,{v}\n" for y, v in zip(range(2010, 2024),
                                                                       [20, 22, 19, 21, 23, 20, 22, 21, 19, 20,
                                                                        30, 31, 32, 33]))


def _run(capsys, *args) -> tuple[int, str, str]:
    code = cli.main(["spc", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_says_both_forms(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["spc", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for text in ("--la", "--metric", "--agency", "--breakdown", "--file", "--direction", "--target", "--fix-after",
                 "--rebase-at", "--no-screen-outliers", "--format", "period,value", "2024-03-31", "Trial",
                 "limit_groups", "docs/spc.md"):
        assert text.lower() in out.lower(), text


# --------------------------------------------------------------------------- --file


def test_file_json_shape_and_values(tmp_path, capsys):
    f = tmp_path / "series.csv"
    f.write_text(SERIES, encoding="utf-8")
    code, out, err = _run(capsys, "--file", str(f), "--direction", "decrease", "--target", "25", "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    for key in JSON_KEYS:
        assert key in d, key
    values = [float(line.split(",")[1]) for line in SERIES.splitlines()[1:]]
    exp = spc(values, list(range(len(values))), direction="decrease", target=25)
    assert d["mean"] == pytest.approx(exp.last_group.mean)
    assert d["upper_limit"] == pytest.approx(exp.last_group.upper_limit)
    assert d["variation"] == exp.variation.key
    assert d["assurance"] == exp.assurance.key
    assert [p["point_type"] for p in d["points"]] == [p.point_type for p in exp.points]
    assert [p["rule"] for p in d["points"]] == [p.rule for p in exp.points]
    assert d["points"][0]["period"] == "2010-03-31"
    assert {"period", "value", "point_type", "rule"} <= set(d["points"][0])
    assert len(d["limit_groups"]) == 1 and d["limit_groups"][0]["n_points"] == 14


def test_file_options_rebase_fix_and_screening(tmp_path, capsys):
    f = tmp_path / "series.csv"
    rows = "".join(f"{y}-{m:02d},{10 + (y * 12 + m) % 5}\n" for y in (2021, 2022, 2023) for m in range(1, 13))
    f.write_text("Value,Period\n" + "\n".join(",".join(reversed(r.split(","))) for r in rows.splitlines()),
                 encoding="utf-8")
    code, out, err = _run(capsys, "--file", str(f), "--direction", "increase", "--fix-after", "12",
                          "--rebase-at", "Jan 2022", "2023-01-31", "--no-screen-outliers", "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    assert [g["start_period"] for g in d["limit_groups"]] == ["2021-01-31", "2022-01-31", "2023-01-31"]
    assert d["screen_outliers"] is False and d["fix_after"] == 12
    code, out, err = _run(capsys, "--file", str(f), "--direction", "increase")
    assert code == 0 and "Latest limits: mean" in out and "Points" in out


def test_trial_limits_are_said(tmp_path, capsys):
    f = tmp_path / "short.csv"
    f.write_text("period,value\n2023-24,1\n2024-25,3\n2022-23,2\n", encoding="utf-8")
    code, out, _ = _run(capsys, "--file", str(f), "--direction", "neutral", "--format", "json")
    assert code == 0
    d = json.loads(out)
    assert d["trial"] is True and "Trial limits" in d["limits_label"]
    assert [p["period"] for p in d["points"]] == ["2023-03-31", "2024-03-31", "2025-03-31"]


@pytest.mark.parametrize("text,line,column,value,rule", [
    ("period,value\n2024-01-31,3\nFeb 2024,lots\n", "line 3", "'value'", "'lots'", "a number"),
    ("period,value\n2024-01-31,3\nsoon,4\n", "line 3", "'period'", "'soon'", "a financial year"),
    ("when,value\n2024-01-31,3\n", "line 1", "'period'", "'when,value'", "header"),
    ("period,value\nMar 2024,1\n2024-03-31,2\n", "line 3", "'period'", "'2024-03-31'", "one row per period"),
])
def test_bad_file_names_file_line_column_value_and_rule(tmp_path, capsys, text, line, column, value, rule):
    f = tmp_path / "bad.csv"
    f.write_text(text, encoding="utf-8")
    code, out, err = _run(capsys, "--file", str(f), "--direction", "increase")
    assert code == 1
    assert out == ""
    assert err.startswith(f"error: {f}, ")
    for part in (line, f"column {column}", f"value {value}", rule):
        assert part in err, (part, err)


def test_unreadable_and_misused(tmp_path, capsys):
    code, _, err = _run(capsys, "--file", str(tmp_path / "missing.csv"), "--direction", "increase")
    assert code == 2 and "cannot be read" in err
    f = tmp_path / "s.csv"
    f.write_text(SERIES, encoding="utf-8")
    code, _, err = _run(capsys, "--file", str(f))
    assert code == 1 and "--direction" in err
    code, _, err = _run(capsys, "--file", str(f), "--direction", "increase", "--metric", "cp_rate_31mar")
    assert code == 1 and "not with --file" in err
    code, _, err = _run(capsys, "--file", str(f), "--direction", "increase", "--rebase-at", "2099-03-31")
    assert code == 1 and "rebase" in err
    code, _, err = _run(capsys, "--file", str(f), "--direction", "increase", "--fix-after", "5")
    assert code == 1 and "fix_after" in err
    code, _, err = _run(capsys)
    assert code == 1 and "--metric" in err and "--file" in err


# --------------------------------------------------------------------------- --la --metric


def test_metric_form_matches_the_metric_pages_spc(cli_env, capsys, manager, snap):
    from dashboard.spc_view import metric_spc
    from dashboard.state import ViewState
    from dashboard.views import make_context

    code, out, err = _run(capsys, "--la", "883", "--metric", "rereferral_pct", "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    for key in JSON_KEYS:
        assert key in d, key
    ctx = make_context(snap, manager.registry, ViewState(la="883"), manager.settings.la_code)
    view = metric_spc(ctx, manager.registry.metric("rereferral_pct"))
    assert d["mean"] == pytest.approx(view.result.last_group.mean)
    assert d["variation"] == view.result.variation.key
    assert d["assurance"] == (view.result.assurance.key if view.result.assurance else None)
    assert d["target"] == view.target
    assert len(d["points"]) == len(view.result.points)
    assert d["area"]["old_code"] == "883" and d["metric"] == "rereferral_pct"
    assert d["points"][-1]["period_label"] == view.labels[view.result.points[-1].period]


def test_metric_form_cell_and_errors(cli_env, capsys):
    code, out, err = _run(capsys, "--la", "883", "--metric", "training_compliance", "--agency", "NELFT",
                          "--breakdown", "training_level=L1", "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    assert d["agency"] == "NELFT" and d["breakdown"] == "training_level=L1"
    code, out, err = _run(capsys, "--la", "883", "--metric", "training_compliance", "--agency", "NELFT",
                          "--breakdown", "training_level=L9")
    assert code == 1 and "has no cell" in err and "--breakdown training_level=L1" in err
    code, _, err = _run(capsys, "--la", "883", "--metric", "training_compliance", "--breakdown", "L1")
    assert code == 1 and "KEY=VALUE" in err
    code, _, err = _run(capsys, "--la", "999", "--metric", "cp_rate_31mar")
    assert code == 1 and "not an English local authority" in err
    code, _, err = _run(capsys, "--la", "883", "--metric", "no_such_metric")
    assert code == 1 and "not a metric id" in err
    code, out, err = _run(capsys, "--la", "383", "--metric", "cp_rate_31mar")
    assert code == 0 and "Leeds" in out and "Latest limits" in out


# --------------------------------------------------------------------------- the scorecard


def test_scorecard_json_and_csv_carry_spc(cli_env, capsys, manager, snap):
    from dashboard.state import ViewState
    from dashboard.views import make_context, scorecard

    rows = scorecard(make_context(snap, manager.registry, ViewState(la="883"), manager.settings.la_code))
    assert cli.main(["scorecard", "--la", "883", "--format", "json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    assert [m["metric_id"] for m in metrics] == [r.metric_id for r in rows]
    for m, r in zip(metrics, rows):
        assert m["spc"]["variation"] == r.spc_variation and m["spc"]["assurance"] == r.spc_assurance, r.metric_id
        assert "spc_variation" not in m
    assert any(m["spc"]["variation"] for m in metrics) and any(m["spc"]["assurance"] for m in metrics)
    assert cli.main(["scorecard", "--la", "883", "--format", "csv"]) == 0
    recs = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [x["spc_variation"] for x in recs] == [r.spc_variation or "" for r in rows]
    assert [x["spc_assurance"] for x in recs] == [r.spc_assurance or "" for r in rows]
    assert cli.main(["scorecard", "--la", "883"]) == 0
    assert "SPC variation" in capsys.readouterr().out
