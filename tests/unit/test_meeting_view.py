"""The exceptions view of a meeting: reasons checked against the scorecard and SPC, worst first."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd

from dashboard import meeting_view as mv
from dashboard import views
from dashboard.analysis.rag import RagStatus
from dashboard.meetings import ActionRecord, MeetingRecord
from dashboard.state import parse_query

NOW = dt.datetime(2026, 1, 1)
EARLIER = MeetingRecord(1, dt.date(2019, 6, 30), "June 2019 panel", "a", NOW)
LATER = MeetingRecord(2, dt.date(2024, 6, 30), "June 2024 panel", "a", NOW)
RANK = {RagStatus.GREEN: 0, RagStatus.AMBER: 1, RagStatus.RED: 2}


def ctx_for(snap, registry, search="?la=883", external=False):
    return views.make_context(snap, registry, parse_query(search), "883", external=external)


def reasons_of(view) -> dict[str, set[str]]:
    return {it.metric_id: {r.kind for r in it.reasons} for it in view.items}


def test_rag_worsened_is_exactly_the_scorecard_getting_worse(snap, registry):
    ctx = ctx_for(snap, registry)
    view = mv.exceptions(ctx, LATER, EARLIER, mv.PanelNotes())
    then = {r.metric_id: r.rag.status for r in views.scorecard(replace(ctx, state=ctx.state.with_(as_of=EARLIER.date)))}
    now = {r.metric_id: r.rag.status for r in views.scorecard(replace(ctx, state=ctx.state.with_(as_of=LATER.date)))}
    worse = {m for m in now if now[m] in RANK and then.get(m) in RANK and RANK[now[m]] > RANK[then[m]]}
    assert worse, "the data should have some metric worse in 2024 than in 2019"
    got = {m for m, kinds in reasons_of(view).items() if mv.RAG_WORSE in kinds}
    assert got == worse


def test_items_are_worst_first_and_link_to_the_chart(snap, registry):
    view = mv.exceptions(ctx_for(snap, registry, "?la=882"), LATER, EARLIER, mv.PanelNotes())
    assert view.items
    worst = [it.worst for it in view.items]
    assert worst == sorted(worst)
    for it in view.items:
        assert it.href == f"/metric/{it.metric_id}?la=882"
        assert [r.kind for r in it.reasons] == sorted((r.kind for r in it.reasons), key=mv.REASON_ORDER.index)


def test_new_data_is_a_newer_period_or_an_import_since_the_last_meeting(snap, registry):
    ctx = ctx_for(snap, registry)
    view = mv.exceptions(ctx, LATER, EARLIER, mv.PanelNotes())
    assert mv.NEW_DATA in reasons_of(view)["cp_rate_31mar"]
    same_day = replace(LATER, id=3)  # nothing newer between two meetings on the same data
    quiet = mv.exceptions(ctx, same_day, LATER, mv.PanelNotes())
    assert not any(mv.NEW_DATA in k or mv.RAG_WORSE in k for k in reasons_of(quiet).values())
    loaded = mv.exceptions(ctx, same_day, LATER, mv.PanelNotes(),
                           imported_since={"cp_rate_31mar": "data version 9 (return.csv, 2024-06-01)"})
    item = next(it for it in loaded.items if it.metric_id == "cp_rate_31mar")
    assert [r.text for r in item.reasons if r.kind == mv.NEW_DATA] == [
        "Figures loaded since the previous meeting: data version 9 (return.csv, 2024-06-01)"]


def test_first_meeting_has_nothing_to_compare_with(snap, registry):
    view = mv.exceptions(ctx_for(snap, registry), LATER, None, mv.PanelNotes())
    kinds = set().union(*reasons_of(view).values())
    assert kinds and not kinds & {mv.RAG_WORSE, mv.NEW_DATA}


def test_target_missed_three_periods_running(snap, registry):
    ctx = ctx_for(snap, registry)
    view = mv.exceptions(ctx, LATER, None, mv.PanelNotes())
    missed = {m for m, kinds in reasons_of(view).items() if mv.MISSED in kinds}
    for m in missed:  # each: the last three periods up to the meeting were Amber or Red
        metric = registry.metric(m)
        rows = [r for r in views.scorecard(replace(ctx, state=ctx.state.with_(as_of=LATER.date)))
                if r.metric_id == m]
        assert rows[0].rag.status in (RagStatus.AMBER, RagStatus.RED), metric.id
    assert "lac_placed_20_miles" in missed


def test_inspectors_get_no_data_quality_warnings(snap, registry):
    staff = mv.exceptions(ctx_for(snap, registry), LATER, EARLIER, mv.PanelNotes())
    external = mv.exceptions(ctx_for(snap, registry, external=True), LATER, EARLIER, mv.PanelNotes())
    assert any(mv.QUALITY in k for k in reasons_of(staff).values())
    assert not any(mv.QUALITY in k for k in reasons_of(external).values())


def test_a_new_special_cause_concern(registry):
    metric = next(m for m in registry.metrics if m.polarity.value == "higher_better")
    periods = [dt.date(2010 + i, 3, 31) for i in range(15)]
    values = [50, 52, 49, 51, 50, 48, 52, 50, 51, 49, 50, 52, 51, 50, 20]  # a fall far below the lower limit
    series = pd.DataFrame({"period_end": periods, "value": values, "status": "", "agency": "",
                           "period_label": [str(p) for p in periods]})
    assert mv._concerns(metric, series) == {periods[-1]}
    assert mv._concerns(metric, series.iloc[:-1]) == set()


def test_overdue_words():
    a = ActionRecord(1, "x", "Police", dt.date(2026, 1, 10), "open", "m", "E1", 1, "a", NOW, "a", NOW)
    assert mv.overdue_text(a, dt.date(2026, 1, 10)) == ""
    assert mv.overdue_text(a, dt.date(2026, 1, 12)) == "Overdue: due 2026-01-10, 2 days ago"
    assert mv.overdue_text(replace(a, status="done"), dt.date(2027, 1, 1)) == ""


def test_notes_pick_the_metric():
    a = ActionRecord(1, "x", "Police", dt.date(2026, 1, 10), "open", "m1", "E1", 1, "a", NOW, "a", NOW)
    b = replace(a, id=2, metric_id="m2", status="done")
    notes = mv.PanelNotes(actions=(a, b))
    assert notes.open_actions_for("m1") == (a,) and notes.open_actions_for("m2") == ()
    assert notes.actions_for("m2") == (b,)
