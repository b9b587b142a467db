"""Rank and quartile band by DfE LAIT's rule (guide section 3a), with hand-computed quantiles.

R's type-7 quantile of sorted x_1..x_n at p: h = (n - 1) p, x_(floor h + 1) + (h - floor h) x
(x_(floor h + 2) - x_(floor h + 1)). The expected values below are worked out by hand from that.
"""
from __future__ import annotations

import csv

import pandas as pd

from dashboard.analysis.benchmark import (
    Quartiles,
    benchmark,
    national_pool,
    neighbour_median,
    place,
    position,
    quartile_band,
    quartiles,
    rank,
    ranks,
)
from dashboard.config import DEFAULT_DATA_DIR
from dashboard.importers import dfe, lait

LOW, HIGH, NEUTRAL = "lower_better", "higher_better", "neutral"


def test_type_7_quantiles_by_hand():
    # n = 10: q25 at h = 2.25 -> 3 + 0.25 x (4 - 3) = 3.25; q50 at 4.5 -> 5.5; q75 at 6.75 -> 7.75.
    assert quartiles(range(1, 11)) == Quartiles(1.0, 3.25, 5.5, 7.75, 10.0)
    # Order does not matter, missing values are left out (na.rm = TRUE).
    assert quartiles([10, None, 2, float("nan"), 4, 1]) == Quartiles(1.0, 1.75, 3.0, 5.5, 10.0)
    # n = 4, {1, 2, 3, 4}: q25 at h = 0.75 -> 1.75, q50 2.5, q75 at 2.25 -> 3.25.
    assert quartiles({"a": 4, "b": 1, "c": 3, "d": 2}) == Quartiles(1.0, 1.75, 2.5, 3.25, 4.0)


def test_empty_pool():
    assert quartiles([]) is None
    assert quartile_band(5, None, LOW) is None
    b = benchmark("E06000034", {}, LOW)
    assert (b.value, b.rank, b.pool_size, b.band, b.quartiles) == (None, None, 0, None, None)
    assert rank(5, [], HIGH) == 1  # a value alone is first of one


# Pool of five: q0 10, q25 20, q50 30, q75 40, q100 50, each a member of the pool.
FIVE = {"a": 10, "b": 20, "c": 30, "d": 40, "e": 50}


def test_low_polarity_bands_include_their_upper_edge():
    q = quartiles(FIVE)
    assert q == Quartiles(10.0, 20.0, 30.0, 40.0, 50.0)
    got = {k: quartile_band(v, q, LOW) for k, v in FIVE.items()}
    assert got == {"a": "A", "b": "A", "c": "B", "d": "C", "e": "D"}  # 20 = q25 is A; 40 = q75 is C
    assert quartile_band(20.000001, q, LOW) == "B"
    assert quartile_band(40.000001, q, LOW) == "D"


def test_high_polarity_mirrors_so_q75_is_b_and_q25_is_d():
    q = quartiles(FIVE)
    got = {k: quartile_band(v, q, HIGH) for k, v in FIVE.items()}
    assert got == {"a": "D", "b": "D", "c": "C", "d": "B", "e": "A"}
    assert quartile_band(40, q, HIGH) == "B"  # exactly q75
    assert quartile_band(20, q, HIGH) == "D"  # exactly q25
    assert quartile_band(40.000001, q, HIGH) == "A"


def test_bands_use_unrounded_values():
    q = quartiles([1, 2, 3, 4])  # q25 = 1.75
    assert quartile_band(1.75, q, LOW) == "A"
    assert quartile_band(1.76, q, LOW) == "B"  # rounded to 1 dp, value 1.8 and q25 1.8 would make it A


def test_outside_the_pool_range_has_no_band():
    q = quartiles(FIVE)
    assert quartile_band(9.99, q, LOW) is None and quartile_band(50.01, q, HIGH) is None


def test_neutral_has_no_rank_and_no_band():
    q = quartiles(FIVE)
    assert quartile_band(30, q, NEUTRAL) is None
    assert rank(30, FIVE, NEUTRAL) is None
    assert ranks(FIVE, NEUTRAL) == {}
    b = benchmark("c", FIVE, NEUTRAL)
    assert (b.rank, b.band, b.pool_size, b.quartiles) == (None, None, 5, q)


def test_rank_1_is_best_and_ties_share_the_lowest_rank():
    pool = {"a": 5, "b": 3, "c": 3, "d": 1, "e": None}
    assert ranks(pool, LOW) == {"d": 1, "b": 2, "c": 2, "a": 4}
    assert ranks(pool, HIGH) == {"a": 1, "b": 2, "c": 2, "d": 4}
    assert benchmark("e", pool, LOW).rank is None  # no figure, no rank
    b = benchmark("b", pool, HIGH)
    assert (b.rank, b.pool_size) == (2, 4)


def test_tied_values_share_a_band():
    pool = {"a": 1, "b": 2, "c": 2, "d": 2, "e": 9}  # q25 = q50 = q75 = 2
    q = quartiles(pool)
    assert q == Quartiles(1.0, 2.0, 2.0, 2.0, 9.0)
    assert {k: quartile_band(v, q, LOW) for k, v in pool.items()} == {"a": "A", "b": "A", "c": "A", "d": "A",
                                                                      "e": "D"}
    assert {k: quartile_band(v, q, HIGH) for k, v in pool.items()} == {"a": "D", "b": "D", "c": "D", "d": "D",
                                                                       "e": "A"}


def test_a_pool_of_one():
    b = benchmark("a", {"a": 7.0}, HIGH)
    # Every quantile is 7, and 7 is in [q0, q25]: LAIT's case_when gives D for High polarity.
    assert (b.rank, b.pool_size, b.band) == (1, 1, "D")
    assert benchmark("a", {"a": 7.0}, LOW).band == "A"


def test_national_pool_uses_published_figures_and_only_authorities():
    rows = pd.DataFrame([
        dict(area_code="E92000001", value=50.0, published_value=50.0, status=""),  # England: out
        dict(area_code="E12000006", value=48.0, published_value=48.0, status=""),  # region: out
        dict(area_code="E13000001", value=60.0, published_value=60.0, status=""),  # Inner London: out
        dict(area_code="E06000034", value=44.0, published_value=45.0, status=""),  # LAIT's figure wins
        dict(area_code="E09000001", value=0.0, published_value=None, status=""),  # City of London: in
        dict(area_code="E06000053", value=None, published_value=None, status="x"),  # "-": out
        dict(area_code="E06000033", value=None, published_value=12.0, status="c"),  # withheld: out
        dict(area_code="E10000012", value=30.0, published_value=None, status=""),  # ours where none published
    ])
    las = ["E06000034", "E09000001", "E06000053", "E06000033", "E10000012"]
    assert national_pool(rows, las) == {"E06000034": 45.0, "E09000001": 0.0, "E10000012": 30.0}


def test_position_against_comparators():
    assert position(60, 50, HIGH) == "better" and position(40, 50, HIGH) == "worse"
    assert position(60, 50, LOW) == "worse" and position(40, 50, LOW) == "better"
    assert position(50, 50, LOW) == "same"
    assert position(60, 50, NEUTRAL) == "higher" and position(40, 50, NEUTRAL) == "lower"
    assert position(None, 50, HIGH) is None and position(50, None, HIGH) is None


def test_neighbour_median_needs_half_of_the_neighbours():
    values = {"a": 1.0, "b": 3.0, "c": None, "d": 10.0}
    assert neighbour_median(values, ["a", "b", "c", "d"]) == 3.0  # three of four: median of 1, 3, 10
    assert neighbour_median(values, ["a", "c", "x", "y"]) is None  # one of four
    assert neighbour_median(values, ["a", "b", "c", "x"]) == 2.0  # two of four: enough
    assert neighbour_median(values, []) is None


def test_real_pool_is_every_authority_lait_gives_a_figure():
    """The latest year's pool of CP reviews on time is every LA row of the extract without "-", no region."""
    with open(DEFAULT_DATA_DIR / "dfe" / "lait_child_protection_measures.csv", newline="", encoding="utf-8-sig") as f:
        measure = [r for r in csv.DictReader(f) if r["measure_code"] == "RevCP"]
    latest = max(r["time_period"] for r in measure)  # the newest year the extract holds
    raw = [r for r in measure if r["time_period"] == latest]
    expected = sorted(float(r["value"]) for r in raw if r["geographic_level"] == "Local authority" and r["value"] != "-")
    rows, _ = lait.read_observations(DEFAULT_DATA_DIR)
    areas = dfe.read_areas(DEFAULT_DATA_DIR)
    cell = rows[(rows["metric_id"] == "cp_reviewed_on_time_pct") & (rows["period_end"].astype(str) == f"{latest}-03-31")]
    pool = national_pool(cell, areas.loc[areas["level"] == "la", "code"])
    assert sorted(pool.values()) == expected
    bands = [benchmark(a, pool, HIGH).band for a in pool]
    assert set(bands) <= {"A", "B", "C", "D"} and all(bands.count(b) >= len(pool) // 8 for b in "ABCD")


def test_place_puts_rank_band_england_and_neighbours_together():
    rows = pd.DataFrame([
        dict(area_code="E92000001", value=80.0, published_value=80.0, status=""),
        dict(area_code="A", value=90.0, published_value=91.0, status=""),  # ours 90, LAIT 91
        dict(area_code="B", value=85.0, published_value=85.0, status=""),
        dict(area_code="C", value=70.0, published_value=70.0, status=""),
        dict(area_code="D", value=None, published_value=None, status="x"),
        dict(area_code="E", value=60.0, published_value=60.0, status=""),
    ])
    p = place(rows, "A", HIGH, la_codes=["A", "B", "C", "D", "E"], neighbours=["B", "C", "D", "E"])
    # Pool {91, 85, 70, 60}: q25 at h = 0.75 -> 60 + 0.75 x 10 = 67.5; q50 77.5; q75 at 2.25 -> 85 + 0.25 x 6 = 86.5.
    assert p.benchmark.quartiles == Quartiles(60.0, 67.5, 77.5, 86.5, 91.0)
    assert (p.benchmark.rank, p.benchmark.band, p.benchmark.pool_size) == (1, "A", 4)
    assert p.benchmark.value == 91.0  # ranked on LAIT's figure
    assert (p.england, p.vs_england) == (80.0, "better")  # our 90 against England's 80
    assert (p.neighbour_median, p.vs_neighbours) == (70.0, "better")  # median of 85, 70, 60 (3 of 4)
    q = place(rows, "C", LOW, la_codes=["A", "B", "C", "D", "E"], neighbours=["D"])
    assert (q.benchmark.rank, q.benchmark.band, q.neighbour_median, q.vs_neighbours) == (2, "B", None, None)
