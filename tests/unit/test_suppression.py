"""Small-number suppression for external viewers: primary, linked, secondary, and what stays.

Hand-made frames are checked against a small registry written here, so that each rule is
tested on its own; the shipped registry and the real data are checked at the end.
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.analysis.suppression import (
    SUPPRESSED_NOTE,
    count_of_rate,
    headline_cells,
    suppress_for_external,
)
from dashboard.registry import Registry, Unit

THURROCK = "E06000034"
ESSEX = "E10000012"
P2017 = dt.date(2017, 3, 31)
FIGURES = ["value", "numerator", "denominator", "published_value"]
COLUMNS = [
    "metric_id", "area_code", "period_end", "period_label", "agency", "breakdown", "breakdown_value", "value",
    "numerator", "denominator", "published_value", "status", "illustrative", "note", "source_key", "source_kind",
    "source_title",
]
NAN = float("nan")
SIX = ["a", "b", "c", "d", "e", "f"]

# --------------------------------------------------------------------------- a registry for the hand-made frames


def _metric(mid: str, unit: str, rule: str = "small_numbers", breakdowns: tuple[str, ...] = (), **extra) -> dict:
    suppression = {"rule": rule} | extra.pop("suppression", {})
    if rule == "small_numbers" and unit == "rate_per_10000":
        suppression.setdefault("count_metric", None)
    if rule == "small_numbers" and unit == "percent" and breakdowns and "training_level" not in breakdowns:
        suppression.setdefault("total_metric", None)
    return dict(
        id=mid, title=mid, short_title=mid[:30], topic="t", definition="d", methodology="m", unit=unit,
        decimals=1, polarity="neutral", period_type="snapshot_31_march", source="s",
        breakdowns=list(breakdowns), suppression=suppression, **extra,
    )


TEST_REGISTRY = Registry.model_validate(
    dict(
        version=1,
        topics=[dict(id="t", title="T")],
        breakdowns={
            "category_of_abuse": dict(title="Category", values={k: k for k in ["NEG", "EMO", "PHY", "SAB", "MUL"]}),
            "placement_location": dict(
                title="Placement",
                values={k: k for k in ["inside_lt20", "inside_gt20", "outside_lt20", "outside_gt20", "not_known"]},
            ),
            "training_level": dict(title="Level", values={"L1": "L1", "L2": "L2", "L3": "L3"}, partition=False),
            "six": dict(title="Six", values={k: k for k in SIX}),
        },
        metrics=[
            _metric("cp_plans_31mar", "count"),
            _metric("cp_rate_31mar", "rate_per_10000", suppression={"count_metric": "cp_plans_31mar"}),
            _metric("cp_subsequent_pct", "percent"),
            _metric("cp_by_category", "percent", breakdowns=("category_of_abuse",)),
            _metric("count_by_category", "count", breakdowns=("category_of_abuse",)),
            _metric("lac_new_placements_20_miles", "percent", breakdowns=("placement_location",),
                    headline_cell={"breakdown": "placement_location", "value": "outside_gt20"}),
            _metric("level_pct", "percent", breakdowns=("training_level",)),
            _metric("training_compliance", "percent", rule="none", breakdowns=("training_level",)),
            _metric("count_by_six", "count", breakdowns=("six",)),
            _metric("share_by_six", "percent", breakdowns=("six",)),
            _metric("gender_share", "percent", breakdowns=("six",), suppression={"total_metric": "cp_plans_31mar"}),
        ],
    )
)
UNITS = {m.id: m.unit for m in TEST_REGISTRY.metrics}


def row(metric_id: str, **kw) -> dict:
    base = dict(
        metric_id=metric_id, area_code=THURROCK, period_end=P2017, period_label="2016-17", agency="", breakdown="",
        breakdown_value="", value=NAN, numerator=NAN, denominator=NAN, published_value=NAN, status="",
        illustrative=False, note="", source_key="k", source_kind="published", source_title="Published",
    )
    base.update(kw)
    return base


def frame(*rows: dict) -> pd.DataFrame:
    f = pd.DataFrame(list(rows), columns=COLUMNS)
    for c in FIGURES:
        f[c] = f[c].astype(float)
    return f


def run(f: pd.DataFrame) -> pd.DataFrame:
    return suppress_for_external(f, TEST_REGISTRY)


def is_c(out: pd.DataFrame, i: int) -> bool:
    return out.iloc[i]["status"] == "c"


def assert_suppressed(out: pd.DataFrame, i: int) -> None:
    r = out.iloc[i]
    assert r["status"] == "c", r.to_dict()
    assert all(math.isnan(r[c]) for c in FIGURES), r.to_dict()
    assert r["note"] == SUPPRESSED_NOTE


def assert_unchanged(out: pd.DataFrame, before: pd.DataFrame, i: int) -> None:
    a, b = out.iloc[i], before.iloc[i]
    for c in COLUMNS:
        same = (a[c] == b[c]) or (isinstance(a[c], float) and math.isnan(a[c]) and math.isnan(b[c]))
        assert same, (c, a[c], b[c])


def cells(metric_id: str, dim: str, counts: dict[str, float], total: float, share: bool, **kw) -> list[dict]:
    """Breakdown rows: counts in ``value`` (count metric) or as numerator over ``total`` (share)."""
    out = []
    for code, n in counts.items():
        if share:
            out.append(row(metric_id, breakdown=dim, breakdown_value=code, numerator=n, denominator=total,
                           value=100 * n / total if total else NAN, **kw))
        else:
            out.append(row(metric_id, breakdown=dim, breakdown_value=code, value=n, **kw))
    return out


# --------------------------------------------------------------------------- primary


@pytest.mark.parametrize("count, hidden", [(0, False), (1, True), (3, True), (5, True), (6, False), (294, False)])
def test_primary_count_value(count, hidden):
    f = frame(row("cp_plans_31mar", value=count, published_value=count, note=f"{count} children"))
    out = run(f)
    if hidden:
        assert_suppressed(out, 0)
    else:
        assert_unchanged(out, f, 0)


def test_rate_suppressed_through_its_numerator():
    f = frame(
        row("cp_subsequent_pct", numerator=4, denominator=200, value=2.0, published_value=2.0),
        row("cp_subsequent_pct", area_code=ESSEX, numerator=6, denominator=200, value=3.0, published_value=3.0),
    )
    out = run(f)
    assert_suppressed(out, 0)
    assert_unchanged(out, f, 1)


def test_percentage_of_a_small_denominator_is_suppressed_even_when_the_numerator_is_zero():
    f = frame(
        row("cp_subsequent_pct", numerator=0, denominator=3, value=0.0),
        row("cp_subsequent_pct", area_code=ESSEX, numerator=0, denominator=6, value=0.0),
    )
    out = run(f)
    assert_suppressed(out, 0)
    assert_unchanged(out, f, 1)


def test_zero_is_shown():
    f = frame(
        row("cp_plans_31mar", value=0),
        row("cp_subsequent_pct", numerator=0, denominator=250, value=0.0),
    )
    out = run(f)
    assert_unchanged(out, f, 0)
    assert_unchanged(out, f, 1)


def test_count_implied_by_a_percentage_without_numerator():
    # 2% of 150 is 3 children; 20% of 150 is 30
    f = frame(
        row("cp_subsequent_pct", value=2.0, denominator=150),
        row("cp_subsequent_pct", area_code=ESSEX, value=20.0, denominator=150),
    )
    out = run(f)
    assert_suppressed(out, 0)
    assert_unchanged(out, f, 1)


def test_notes_dropped_on_suppressed_rows_only():
    f = frame(
        row("cp_plans_31mar", value=4, note="4 of the 338 children"),
        row("cp_plans_31mar", area_code=ESSEX, value=203, note="203 of the 338 children"),
    )
    out = run(f)
    assert out.iloc[0]["note"] == SUPPRESSED_NOTE
    assert "4 of the" not in out.iloc[0]["note"]
    assert out.iloc[1]["note"] == "203 of the 338 children"


# --------------------------------------------------------------------------- linked count and rate


def test_rate_follows_its_count():
    # the rate row has no numerator, so only the link can hide it (4 / 41750 x 10,000 = 1.0)
    f = frame(
        row("cp_plans_31mar", value=4),
        row("cp_rate_31mar", value=1.0),
        row("cp_plans_31mar", area_code=ESSEX, value=900),
        row("cp_rate_31mar", area_code=ESSEX, value=30.1),
    )
    out = run(f)
    assert_suppressed(out, 0)
    assert_suppressed(out, 1)
    assert_unchanged(out, f, 2)
    assert_unchanged(out, f, 3)


def test_count_follows_its_rate_and_a_publisher_c():
    f = frame(
        # the rate is suppressed by its numerator; the count row shows no figure, only a note
        row("cp_plans_31mar", note="three children"),
        row("cp_rate_31mar", numerator=3, denominator=41750, value=0.7),
        # the publisher already suppressed the count: the rate must not give it away
        row("cp_plans_31mar", area_code=ESSEX, status="c", note="publisher"),
        row("cp_rate_31mar", area_code=ESSEX, value=0.2, denominator=300000),
        # another period is not linked
        row("cp_rate_31mar", area_code=ESSEX, period_end=dt.date(2018, 3, 31), value=30.0, denominator=300000),
    )
    out = run(f)
    assert_suppressed(out, 0)
    assert_suppressed(out, 1)
    assert_unchanged(out, f, 2)  # the publisher's own row keeps its note
    assert_suppressed(out, 3)
    assert_unchanged(out, f, 4)


# --------------------------------------------------------------------------- secondary


@pytest.mark.parametrize("share", [False, True])
def test_secondary_partner_is_the_next_smallest_cell(share):
    counts = {"NEG": 20, "EMO": 12, "PHY": 10, "SAB": 3}
    total = sum(counts.values())
    metric = "cp_by_category" if share else "count_by_category"
    head = [] if share else [row(metric, value=total)]
    f = frame(*head, *cells(metric, "category_of_abuse", counts, total, share))
    out = run(f)
    by_code = dict(zip(out["breakdown_value"], out["status"]))
    assert by_code["SAB"] == "c"
    assert by_code["PHY"] == "c"  # 10: the smallest cell still shown
    assert by_code["NEG"] == "" and by_code["EMO"] == ""
    if not share:
        assert_unchanged(out, f, 0)  # the total stays
    for i in range(len(f)):
        if out.iloc[i]["status"] == "c":
            assert_suppressed(out, i)
        else:
            assert_unchanged(out, f, i)


def test_secondary_prefers_a_positive_cell_to_a_zero():
    counts = {"NEG": 30, "EMO": 9, "PHY": 0, "SAB": 2}
    f = frame(row("count_by_category", value=41), *cells("count_by_category", "category_of_abuse", counts, 41, False))
    out = run(f)
    status = dict(zip(out["breakdown_value"], out["status"]))
    assert status == {"": "", "NEG": "", "EMO": "c", "PHY": "", "SAB": "c"}


def test_secondary_takes_a_zero_when_nothing_else_is_left():
    counts = {"NEG": 0, "SAB": 4}  # and EMO, not available ("x"), is the other 40 of the 44
    f = frame(row("count_by_category", value=44), *cells("count_by_category", "category_of_abuse", counts, 44, False),
              row("count_by_category", breakdown="category_of_abuse", breakdown_value="EMO", value=NAN, status="x"))
    out = run(f)
    status = dict(zip(out["breakdown_value"], out["status"]))
    assert status["SAB"] == "c" and status["NEG"] == "c" and status["EMO"] == "x"


def test_two_small_cells_need_no_partner():
    counts = {"NEG": 30, "EMO": 40, "PHY": 2, "SAB": 4}
    f = frame(row("count_by_category", value=76), *cells("count_by_category", "category_of_abuse", counts, 76, False))
    out = run(f)
    assert list(out["status"]) == ["", "", "", "c", "c"]


def test_a_single_cell_group_is_hidden_with_its_total():
    f = frame(row("count_by_category", value=4),
              *cells("count_by_category", "category_of_abuse", {"NEG": 4}, 4, False))
    out = run(f)
    assert list(out["status"]) == ["c", "c"]


def test_group_and_total_hidden_when_no_partner_is_left():
    f = frame(row("count_by_category", value=44),
              *cells("count_by_category", "category_of_abuse", {"NEG": 4}, 44, False),
              row("count_by_category", breakdown="category_of_abuse", breakdown_value="EMO", status="x"))
    out = run(f)
    assert list(out["status"]) == ["c", "c", "x"]
    assert_suppressed(out, 0)


def test_no_partner_when_the_total_is_not_shown():
    counts = {"NEG": 30, "EMO": 40, "SAB": 3}
    f = frame(row("count_by_category", status="x"), *cells("count_by_category", "category_of_abuse", counts, 73, False))
    out = run(f)
    assert list(out["status"]) == ["x", "", "", "c"]


@pytest.mark.parametrize("share", [False, True])
def test_whole_group_when_the_total_is_small(share):
    counts = {"NEG": 2, "EMO": 3, "PHY": 0, "SAB": 0}
    metric = "cp_by_category" if share else "count_by_category"
    head = [] if share else [row(metric, value=5)]
    f = frame(*head, *cells(metric, "category_of_abuse", counts, 5, share))
    out = run(f)
    for i in range(len(f)):
        assert_suppressed(out, i)


def test_headline_that_repeats_a_cell_goes_with_it():
    counts = {"inside_lt20": 50, "inside_gt20": 3, "outside_lt20": 40, "outside_gt20": 7, "not_known": 10}
    total = sum(counts.values())
    m = "lac_new_placements_20_miles"
    f = frame(row(m, numerator=7, denominator=total, value=round(700 / total), published_value=round(700 / total)),
              *cells(m, "placement_location", counts, total, True))
    out = run(f)
    status = dict(zip(out["breakdown_value"], out["status"]))
    # 3 is small; 7 is the next smallest, and the headline is the same 7
    assert status == {"": "c", "inside_lt20": "", "inside_gt20": "c", "outside_lt20": "", "outside_gt20": "c",
                      "not_known": ""}


def test_no_secondary_in_a_breakdown_that_is_not_a_partition():
    f = frame(*cells("level_pct", "training_level", {"L1": 3, "L2": 40, "L3": 50}, 60, True))
    out = run(f)
    assert list(out["status"]) == ["c", "", ""]


def test_a_group_suppressed_only_by_the_publisher_is_left_as_published():
    # a regional figure rounded to the nearest 10, with DfE's own "c": not recoverable, left alone
    counts = {"inside_lt20": 1130, "outside_lt20": 2230, "outside_gt20": 640, "not_known": 940}
    f = frame(*cells("lac_new_placements_20_miles", "placement_location", counts, 4950, True),
              row("lac_new_placements_20_miles", breakdown="placement_location", breakdown_value="inside_gt20",
                  denominator=4950, status="c"))
    out = run(f)
    for i in range(len(f)):
        assert_unchanged(out, f, i)


# --------------------------------------------------------------------------- what stays


def test_rule_none_symbols_and_illustrative_rows_are_untouched():
    f = frame(
        row("training_compliance", breakdown="training_level", breakdown_value="L1", numerator=3, denominator=4,
            value=75.0, note="3 of 4"),
        row("cp_plans_31mar", value=NAN, status="x", note="not available"),
        row("cp_plans_31mar", area_code=ESSEX, value=NAN, status="c", note="publisher's c"),
        row("cp_subsequent_pct", value=3.0, numerator=3, denominator=100, illustrative=True, note="example"),
        row("not_in_registry", value=2.0),
    )
    out = run(f)
    for i in range(len(f)):
        assert_unchanged(out, f, i)


def test_input_is_not_changed_and_shape_is_kept():
    counts = {"NEG": 20, "EMO": 12, "PHY": 10, "SAB": 3}
    f = frame(row("cp_plans_31mar", value=4, note="4 children"), row("count_by_category", value=45),
              *cells("count_by_category", "category_of_abuse", counts, 45, False))
    f.index = [10, 3, 7, 7, 9, 42]  # not a range, and a repeated label: the result keeps it
    before = f.copy(deep=True)
    out = run(f)
    pd.testing.assert_frame_equal(f, before)
    assert out is not f
    assert list(out.columns) == list(f.columns)
    assert list(out.index) == list(f.index)
    assert (out["status"] == "c").sum() == 3


def test_empty_frame():
    f = frame()
    out = run(f)
    assert out.empty and list(out.columns) == COLUMNS


# --------------------------------------------------------------------------- properties


def small_shown(out: pd.DataFrame, units: dict[str, Unit], registry: Registry) -> pd.DataFrame:
    """Rows of small_numbers metrics, not suppressed, that still show a count of 1 to 5.

    A count is the numerator or denominator of any row, and the value or published value of a
    count metric.
    """
    rules = {m.id: m.suppression for m in registry.metrics if m.suppression.rule == "small_numbers"}
    lo = out["metric_id"].map({k: s.min for k, s in rules.items()})
    hi = out["metric_id"].map({k: s.max for k, s in rules.items()})
    count_unit = out["metric_id"].map({k: u is Unit.COUNT for k, u in units.items()}).fillna(False).astype(bool)
    open_ = out["metric_id"].isin(list(rules)) & (out["status"] != "c") & ~out["illustrative"].astype(bool)

    def small(col: str) -> pd.Series:
        return (out[col] >= lo) & (out[col] <= hi)

    bad = small("numerator") | small("denominator") | (count_unit & (small("value") | small("published_value")))
    return out[open_ & bad]


group_st = st.tuples(
    st.booleans(),  # share (numerator / denominator) or count (value, with a total row)
    st.lists(st.integers(0, 40), min_size=3, max_size=6),
)
pair_st = st.tuples(st.integers(0, 40), st.integers(1000, 60000), st.booleans())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups=st.lists(group_st, min_size=1, max_size=5), pairs=st.lists(pair_st, min_size=0, max_size=4))
def test_properties(groups, pairs):
    rows = []
    for g, (share, counts) in enumerate(groups):
        area = f"G{g}"
        total = sum(counts)
        named = dict(zip(SIX, counts))
        if share:
            rows += cells("share_by_six", "six", named, total, True, area_code=area)
        else:
            rows.append(row("count_by_six", area_code=area, value=total))
            rows += cells("count_by_six", "six", named, total, False, area_code=area)
    for p, (count, pop, with_numerator) in enumerate(pairs):
        area = f"P{p}"
        rate = round(count / pop * 10000, 1)
        rows.append(row("cp_plans_31mar", area_code=area, value=count))
        rows.append(row("cp_rate_31mar", area_code=area, value=rate, numerator=count if with_numerator else NAN,
                        denominator=pop))
    f = frame(*rows)
    before = f.copy(deep=True)
    out = run(f)

    # (a) no count of 1 to 5 left anywhere
    assert small_shown(out, UNITS, TEST_REGISTRY).empty
    # (c) same rows; what is shown is what came in
    assert len(out) == len(f)
    pd.testing.assert_frame_equal(f, before)
    shown = out["status"] != "c"
    pd.testing.assert_frame_equal(out[shown], f[shown])
    assert out.loc[~shown, FIGURES].isna().all().all()

    for g, (share, counts) in enumerate(groups):
        grp = out[out["area_code"] == f"G{g}"]
        cell_rows = grp[grp["breakdown"] == "six"]
        n_c = int((cell_rows["status"] == "c").sum())
        total_shown = (cell_rows["denominator"].notna().any() if share
                       else (grp[grp["breakdown"] == ""]["status"] == "").all())
        # (b) nothing recoverable by subtraction
        if total_shown:
            assert n_c == 0 or n_c >= 2, (counts, grp[["breakdown_value", "status"]])
        # and nothing hidden without a reason
        if not any(1 <= c <= 5 for c in counts) and not 1 <= sum(counts) <= 5:
            assert n_c == 0, counts
    for p, (count, _pop, _) in enumerate(pairs):
        pair = out[out["area_code"] == f"P{p}"]
        st_ = set(pair["status"])
        assert len(st_) == 1, pair  # count and rate are hidden together or shown together
        assert (st_ == {"c"}) == (1 <= count <= 5)


# --------------------------------------------------------------------------- the shipped registry


def test_every_rate_per_10000_is_linked_to_its_count(registry):
    counts = {m.id for m in registry.metrics if m.unit is Unit.COUNT}
    links = count_of_rate(registry)
    for m in registry.metrics:
        if m.unit is not Unit.RATE_PER_10000:
            continue
        if m.id in links:
            assert links[m.id] in counts, m.id
            continue
        # no count metric counts what this rate is built on: its numerator text names none of them
        named = [c for c in counts if registry.metric(c).title.lower() in (m.numerator or "").lower()]
        assert not named, f"{m.id} is built on {named}: set its suppression.count_metric"
    for rate, count in links.items():
        assert registry.metric(rate).unit is Unit.RATE_PER_10000
        assert registry.metric(count).unit is Unit.COUNT
        assert registry.metric(rate).suppression.rule == "small_numbers"


def test_headline_cells_name_a_partition_breakdown(registry):
    for metric_id, (dim, code) in headline_cells(registry).items():
        m = registry.metric(metric_id)
        assert dim in m.breakdowns
        assert registry.breakdowns[dim].partition
        assert code in registry.breakdowns[dim].values


# --------------------------------------------------------------------------- the real data


@pytest.fixture(scope="module")
def real(snap, registry):
    frame_ = snap.frame
    before = frame_.copy(deep=True)
    # Its speed is measured by the benchmarks (benchmarks/), never asserted here: a timed assertion in a
    # unit test fails on a busy machine and proves nothing on a quiet one.
    return frame_, before, suppress_for_external(frame_, registry)


def test_real_frame_has_no_small_count_left(real, registry):
    frame_, before, out = real
    units = {m.id: m.unit for m in registry.metrics}
    assert len(out) == len(frame_) > 30000
    assert small_shown(out, units, registry).empty
    pd.testing.assert_frame_equal(frame_, before)  # the shared snapshot is not touched


def test_real_frame_publisher_symbols_kept_and_only_open_rows_changed(real):
    frame_, _, out = real
    changed = (out["status"] != frame_["status"]).to_numpy()
    # DfE has already suppressed every child count of 1 to 5 in its files, and workforce FTE is exempt,
    # so on today's data nothing may change at all; whatever does change must have been open.
    assert (frame_.loc[changed, "status"] == "").all()
    symbol = (frame_["status"] != "").to_numpy()
    pd.testing.assert_frame_equal(out[symbol], frame_[symbol])
    # what DfE suppressed (its "c") is all still "c"
    assert ((frame_["status"] == "c") <= (out["status"] == "c")).all()


def test_real_frame_workforce_fte_is_not_suppressed(real):
    """Workforce figures count staff FTE, not children; DfE publishes them openly and so do we."""
    frame_, _, out = real
    small = (frame_["metric_id"] == "sw_agency_rate") & frame_["numerator"].between(1, 5) & (frame_["status"] == "")
    assert small.any(), "expected some authority with 1 to 5 agency FTE"
    pd.testing.assert_frame_equal(out[small], frame_[small])


def test_real_thurrock_2017_sexual_abuse_count_of_12_stays(real, dfe):
    # DfE's table D4: 12 of Thurrock's 285 children on a plan at 31 March 2017 had sexual abuse as the
    # initial category. The published figure wins the cell over the seed report's 10 (a local return),
    # and a count above 5 is shown to external viewers, with the publisher's note.
    (cell,) = [r["value"] for r in dfe.rows(dfe.F_CP_CATEGORY)
               if r["measure_code"] == "D4_Sexual_Initial" and r["la_code"] == "883" and r["time_period"] == "2017"]
    frame_, _, out = real
    sel = ((out["metric_id"] == "cp_by_category") & (out["area_code"] == THURROCK) & (out["period_end"] == P2017)
           & (out["breakdown"] == "category_of_abuse") & (out["breakdown_value"] == "SAB"))
    assert sel.sum() == 1
    r = out[sel].iloc[0]
    assert r["numerator"] == float(cell) == 12 and r["status"] == "" and r["source_kind"] == "published"
    assert r["note"] == frame_[sel].iloc[0]["note"] and r["note"]


def test_real_links_hold_in_the_data(snap, registry):
    f = snap.frame
    keys = ["area_code", "period_end", "agency", "breakdown", "breakdown_value"]
    for rate, count in count_of_rate(registry).items():
        j = f[f["metric_id"] == rate].merge(f[f["metric_id"] == count], on=keys, suffixes=("_r", "_c"))
        both = j[j["numerator_r"].notna() & j["value_c"].notna()]
        assert len(both) > 1000, rate
        assert (both["numerator_r"] == both["value_c"]).all(), rate
    for metric_id, (dim, code) in headline_cells(registry).items():
        m = f[f["metric_id"] == metric_id]
        j = m[m["breakdown"] == ""].merge(m[(m["breakdown"] == dim) & (m["breakdown_value"] == code)],
                                          on=["area_code", "period_end", "agency"], suffixes=("_h", "_c"))
        both = j[j["numerator_h"].notna() & j["numerator_c"].notna()]
        assert len(both) > 100
        assert (both["numerator_h"] == both["numerator_c"]).all()


def test_real_placement_group_with_a_small_cell_gets_a_partner(snap, registry):
    """Thurrock's 2020-21 new placements with 3 moved from inside_lt20 to inside_gt20.

    DfE has already turned every placement count of 1 to 5 into "c", so the real frame holds no
    open small cell; this moves 3 placements inside one real group (the total is unchanged).
    """
    f = snap.frame
    m = "lac_new_placements_20_miles"
    sel = (f["metric_id"] == m) & (f["area_code"] == THURROCK) & (f["period_end"] == dt.date(2021, 3, 31))
    g = f[sel].copy()
    cell = g.set_index("breakdown_value")
    assert cell.loc["inside_gt20", "numerator"] == 0 and cell.loc["inside_lt20", "numerator"] > 10
    cell_counts = cell[cell["breakdown"] == "placement_location"]["numerator"]
    total = cell.loc["", "denominator"]
    assert cell_counts.sum() == total  # a real partition

    g.loc[g["breakdown_value"] == "inside_gt20", "numerator"] = 3.0
    g.loc[g["breakdown_value"] == "inside_lt20", "numerator"] -= 3.0
    edited = pd.concat([f[~sel], g])
    out = suppress_for_external(edited, registry)
    got = out.loc[g.index].set_index("breakdown_value")

    after = cell_counts.copy()
    after["inside_gt20"], after["inside_lt20"] = 3.0, after["inside_lt20"] - 3.0
    partner = after[(after > 0) & (after.index != "inside_gt20")].idxmin()
    assert got.loc["inside_gt20", "status"] == "c"
    assert got.loc[partner, "status"] == "c"
    assert got.loc[partner, "note"] == SUPPRESSED_NOTE
    shown = [c for c in after.index if c not in ("inside_gt20", partner)]
    assert (got.loc[shown, "status"] == "").all()
    assert np.array_equal(got.loc[shown, "numerator"].to_numpy(), after[shown].to_numpy())
    assert got.loc["", "status"] == ("c" if partner == "outside_gt20" else "")
    # the rest of the frame is as without the edit
    pd.testing.assert_frame_equal(out.loc[f.index[~sel]], suppress_for_external(f, registry).loc[f.index[~sel]])


# --------------------------------------------------------------------------- shares published without counts


def _gender(shares: dict[str, float], total: float | None, **kw) -> list[dict]:
    rows = [row("gender_share", breakdown="six", breakdown_value=k, value=v, **kw) for k, v in shares.items()]
    if total is not None:
        rows.append(row("cp_plans_31mar", value=total))
    return rows


def test_a_share_of_a_total_that_stands_for_a_small_count_is_suppressed_with_a_partner():
    """The seed report's "51% male, 48% female, 1% unborn" of 285 children: 1% is about 3 children."""
    f = frame(*_gender({"a": 51.0, "b": 48.0, "c": 1.0}, 285.0))
    out = run(f)
    assert_suppressed(out, 2)  # 1% of 285 = 2.85, about 3 children
    assert_suppressed(out, 1)  # and the next smallest, so that 100 - 51 - 48 cannot give it back
    assert out.iloc[0]["status"] == "" and out.iloc[0]["value"] == 51.0
    assert out.iloc[3]["status"] == "" and out.iloc[3]["value"] == 285.0  # the total stays


@pytest.mark.parametrize("share, total, hidden", [
    (1.0, 285.0, True),   # 2.85 -> 3
    (2.0, 250.0, True),   # 5
    (2.0, 300.0, False),  # 6
    (0.0, 285.0, False),  # 0 is shown
    (0.1, 285.0, False),  # 0.285 -> 0
    (0.2, 285.0, True),   # 0.57 -> 1
])
def test_the_implied_count_of_a_share_is_share_times_total(share, total, hidden):
    out = run(frame(*_gender({"a": 100.0 - share, "b": share}, total)))
    assert is_c(out, 1) == hidden


def test_a_share_without_its_total_in_the_data_is_left_alone():
    """No total shown beside it: nothing to multiply by (and nothing for a reader to multiply by either)."""
    out = run(frame(*_gender({"a": 99.0, "b": 1.0}, None)))
    assert not is_c(out, 1)


def test_a_share_whose_total_is_suppressed_is_hidden_with_it():
    out = run(frame(*_gender({"a": 60.0, "b": 40.0}, 4.0)))
    assert is_c(out, 0) and is_c(out, 1) and is_c(out, 2)


# --------------------------------------------------------------------------- notes


@pytest.mark.parametrize("note, kind, kept", [
    ("Denominator: ONS mid-2016 estimate of children aged 0 to 17.", "published", True),
    ("LAIT gives 4 for this count.", "published", False),     # a small number
    ("Report: 10 (3%)", "local_return", False),              # an analyst's own words
    ("Imported note with no figures", "import", False),
    ("sum to 289, not 294", "published", False),              # a difference of 5
])
def test_notes_external_viewers_get(note, kind, kept):
    out = run(frame(row("cp_plans_31mar", value=300.0, note=note, source_kind=kind)))
    assert (out.iloc[0]["note"] == note) is kept
    if not kept:
        assert pd.isna(out.iloc[0]["note"])


def test_notes_of_metrics_outside_the_rule_are_kept():
    note = "Report: 3 of the team trained"
    out = run(frame(row("training_compliance", value=60.0, note=note, source_kind="local_return")))
    assert out.iloc[0]["note"] == note


def test_real_thurrock_2017_unborn_share_is_suppressed(real):
    """The shipped seed figure: 1% unborn of the children on a plan reveals about 3 children."""
    frame_, _, out = real
    sel = ((out["metric_id"] == "cp_by_gender") & (out["area_code"] == THURROCK) & (out["period_end"] == P2017))
    got = out[sel].set_index("breakdown_value")
    before = frame_[sel].set_index("breakdown_value")
    assert before.loc["unborn", "value"] == 1 and before.loc["unborn", "status"] == ""
    assert got.loc["unborn", "status"] == "c" and pd.isna(got.loc["unborn", "value"])
    assert got.loc["female", "status"] == "c"  # secondary: the smaller of the other two
    assert got.loc["male", "status"] == "" and got.loc["male", "value"] == 51


# --------------------------------------------------------------------------- the external copy of a snapshot


def test_external_copy_is_made_for_the_whole_registry_whoever_asks_first(snap, registry):
    """A registry cut down to some metrics (a scoped inspector link) cannot make the shared external copy."""
    scoped = registry.model_copy(update={"metrics": [m for m in registry.metrics if m.id == "cp_rate_31mar"]})
    fresh = type(snap)(version_id=snap.version_id, version_label=snap.version_label, built_at=snap.built_at,
                       frame=snap.frame, areas=snap.areas, neighbours=snap.neighbours, sources=snap.sources,
                       flags=snap.flags, targets=snap.targets)
    with pytest.raises(ValueError, match="full registry"):
        fresh.external(scoped)
    ext = fresh.external(registry)
    assert ext is fresh.external(registry)  # once per version
    for i in range(2100):  # fill the bounded memo past its limit: the external copy is not in it
        fresh.memo(("filler", i), lambda: None)
    assert fresh.external(registry) is ext
    assert ext.external(registry) is ext
