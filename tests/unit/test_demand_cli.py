"""`python -m dashboard demand`: the numbers of the demand view function, labelled Illustrative."""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json

import pandas as pd
import pytest

from dashboard import cli
from dashboard.demand_view import demand_view
from dashboard.state import ViewState
from dashboard.views import make_context

THURROCK = "E06000034"
FLOW = ["demand_contacts", "demand_referrals", "demand_assessments", "demand_s47", "demand_icpc",
        "demand_cp_started"]


def _run(capsys, *args) -> str:
    assert cli.main(["demand", *args]) == 0
    return capsys.readouterr().out


def _months(snap, metric_id: str, area: str = THURROCK) -> pd.Series:
    rows = snap.rows(metric_id, area).sort_values("period_end")
    return pd.Series(rows["value"].to_numpy(dtype=float), index=list(rows["period_end"]))


def _view(snap, registry, la="883", months=12):
    ctx = make_context(snap, registry, ViewState(la=la), "883")
    return demand_view(ctx, months)


def test_json_is_the_view_functions_numbers(cli_env, capsys, snap, registry):
    out = json.loads(_run(capsys, "--la", "883", "--format", "json"))
    view = _view(snap, registry)
    assert out == json.loads(json.dumps(view.record(), default=str))
    assert out["area"] == {"code": THURROCK, "name": "Thurrock"}
    assert out["illustrative"] is True and out["illustrative_note"].startswith("Illustrative")
    assert [s["metric_id"] for s in out["series"]] == [m.id for m in registry.by_topic("demand")]
    assert [s["metric_id"] for s in out["flow"]["steps"]] == FLOW
    for key in ("target", "implied_caseload", "projected", "crossing", "crossing_words", "agency_share"):
        assert key in out["capacity"], key
    ref = {s["metric_id"]: s for s in out["series"]}["demand_referrals"]
    for key in ("ahead_6_point", "ahead_6_lower_80", "ahead_6_upper_80", "ahead_6_lower_95", "ahead_6_upper_95",
                "ahead_12_point", "ahead_12_lower_95", "ahead_12_upper_95", "backtest_mape"):
        assert isinstance(ref[key], float), key
    assert ref["ahead_12_lower_95"] <= ref["ahead_12_lower_80"] <= ref["ahead_12_point"] <= ref["ahead_12_upper_80"] \
        <= ref["ahead_12_upper_95"]


def test_totals_changes_and_conversions_from_the_stored_months(cli_env, capsys, snap, registry):
    """Worked out here from the stored rows, not by the view function."""
    out = json.loads(_run(capsys, "--la", "E06000034", "--format", "json", "--months", "12"))
    steps = {s["metric_id"]: s for s in out["flow"]["steps"]}
    totals = {}
    for mid in FLOW:
        m = _months(snap, mid)
        assert len(m) == 36
        totals[mid] = (m.iloc[-12:].sum(), m.iloc[-24:-12].sum())
        assert (steps[mid]["current"], steps[mid]["previous"]) == totals[mid], mid
    assert steps["demand_referrals"]["conversion"] == round(100 * totals["demand_referrals"][0]
                                                            / totals["demand_contacts"][0], 1)
    assert steps["demand_cp_started"]["conversion_previous"] == round(100 * totals["demand_cp_started"][1]
                                                                      / totals["demand_icpc"][1], 1)
    series = {s["metric_id"]: s for s in out["series"]}
    cin, fte = _months(snap, "demand_cin_open"), _months(snap, "demand_sw_fte")
    assert series["demand_cin_open"]["current"] == cin.iloc[-1]  # a stock: the latest month, not a total
    assert series["demand_cin_open"]["previous"] == cin.iloc[-13]
    assert out["capacity"]["implied_caseload"] == round(cin.iloc[-1] / fte.iloc[-1], 1)
    # a shorter window changes the flow totals
    six = json.loads(_run(capsys, "--la", "883", "--format", "json", "--months", "6"))
    assert six["flow"]["steps"][1]["current"] == _months(snap, "demand_referrals").iloc[-6:].sum()


def test_table_and_csv_say_illustrative(cli_env, capsys):
    text = _run(capsys, "--la", "883")
    assert text.splitlines()[1].startswith("Illustrative:")
    for words in ("Flow from contact to plan", "demand_referrals", "MAPE", "Capacity", "Caseload implied"):
        assert words in text, words
    rows = list(csv.DictReader(io.StringIO(_run(capsys, "--la", "883", "--format", "csv"))))
    assert [r["section"] for r in rows].count("series") == 20
    assert [r["section"] for r in rows].count("flow") == 6
    assert all(r["illustrative_note"].startswith("Illustrative") for r in rows)


def test_fewer_than_24_months_is_refused_with_the_reason(cli_env, capsys, snap, registry, monkeypatch):
    import dashboard.data

    cut = dt.date(2023, 7, 31)  # keeps August 2023 to March 2025: 20 months
    frame = snap.frame[~(snap.frame["metric_id"].str.startswith("demand_") & (snap.frame["period_end"] <= cut))]
    short = dataclasses.replace(snap, frame=frame.reset_index(drop=True), _groups={}, _memo={})

    class Manager:
        def snapshot(self):
            return short

    Manager.registry = registry
    monkeypatch.setattr(dashboard.data, "_manager", Manager())
    out = json.loads(_run(capsys, "--la", "883", "--format", "json"))
    for s in out["series"]:
        assert s["n_months"] == 20
        assert s["projection_method"] == "none"
        assert s["projection_reason"].startswith("No projection: fewer than 24 months of data (20)"), s
        assert s["ahead_6_point"] is None and s["backtest_mape"] is None
    assert out["capacity"]["projected"] == {"6": None, "12": None}
    text = _run(capsys, "--la", "883")
    assert "demand_referrals: No projection: fewer than 24 months of data (20)" in text


def test_real_months_replace_the_illustrative_series(snap, registry):
    """An imported return (30 months) wins over the illustrative months: the whole series, not cell by cell."""
    ill = snap.frame[(snap.frame["metric_id"] == "demand_referrals") & (snap.frame["area_code"] == THURROCK)]
    real = ill.iloc[-30:].assign(value=100.0, illustrative=False, source_kind="import", source_key="import/x")
    rest = snap.frame[~((snap.frame["metric_id"] == "demand_referrals") & (snap.frame["area_code"] == THURROCK))]
    frame = pd.concat([rest, ill, real], ignore_index=True)
    mixed = dataclasses.replace(snap, frame=frame, _groups={}, _memo={})
    view = _view(mixed, registry)
    ref = view.by_id("demand_referrals")
    assert (ref.n_months, ref.illustrative, ref.source) == (30, False, "import")
    assert ref.current == 1200.0
    assert view.by_id("demand_contacts").illustrative  # the others are still illustrative, and say so
    assert view.illustrative


def test_an_authority_without_months_has_no_projection(cli_env, capsys):
    out = json.loads(_run(capsys, "--la", "202", "--format", "json"))  # Camden: not configured, no months
    assert out["area"]["name"] == "Camden"
    assert out["illustrative"] is False
    assert all(s["n_months"] == 0 and s["projection_method"] == "none" for s in out["series"])
    assert out["capacity"]["implied_caseload"] is None


def test_demand_help_and_bad_months(capsys):
    parser = cli.make_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["demand", "--format", "xml"])
    with pytest.raises(SystemExit, match="--months must be at least 1"):
        cli.main(["demand", "--months", "0"])
