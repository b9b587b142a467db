"""Benchmarks, compare, search and category views over the session database (dashboard.views)."""
from __future__ import annotations

import csv
import io

import pytest

from dashboard import views
from dashboard.analysis import benchmark
from dashboard.state import parse_query

THURROCK = "E06000034"


def ctx_for(snap, registry, search="", **kw):
    return views.make_context(snap, registry, parse_query(search), "883", **kw)


def test_scorecard_rows_carry_rank_and_band_by_laits_rule(snap, registry):
    ctx = ctx_for(snap, registry)
    rows = {r.metric_id: r for r in views.scorecard(ctx, all_metrics=True)}
    r = rows["icpc_15_days_pct"]
    metric = registry.metric("icpc_15_days_pct")
    # the pool recomputed independently: every LA's published (else our) figure for that period, no status
    f = snap.frame
    period = f[(f["metric_id"] == metric.id) & (f["period_end"] == r.period_end) & (f["breakdown"] == "")
               & (f["agency"] == "")]
    las = set(snap.areas.loc[snap.areas["level"] == "la", "code"])
    pool = {}
    for rec in period.to_dict("records"):
        if rec["area_code"] in las and not rec["status"]:
            v = rec["published_value"] if rec["published_value"] == rec["published_value"] else rec["value"]
            pool[rec["area_code"]] = v
    own = pool[THURROCK]
    assert r.rank == 1 + sum(v > own for v in pool.values())  # higher is better
    assert r.rank_of == len(pool)
    assert r.quartile_band == benchmark.quartile_band(own, benchmark.quartiles(pool), "higher_better")
    assert r.quartile_band in "ABCD"
    rec = r.as_record()
    assert (rec["rank"], rec["rank_of"], rec["quartile_band"]) == (r.rank, r.rank_of, r.quartile_band)
    assert rec["vs_england"] in ("better", "worse", "same")


def test_neutral_and_local_metrics_are_not_ranked_and_say_why(snap, registry):
    rows = {r.metric_id: r for r in views.scorecard(ctx_for(snap, registry), all_metrics=True)}
    neutral, local = rows["cp_rate_31mar"], rows["sickness_days_local"]
    assert neutral.rank is None and neutral.quartile_band is None and "neutral" in neutral.benchmark_note
    assert local.rank is None and local.quartile_band is None and "local measure" in local.benchmark_note
    # a neutral metric still gets its position, in neutral words
    assert neutral.vs_england in ("higher", "lower", "same")


def test_inspectors_benchmarks_come_from_the_suppressed_data(snap, registry):
    staff = ctx_for(snap, registry, "?la=201")
    ext = ctx_for(snap, registry, "?la=201", external=True)
    assert ext.snap.suppressed and not staff.snap.suppressed
    metric = registry.metric("cp_subsequent_pct")
    row = views.metric_view(staff, metric).row
    cell = (row.agency, row.breakdown, row.breakdown_value)
    s_rows = views.period_rows(staff.snap, metric.id, row.period_end, cell)
    e_rows = views.period_rows(ext.snap, metric.id, row.period_end, cell)
    assert s_rows is not e_rows
    pool_e = benchmark.national_pool(e_rows, set(snap.areas.loc[snap.areas["level"] == "la", "code"]))
    # whatever a suppressed cell was, it is out of the inspector's pool
    withheld = set(e_rows.loc[e_rows["status"] == "c", "area_code"])
    assert not withheld & set(pool_e)


def test_comparison_view_marks_this_authority_its_region_and_neighbours(snap, registry):
    ctx = ctx_for(snap, registry)
    cv = views.comparison_view(ctx, registry.metric("assessments_45_days_pct"))
    pts = cv.points.set_index("code")
    assert pts.loc[THURROCK, "group"] == views.GROUP_THIS
    assert set(pts.index[pts["group"] == views.GROUP_NEIGHBOUR]) == set(ctx.neighbours) & set(pts.index)
    region = pts.index[pts["group"] == f"{ctx.region['name']} authorities"]
    assert len(region) > 0 and all(snap.area(c)["region_code"] == ctx.region["code"] for c in region)
    assert pts.loc[THURROCK, "rank"] == cv.row.rank
    assert cv.summary.startswith(f"Thurrock ranks {views.ordinal(cv.row.rank)} of {cv.row.rank_of}")
    names = {t["name"] for t in cv.figure["data"]}
    assert {"All authorities", "This authority", "Statistical neighbours"} <= names


@pytest.mark.parametrize("n, want", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"),
                                     (13, "13th"), (21, "21st"), (102, "102nd"), (111, "111th")])
def test_ordinal(n, want):
    assert views.ordinal(n) == want


def test_compare_defaults_to_this_authority_and_its_neighbours(snap, registry):
    ctx = ctx_for(snap, registry)
    codes, left_out, default = views.compare_codes(ctx)
    assert default and not left_out
    assert codes == [THURROCK] + ctx.neighbours[:14]


def test_compare_takes_the_chosen_set_and_leaves_out_what_it_cannot_show(snap, registry):
    ctx = ctx_for(snap, registry, "?with=882,E06000019,883,999")
    codes, left_out, default = views.compare_codes(ctx)
    assert not default
    assert codes == [THURROCK, "E06000033", "E06000019"]  # 883 is this authority, once
    assert left_out == ["999"]


def test_compare_outside_an_inspectors_scope_is_left_out(snap, registry):
    ctx = ctx_for(snap, registry, "?with=882,884", external=True, allowed_las={"883", THURROCK})
    codes, left_out, _ = views.compare_codes(ctx)
    assert codes == [THURROCK]
    assert left_out == ["882", "884"]
    view = views.compare_view(ctx, registry.metric("cp_rate_31mar"))
    assert set(view.data["code"]) == {THURROCK}
    text = views.compare_csv(ctx, registry.metric("cp_rate_31mar"))
    assert "Southend" not in text and "Herefordshire" not in text


def test_compare_csv_is_the_view(snap, registry):
    ctx = ctx_for(snap, registry, "?with=882")
    metric = registry.metric("cp_rate_31mar")
    rows = list(csv.DictReader(io.StringIO(views.compare_csv(ctx, metric))))
    view = views.compare_view(ctx, metric)
    assert len(rows) == len(view.data)
    assert {r["area_code"] for r in rows} == {THURROCK, "E06000033"}
    assert all(r["metric"].endswith("(cp_rate_31mar)") for r in rows)


def test_search_by_id_title_and_definition_words(registry):
    assert views.search_metrics(registry, "cp_rate_31mar")[0].id == "cp_rate_31mar"
    ids = [m.id for m in views.search_metrics(registry, "dental")]
    assert ids == ["lac_dental_checks_pct"]
    # words in any order, case ignored, all required
    both = {m.id for m in views.search_metrics(registry, "PLANS two years")}
    assert {"cp_2yrs_31mar_pct", "cp_2yrs_ceased_pct"} <= both
    assert views.search_metrics(registry, "no such words zzz") == []
    assert views.search_metrics(registry, "") == []
    # definition-only matches come after title matches
    found = views.search_metrics(registry, "neglect")
    title_hits = [m for m in found if "neglect" in m.title.lower()]
    assert found[:len(title_hits)] == title_hits


def test_category_view_has_every_year_and_the_comparators(snap, registry):
    ctx = ctx_for(snap, registry, "?cmp=england,region,sn")
    view = views.category_view(ctx, registry.metric("cp_by_category"), "category_of_abuse")
    thurrock = view.data[view.data["series"] == "Thurrock"]
    years = sorted({p.year for p in thurrock["period_end"]})
    assert years[0] <= 2013 and years[-1] >= 2022
    assert {"England", "East of England", "Statistical neighbours, median"} <= set(view.data["series"])
    assert [label for _, label in view.categories][:1] == ["Neglect"]
    # counts get no comparators
    counts = views.category_view(ctx, registry.metric("cp_category_31mar"), "category_of_abuse")
    assert set(counts.data["series"]) == {"Thurrock"}


def test_the_framework_setting_changes_what_the_overview_shows(snap, registry):
    from dashboard.pages import overview
    from tests.helpers import walk

    import json

    from plotly.utils import PlotlyJSONEncoder

    def row_ids(ctx):
        tree = json.loads(json.dumps(overview.layout(ctx), cls=PlotlyJSONEncoder))
        return [c["props"]["id"].removeprefix("row-") for c in walk(tree)
                if c.get("type") == "Tr" and str(c["props"].get("id", "")).startswith("row-")]

    default = row_ids(ctx_for(snap, registry))
    lait = row_ids(ctx_for(snap, registry, framework="lait_timeliness"))
    fw = registry.framework("lait_timeliness").metrics
    assert default == registry.framework().metrics
    # grouped by topic, in the framework's order within each topic
    topics = [t.id for t in registry.topics]
    assert lait == sorted(fw, key=lambda m: topics.index(registry.metric(m).topic))
    assert set(default) != set(lait)
