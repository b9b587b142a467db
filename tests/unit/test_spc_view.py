"""The SPC screens' view logic (dashboard/spc_view.py, views.series_spc and views.with_spc).

Expected values are computed here with dashboard.analysis.spc straight from the snapshot's rows
(the engine has its own tests in test_spc.py), never read back from the view under test.
"""
from __future__ import annotations

import datetime as dt

import pytest

from dashboard.analysis.series import cell_series
from dashboard.analysis.spc import spc
from dashboard.spc_view import (
    ASSURANCE_ICONS, GRID_COLUMNS, GRID_ROWS, POINT_STYLES, TRIAL_LABEL, VARIATION_ICONS, assurance_icon, grid_column,
    grid_row, metric_spc, spc_grid, spc_json, variation_icon,
)
from dashboard.state import ViewState
from dashboard.views import make_context, scorecard, series_spc

CITY_OF_LONDON = "201"  # the smallest authority: many of its counts are suppressed


def _ctx(manager, snap, la=None, external=False, as_of=None):
    return make_context(snap, manager.registry, ViewState(la=la, as_of=as_of), manager.settings.la_code,
                        external=external)


def _expected(metric, rows, cell, target):
    s = cell_series(rows, *cell).sort_values("period_end")
    vals = [None if (st or v != v) else float(v) for v, st in zip(s["value"], s["status"].fillna(""))]
    if sum(v is not None for v in vals) < 2:
        return None
    return spc(vals, list(s["period_end"]), direction=metric.polarity.value, target=target)


# --------------------------------------------------------------------------- icons: word and shape


def test_every_icon_has_a_shape_and_words():
    for key, (shape, words) in VARIATION_ICONS.items():
        assert shape.strip() and words.strip() and shape not in words, key
    assert set(VARIATION_ICONS) == {"common_cause", "improvement_high", "improvement_low", "concern_high",
                                    "concern_low", "neither_high", "neither_low"}
    assert set(ASSURANCE_ICONS) == {"pass", "fail", "hit_or_miss"}
    assert variation_icon(None)[1] == "No SPC"
    # the point classes are told apart by marker shape, not only colour
    assert len({s for s, _, _ in POINT_STYLES.values()}) == len(POINT_STYLES)


def test_assurance_without_a_key_says_why(registry):
    assert assurance_icon(None, registry.metric("cp_rate_31mar"))[1] == "Not applicable (neutral)"
    assert assurance_icon(None, registry.metric("rereferral_pct"))[1] == "No target"
    assert assurance_icon(None, registry.metric("rereferral_pct"), has_spc=False)[1] == "No SPC"
    assert assurance_icon("pass") == ("✓", "Pass")


@pytest.mark.parametrize("variation,row", [
    ("common_cause", "common_cause"), ("improvement_high", "improvement"), ("improvement_low", "improvement"),
    ("concern_high", "concern"), ("concern_low", "concern"), ("neither_high", "none"), ("neither_low", "none"),
    (None, "none"),
])
def test_grid_row(variation, row):
    assert grid_row(variation) == row


@pytest.mark.parametrize("assurance,column", [("pass", "pass"), ("fail", "fail"), ("hit_or_miss", "hit_or_miss"),
                                              (None, "none")])
def test_grid_column(assurance, column):
    assert grid_column(assurance) == column


# --------------------------------------------------------------------------- series_spc


def test_series_spc_skips_suppressed_and_missing_values(obs, registry):
    metric = registry.metric("rereferral_pct")
    ends = [dt.date(2010 + i, 3, 31) for i in range(6)]
    frame = obs(*[dict(metric_id=metric.id, period_end=e, period_label=str(e.year), value=v, status=st)
                  for e, v, st in zip(ends, [20, 21, 999, 22, None, 23], ["", "", "c", "", "", ""])])
    res = series_spc(metric, frame, 25.0)
    assert [p.period for p in res.points] == [ends[0], ends[1], ends[3], ends[5]]
    assert 999 not in [p.value for p in res.points]  # a suppressed cell's value is never read
    assert res.direction == "decrease" and res.target == 25.0
    assert series_spc(metric, frame.iloc[:1], None) is None  # one value: no SPC
    assert series_spc(metric, frame.iloc[0:0], None) is None


# --------------------------------------------------------------------------- the scorecard


def test_scorecard_rows_carry_the_spc_of_their_cell(manager, snap):
    ctx = _ctx(manager, snap)
    rows = scorecard(ctx)
    with_spc = 0
    for r in rows:
        metric = manager.registry.metric(r.metric_id)
        exp = _expected(metric, ctx.rows(r.metric_id), (r.agency, r.breakdown, r.breakdown_value), r.target)
        if exp is None:
            assert r.spc_variation is None and r.spc_assurance is None and r.spc_note, r.metric_id
            continue
        with_spc += 1
        assert r.spc_variation == exp.variation.key, r.metric_id
        assert r.spc_assurance == (exp.assurance.key if exp.assurance else None), r.metric_id
        assert r.spc_trial == exp.trial, r.metric_id
        rec = r.as_record()
        assert (rec["spc_variation"], rec["spc_assurance"], rec["spc_trial"]) == (
            r.spc_variation, r.spc_assurance, r.spc_trial)
    assert with_spc >= len(rows) // 2


def test_external_spc_never_reads_a_suppressed_value(manager, snap):
    """An inspector's SPC is computed from the suppressed data: no suppressed period is a point."""
    ctx = _ctx(manager, snap, la=CITY_OF_LONDON, external=True)
    suppressed_seen = 0
    for metric in ctx.registry.metrics:
        view = metric_spc(ctx, metric)
        if view.result is None:
            continue
        s = cell_series(ctx.rows(metric.id), *view.cell)
        hidden = set(s.loc[s["status"].fillna("") != "", "period_end"])
        suppressed_seen += len(hidden)
        assert not hidden & {p.period for p in view.result.points}, metric.id
    assert suppressed_seen > 0, "the City of London should have suppressed values in some SPC series"


# --------------------------------------------------------------------------- the metric page's panel


def test_metric_spc_figure_table_and_summary(manager, snap):
    ctx = _ctx(manager, snap)
    metric = manager.registry.metric("cp_rate_31mar")
    view = metric_spc(ctx, metric)
    exp = _expected(metric, ctx.rows(metric.id), view.cell, view.target)
    res = view.result
    assert [p.point_type for p in res.points] == [p.point_type for p in exp.points]
    assert res.last_group.mean == pytest.approx(exp.last_group.mean)
    # every point is drawn once, in a trace named in words, marked by the class's shape
    marked = [t for t in view.figure["data"] if t.get("mode") == "markers"]
    assert sum(len(t["y"]) for t in marked) == len(exp.points)
    for t in marked:
        style = next(s for s in POINT_STYLES.values() if s[2] == t["name"])
        assert t["marker"]["symbol"] == style[0]
    names = {t["name"] for t in view.figure["data"]}
    assert "Centre line (mean)" in names
    assert ("Process limits" in names) != (TRIAL_LABEL in names)
    # the table says the same in words, one row per point
    assert len(view.table) == len(exp.points)
    assert list(view.table["period_end"]) == [p.period for p in exp.points]
    text = " ".join(view.summary)
    assert variation_icon(exp.variation.key)[1] in text
    assert "Assurance" in text


def test_trial_limits_are_labelled(manager, snap):
    """A series of fewer than 12 values has trial limits, and the chart and table say so."""
    ctx = _ctx(manager, snap)
    for metric in ctx.registry.metrics:
        view = metric_spc(ctx, metric)
        if view.result is not None and all(g.trial for g in view.result.groups) \
                and view.result.last_group.lower_limit is not None:
            break
    else:
        pytest.fail("no metric with trial limits")
    names = {t["name"] for t in view.figure["data"]}
    assert TRIAL_LABEL in names and "Process limits" not in names
    assert TRIAL_LABEL in view.figure["layout"]["title"]["text"]
    assert set(view.table["limits"]) == {TRIAL_LABEL}
    assert TRIAL_LABEL == "Trial limits (fewer than 12 points)"


# --------------------------------------------------------------------------- the summary grid


def test_grid_places_each_scorecard_metric_once(manager, snap):
    ctx = _ctx(manager, snap)
    grid = spc_grid(ctx)
    rows = scorecard(ctx)
    assert set(grid.cells) == {(r, c) for r, _ in GRID_ROWS for c, _ in GRID_COLUMNS}
    placed = [e.metric_id for entries in grid.cells.values() for e in entries]
    assert sorted(placed) == sorted(r.metric_id for r in rows)
    for r in rows:
        (cell,) = [k for k, v in grid.cells.items() if r.metric_id in [e.metric_id for e in v]]
        assert cell == (grid_row(r.spc_variation), grid_column(r.spc_assurance)), r.metric_id


def test_grid_follows_the_authority_and_date(manager, snap):
    leeds = spc_grid(_ctx(manager, snap, la="383"))
    early = spc_grid(_ctx(manager, snap, as_of=dt.date(2019, 3, 31)))
    now = spc_grid(_ctx(manager, snap))
    assert [e.metric_id for e in leeds.entries] == [e.metric_id for e in now.entries]
    assert [(e.variation, e.assurance) for e in early.entries] != [(e.variation, e.assurance) for e in now.entries]


def test_spc_json_shape():
    res = spc([1, 3, 2, 4, 3, 5], [f"p{i}" for i in range(6)], direction="increase", target=10)
    d = spc_json(res)
    for key in ("mean", "lower_limit", "upper_limit", "near_lower", "near_upper", "variation", "assurance",
                "points", "limit_groups"):
        assert key in d, key
    assert "groups" not in d
    assert set(d["points"][0]) >= {"period", "value", "point_type", "rule"}
    assert len(d["limit_groups"]) == 1 and d["limit_groups"][0]["trial"] is True


def test_published_view_draws_no_small_line_on_a_count(manager, snap):
    """An inspector's SPC chart of a count of children shows no centre line or limit of 1 to 5."""
    from dashboard.registry import Unit
    from dashboard.spc_view import small_lines

    ctx = _ctx(manager, snap, la=CITY_OF_LONDON, external=True)
    staff = _ctx(manager, snap, la=CITY_OF_LONDON)
    withheld = 0
    for metric in ctx.registry.metrics:
        view = metric_spc(ctx, metric)
        if view.result is None:
            continue
        governed = metric.unit is Unit.COUNT and metric.suppression.rule == "small_numbers"
        if governed and small_lines(view.result):
            withheld += 1
            assert view.withheld and view.figure == {} and view.table.empty, metric.id
            assert not any(t.startswith("Centre line") for t in view.summary), metric.id
            assert metric_spc(staff, staff.registry.metric(metric.id)).figure, metric.id  # staff see the chart
        else:
            assert not view.withheld, metric.id
    assert withheld, "expected a City of London count whose SPC lines are small"
