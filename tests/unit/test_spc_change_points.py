"""SPC limits fixed and rebased as the registry records (data/metrics.yaml, a metric's ``spc``).

The registry field's validation, the one helper that turns a metric into the engine's options
(dashboard.analysis.spc.metric_options), and every screen that uses it: the scorecard's icons, the
/spc grid, the metric page's words, the meeting's new concerns and ``python -m dashboard spc``.
Expected values are computed here with the engine straight from the snapshot's rows.
"""
from __future__ import annotations

import copy
import datetime as dt
import json

import pandas as pd
import pytest
import yaml

from dashboard.analysis.series import cell_series
from dashboard.analysis.spc import MIN_POINTS, metric_options, spc
from dashboard.config import DEFAULT_DATA_DIR
from dashboard.registry import SPC_MIN_FIX_AFTER, PeriodType, RegistryError, is_period_end, parse_registry
from dashboard.state import ViewState
from dashboard.views import make_context, scorecard

RAW = yaml.safe_load((DEFAULT_DATA_DIR / "metrics.yaml").read_text(encoding="utf-8"))
REASON = "test fixture: a change of definition (not a real event)"
CHANGE = dt.date(2020, 3, 31)  # "31 Mar 2020" for a 31 March snapshot


def registry_with(metric_id: str, spc_field) -> object:
    """The shipped registry, with ``spc`` set on one metric, parsed from YAML text as the app parses it."""
    raw = copy.deepcopy(RAW)
    for m in raw["metrics"]:
        if m["id"] == metric_id:
            m["spc"] = spc_field
    return parse_registry(yaml.safe_dump(raw, sort_keys=False), "test-metrics.yaml")


def error_of(metric_id: str, spc_field) -> str:
    with pytest.raises(RegistryError) as exc:
        registry_with(metric_id, spc_field)
    return str(exc.value)


@pytest.fixture(scope="module")
def rebased():
    """A test registry recording a change point for cp_rate_31mar at 31 March 2020 (not a real one)."""
    return registry_with("cp_rate_31mar", {"change_points": [{"period": "2020-03-31", "reason": REASON}]})


# --------------------------------------------------------------------------- the registry field


def test_the_field_parses_and_defaults_to_nothing(registry, rebased):
    m = rebased.metric("cp_rate_31mar")
    assert m.spc.fix_after is None
    assert [(c.period, c.reason) for c in m.spc.change_points] == [(CHANGE, REASON)]
    assert registry.metric("cp_rate_31mar").spc.change_points == []
    ok = registry_with("rereferral_pct", {"fix_after": 12, "change_points": [
        {"period": dt.date(2015, 3, 31), "reason": "a new front door"},
        {"period": dt.date(2019, 3, 31), "reason": "a change of definition"}]})
    assert ok.metric("rereferral_pct").spc.fix_after == 12
    assert SPC_MIN_FIX_AFTER == MIN_POINTS  # the registry's rule is the engine's


def test_a_period_that_is_not_a_period_end_is_refused():
    msg = error_of("cp_rate_31mar", {"change_points": [{"period": "2020-04-30", "reason": REASON}]})
    assert "metric 'cp_rate_31mar'" in msg
    assert "spc.change_points.0.period" in msg and "2020-04-30" in msg and "snapshot_31_march" in msg
    msg = error_of("cp_rate_31mar", {"change_points": [{"period": "March 2020", "reason": REASON}]})
    assert "metric 'cp_rate_31mar', field 'spc.change_points.0.period'" in msg


@pytest.mark.parametrize("point,field", [
    ({"period": "2020-03-31"}, "spc.change_points.0.reason"),
    ({"period": "2020-03-31", "reason": ""}, "spc.change_points.0.reason"),
    ({"period": "2020-03-31", "reason": "   "}, "spc.change_points.0.reason"),
    ({"reason": REASON}, "spc.change_points.0.period"),
    ({"period": "2020-03-31", "reason": REASON, "why": "x"}, "spc.change_points.0.why"),
])
def test_a_change_point_needs_its_period_and_reason_and_nothing_else(point, field):
    msg = error_of("cp_rate_31mar", {"change_points": [point]})
    assert f"metric 'cp_rate_31mar', field '{field}'" in msg, msg


@pytest.mark.parametrize("spc_field,field", [
    ({"rebase_at": ["2020-03-31"]}, "spc.rebase_at"),
    ({"fix_after": 11}, "spc.fix_after"),
    ({"fix_after": "12"}, "spc.fix_after"),
    ({"fix_after": 12.5}, "spc.fix_after"),
    ({"fix_after": True}, "spc.fix_after"),
    ("yes", "spc"),
])
def test_unknown_keys_and_bad_fix_after_are_refused(spc_field, field):
    msg = error_of("cp_rate_31mar", spc_field)
    assert f"metric 'cp_rate_31mar', field '{field}'" in msg, msg


def test_change_points_in_time_order_each_once():
    two = [{"period": "2021-03-31", "reason": "b"}, {"period": "2020-03-31", "reason": "a"}]
    assert "time order" in error_of("cp_rate_31mar", {"change_points": two})
    same = [{"period": "2020-03-31", "reason": "a"}, {"period": "2020-03-31", "reason": "b"}]
    assert "time order" in error_of("cp_rate_31mar", {"change_points": same})


@pytest.mark.parametrize("period_type,good,bad", [
    (PeriodType.YEAR_TO_31_MARCH, dt.date(2020, 3, 31), dt.date(2020, 3, 30)),
    (PeriodType.SNAPSHOT_31_MARCH, dt.date(2020, 3, 31), dt.date(2020, 9, 30)),
    (PeriodType.SNAPSHOT_30_SEPTEMBER, dt.date(2020, 9, 30), dt.date(2020, 3, 31)),
    (PeriodType.YEAR_TO_30_SEPTEMBER, dt.date(2020, 9, 30), dt.date(2020, 10, 31)),
    (PeriodType.MONTH, dt.date(2024, 2, 29), dt.date(2023, 2, 27)),
    (PeriodType.QUARTER, dt.date(2024, 6, 30), dt.date(2024, 5, 31)),
])
def test_is_period_end(period_type, good, bad):
    assert is_period_end(period_type, good)
    assert not is_period_end(period_type, bad)


def test_shipped_registry_change_points_are_documented(registry):
    """A real metric's change point must be one its notes or methodology explain (no invented history)."""
    for m in registry.metrics:
        for cp in m.spc.change_points:
            assert cp.reason and str(cp.period.year) in (m.notes + m.methodology + cp.reason), m.id


# --------------------------------------------------------------------------- the helper


def test_metric_options_lays_change_points_on_the_series(rebased):
    m = rebased.metric("cp_rate_31mar")
    years = [dt.date(y, 3, 31) for y in range(2014, 2025)]
    o = metric_options(m, years)
    assert o.fix_after is None
    assert [(r.period, r.recorded, r.reason) for r in o.rebases] == [(CHANGE, CHANGE, REASON)]
    assert o.kwargs() == {"fix_after": None, "rebase_at": [CHANGE]}
    # the change point's own period missing from the series: the rebase falls on the next period
    gap = [y for y in years if y != CHANGE]
    assert [r.period for r in metric_options(m, gap).rebases] == [dt.date(2021, 3, 31)]
    # pandas timestamps (as some frames hold periods) are matched by date, and handed back as given
    stamps = [pd.Timestamp(y) for y in years]
    assert metric_options(m, stamps).rebases[0].period is stamps[years.index(CHANGE)]
    # on or before the first period, or after the last: no new limit group, nothing to say
    assert metric_options(m, years[years.index(CHANGE):]).rebases == ()
    assert metric_options(m, years[:years.index(CHANGE)]).rebases == ()
    assert metric_options(m, []).rebases == ()


def test_metric_options_gives_fix_after_and_no_options_without_the_field(registry):
    m = registry_with("rereferral_pct", {"fix_after": 12}).metric("rereferral_pct")
    assert metric_options(m, [dt.date(2020, 3, 31)]).kwargs() == {"fix_after": 12, "rebase_at": []}
    assert metric_options(registry.metric("rereferral_pct"), [dt.date(2020, 3, 31)]).kwargs() == \
        {"fix_after": None, "rebase_at": []}


def test_the_options_change_the_engines_result(rebased):
    m = rebased.metric("cp_rate_31mar")
    years = [dt.date(y, 3, 31) for y in range(2010, 2024)]
    values = [10, 11, 9, 10, 11, 9, 10, 11, 9, 10, 30, 31, 29, 30]
    plain = spc(values, years, direction=m.polarity.value)
    rebased_result = spc(values, years, direction=m.polarity.value, **metric_options(m, years).kwargs())
    assert len(plain.groups) == 1 and len(rebased_result.groups) == 2
    assert rebased_result.groups[1].start_period == CHANGE


# --------------------------------------------------------------------------- the screens


def _headline_expected(ctx, metric, row, rebase_at):
    rows = ctx.rows(metric.id)
    s = cell_series(rows, row.agency, row.breakdown, row.breakdown_value).sort_values("period_end")
    vals = [None if (st or v != v) else float(v) for v, st in zip(s["value"], s["status"].fillna(""))]
    return spc(vals, list(s["period_end"]), direction=metric.polarity.value, target=row.target,
               rebase_at=rebase_at)


def test_scorecard_icons_and_grid_follow_the_registry_change_point(manager, snap, rebased):
    from dashboard.spc_view import spc_grid

    plain_ctx = make_context(snap, manager.registry, ViewState(la="883"), manager.settings.la_code)
    ctx = make_context(snap, rebased, ViewState(la="883"), manager.settings.la_code)
    plain = next(r for r in scorecard(plain_ctx) if r.metric_id == "cp_rate_31mar")
    row = next(r for r in scorecard(ctx) if r.metric_id == "cp_rate_31mar")
    metric = rebased.metric("cp_rate_31mar")
    expected = _headline_expected(ctx, metric, row, [CHANGE])
    before = _headline_expected(ctx, metric, plain, [])
    assert plain.spc_variation == before.variation.key
    assert row.spc_variation == expected.variation.key
    assert row.spc_variation != plain.spc_variation  # the change point changed the icon
    assert row.spc_trial == expected.trial
    grid = {e.metric_id: e for e in spc_grid(ctx).entries}
    assert grid["cp_rate_31mar"].variation == expected.variation.key
    # the plain registry's cached scorecard is not handed back for the rebased one, nor the other way
    assert next(r for r in scorecard(plain_ctx) if r.metric_id == "cp_rate_31mar").spc_variation == \
        plain.spc_variation


def _text(node) -> str:
    if node is None:
        return ""
    if isinstance(node, (str, int, float)):
        return str(node)
    if isinstance(node, (list, tuple)):
        return " ".join(_text(n) for n in node)
    return _text(getattr(node, "children", None))


def test_metric_page_says_where_and_why_the_limits_were_recalculated(manager, snap, rebased):
    from dashboard.pages.metric import spc_section
    from dashboard.spc_view import metric_spc
    from dashboard.views import metric_view

    ctx = make_context(snap, rebased, ViewState(la="883"), manager.settings.la_code)
    metric = rebased.metric("cp_rate_31mar")
    sv = metric_spc(ctx, metric)
    assert len(sv.result.groups) == 2 and sv.result.groups[1].start_period == CHANGE
    sentence = f"Limits recalculated from 31 Mar 2020: {REASON}."
    assert any(t.startswith(sentence) for t in sv.summary), sv.summary
    page = _text(spc_section(ctx, metric_view(ctx, metric)))
    assert sentence in page
    plain = make_context(snap, manager.registry, ViewState(la="883"), manager.settings.la_code)
    assert not any("recalculated" in t for t in metric_spc(plain, manager.registry.metric("cp_rate_31mar")).summary)


def test_metric_page_says_where_the_limits_were_fixed(manager, snap):
    from dashboard.spc_view import metric_spc

    reg = registry_with("cp_rate_31mar", {"fix_after": 12})
    ctx = make_context(snap, reg, ViewState(la="883"), manager.settings.la_code)
    sv = metric_spc(ctx, reg.metric("cp_rate_31mar"))
    g = sv.result.groups[0]
    assert len(sv.result.points) > 12 and g.fixed and g.n_baseline == 12
    first, twelfth = sv.result.points[0].period, sv.result.points[11].period
    assert f"Limits fixed on the first 12 points ({sv.labels[first]} to {sv.labels[twelfth]}); later points are " \
           "judged against them." in sv.summary


def test_meeting_concerns_follow_the_registry_change_point(obs):
    from dashboard.meeting_view import _concerns

    years = [dt.date(y, 3, 31) for y in range(2010, 2024)]
    values = [20, 21, 19, 20, 21, 19, 20, 30, 31, 29, 30, 31, 29, 30]
    frame = obs(*[dict(metric_id="rereferral_pct", period_end=e, period_label=str(e.year), value=v)
                  for e, v in zip(years, values)])
    plain = registry_with("rereferral_pct", {}).metric("rereferral_pct")
    changed = registry_with("rereferral_pct", {"change_points": [
        {"period": "2017-03-31", "reason": REASON}]}).metric("rereferral_pct")
    assert _concerns(plain, frame)  # lower is better: the 7 higher years are a shift, a concern
    assert _concerns(changed, frame) == set()  # within the new limits they are common cause


# --------------------------------------------------------------------------- the command line


@pytest.fixture
def cli_rebased(built_db, monkeypatch, rebased):
    import dashboard.data

    monkeypatch.setenv("DATABASE_URL", built_db.database_url)
    monkeypatch.setenv("DASHBOARD_INSTANCE_DIR", str(built_db.instance_dir))
    for name in ("DASHBOARD_DATA_DIR", "DASHBOARD_LA", "REDIS_URL", "DASHBOARD_FRAMEWORK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(dashboard.data, "_manager", None)
    monkeypatch.setattr(dashboard.data.DataManager, "registry", property(lambda self: rebased))
    return rebased


def test_cli_for_a_metric_honours_the_registry_change_points(cli_rebased, capsys, manager, snap):
    from dashboard import cli

    code = cli.main(["spc", "--la", "883", "--metric", "cp_rate_31mar", "--format", "json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    d = json.loads(out.out)
    assert [g["start_period"] for g in d["limit_groups"]][1:] == ["2020-03-31"]
    assert d["change_points"] == [{"period": "2020-03-31", "reason": REASON, "rebased_at": "2020-03-31"}]
    ctx = make_context(snap, cli_rebased, ViewState(la="883"), manager.settings.la_code)
    row = next(r for r in scorecard(ctx) if r.metric_id == "cp_rate_31mar")
    assert d["variation"] == _headline_expected(ctx, cli_rebased.metric("cp_rate_31mar"), row, [CHANGE]).variation.key

    code = cli.main(["spc", "--la", "883", "--metric", "cp_rate_31mar"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert f"Limits recalculated from 31 Mar 2020: {REASON}." in out.out


def test_limits_words_for_a_stretch_too_short_to_fix(rebased):
    from dashboard.spc_view import limits_words

    reg = registry_with("cp_rate_31mar", {"fix_after": 12, "change_points": [{"period": "2020-03-31",
                                                                            "reason": REASON}]})
    m = reg.metric("cp_rate_31mar")
    years = [dt.date(y, 3, 31) for y in range(2006, 2024)]  # 14 points before the change, 4 after
    values = [10, 11, 9, 10, 11, 9, 10, 11, 9, 10, 11, 9, 10, 11, 30, 31, 29, 30]
    options = metric_options(m, years)
    result = spc(values, years, direction=m.polarity.value, **options.kwargs())
    labels = {y: str(y.year) for y in years}
    words = limits_words(m, result, labels, options)
    assert words[0].startswith(f"Limits recalculated from 2020: {REASON}.")
    assert "Limits fixed on the first 12 points of the stretch from 2006 (2006 to 2017)" in words[1]
    assert words[2] == "Limits are fixed after 12 points; the stretch from 2020 has 4, so its limits use every point."

    gap = [y for y in years if y.year != 2020]
    vals = [v for y, v in zip(years, values) if y.year != 2020]
    options = metric_options(m, gap)
    result = spc(vals, gap, direction=m.polarity.value, **options.kwargs())
    words = limits_words(m, result, labels, options)
    assert words[0].startswith(f"Limits recalculated from 2021: {REASON} (the change is recorded at 31 Mar 2020; "
                               "2021 is the first value after it).")
