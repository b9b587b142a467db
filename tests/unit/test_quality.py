"""Data-quality checks flag, never fix: the seed report's own inconsistencies must show."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from dashboard.analysis.quality import breakdown_total_warnings, local_vs_published_warnings
from dashboard.importers.returns import read_return_file

THURROCK = "E06000034"
CODES = {"883": THURROCK, THURROCK: THURROCK}
MARCH_2017 = dt.date(2017, 3, 31)


@pytest.fixture(scope="module")
def seed_rows(registry, dfe):
    parsed, _source = read_return_file(dfe.local_csv, registry, CODES)
    assert parsed.errors == []
    df = pd.DataFrame(parsed.rows)
    for col in ("agency", "breakdown", "breakdown_value"):
        df[col] = df[col].fillna("")
    return df


@pytest.fixture(scope="module")
def partitions(registry):
    return {k for k, b in registry.breakdowns.items() if b.partition}


def _seed_sum(dfe, metric_id):
    """Sum and total of a breakdown's counts, straight from the local CSV."""
    rows = [r for r in dfe.read_csv_rows(dfe.local_csv) if r["metric_id"] == metric_id]
    totals = {int(r["denominator"]) for r in rows}
    assert len(totals) == 1
    return sum(int(r["numerator"]) for r in rows), totals.pop()


def test_seed_breakdowns_give_exactly_two_warnings(seed_rows, partitions, dfe):
    cat_sum, cat_total = _seed_sum(dfe, "cp_by_category")
    age_sum, age_total = _seed_sum(dfe, "cp_by_age")
    # the seed report (guide section 2): categories add to 297 and ages to 289, against 294 on a plan
    assert (cat_sum, age_sum, cat_total, age_total) == (297, 289, 294, 294)

    warnings = breakdown_total_warnings(seed_rows, partitions)
    assert len(warnings) == 2
    by_metric = {w["metric_id"]: w for w in warnings}
    assert set(by_metric) == {"cp_by_category", "cp_by_age"}
    for metric_id, total_sum in (("cp_by_category", cat_sum), ("cp_by_age", age_sum)):
        w = by_metric[metric_id]
        assert w["area_code"] == THURROCK
        assert w["period_end"] == MARCH_2017
        assert w["severity"] == "warning"
        assert w["source_key"] == "local/thurrock_lscb_2016_17.csv"
        assert str(total_sum) in w["message"]
        assert "294" in w["message"]
    assert "category of abuse" in by_metric["cp_by_category"]["message"]
    assert "age band" in by_metric["cp_by_age"]["message"]
    # the gender percentages (51 + 48 + 1) add up to 100: no warning for them
    assert "cp_by_gender" not in by_metric


def test_non_partition_breakdowns_are_not_checked(seed_rows, partitions, registry):
    assert "training_level" not in partitions and "supervision_type" not in partitions
    training = seed_rows[seed_rows["metric_id"] == "training_compliance"]
    assert training["value"].sum() > 400  # five separate rates, nowhere near 100
    assert breakdown_total_warnings(training, partitions) == []
    # checked as if it were a partition, the same rows would be flagged: the exclusion is what passes them
    assert len(breakdown_total_warnings(training, partitions | {"training_level"})) == 1


def _rows(obs, breakdown, parts, **common):
    return obs(*[dict(metric_id="m", breakdown=breakdown, breakdown_value=code, source_key="local/x.csv", **common, **p)
                 for code, p in parts.items()])


def test_counts_that_add_up_are_not_flagged(obs):
    rows = _rows(obs, "age_band", {"0-4": dict(numerator=10.0, denominator=30.0, value=33.3),
                                   "5-11": dict(numerator=20.0, denominator=30.0, value=66.7)})
    assert breakdown_total_warnings(rows, {"age_band"}) == []


def test_percentages_checked_against_100(obs):
    ok = _rows(obs, "gender", {"male": dict(value=51.0), "female": dict(value=48.0), "unborn": dict(value=1.0)},
               numerator=None, denominator=None)
    assert breakdown_total_warnings(ok, {"gender"}) == []
    rounding = _rows(obs, "gender", {"male": dict(value=51.0), "female": dict(value=50.0)},
                     numerator=None, denominator=None)
    assert breakdown_total_warnings(rounding, {"gender"}) == []  # one point per category for rounding
    short = _rows(obs, "gender", {"male": dict(value=60.0), "female": dict(value=30.0)},
                  numerator=None, denominator=None)
    warnings = breakdown_total_warnings(short, {"gender"})
    assert len(warnings) == 1
    assert "90%" in warnings[0]["message"] and "100%" in warnings[0]["message"]


def test_breakdown_warning_names_the_agency(obs):
    rows = _rows(obs, "age_band", {"0-4": dict(numerator=10.0), "5-11": dict(numerator=10.0)},
                 denominator=30.0, agency="NELFT")
    (w,) = breakdown_total_warnings(rows, {"age_band"})
    assert "(NELFT)" in w["message"] and "20" in w["message"] and "30" in w["message"]


def test_local_vs_published(obs):
    kinds = {"dfe/d5.csv": "published", "local/seed.csv": "local_return"}
    rows = obs(
        dict(metric_id="cp_plans_31mar", source_key="dfe/d5.csv", value=285.0),
        dict(metric_id="cp_plans_31mar", source_key="local/seed.csv", value=294.0),
        # same value in both: nothing to say
        dict(metric_id="lac_31mar", source_key="dfe/d5.csv", value=333.0),
        dict(metric_id="lac_31mar", source_key="local/seed.csv", value=333.0),
        # published value suppressed: nothing to compare
        dict(metric_id="uasc_31mar", source_key="dfe/d5.csv", value=None, status="c"),
        dict(metric_id="uasc_31mar", source_key="local/seed.csv", value=4.0),
        # local only: nothing to compare
        dict(metric_id="cin_cases_local", source_key="local/seed.csv", value=618.0),
    )
    warnings = local_vs_published_warnings(rows, kinds)
    assert len(warnings) == 1
    (w,) = warnings
    assert w["metric_id"] == "cp_plans_31mar"
    assert w["source_key"] == "local/seed.csv"
    assert "294" in w["message"] and "285" in w["message"]


def test_local_vs_published_without_both_kinds(obs):
    rows = obs(dict(source_key="local/seed.csv", value=1.0))
    assert local_vs_published_warnings(rows, {"local/seed.csv": "local_return"}) == []
    assert local_vs_published_warnings(rows.iloc[0:0], {}) == []


def test_built_store_flags_seed_against_dfe(snap, dfe):
    """After a build: the seed's count (294) against DfE's published count for Thurrock at 31 March 2017,
    both read from the files."""
    published = dfe.la_rows(dfe.F_CP, "883")[2017]["CPP_At31"]
    local = [r["value"] for r in dfe.read_csv_rows(dfe.local_csv)
             if r["metric_id"] == "cp_plans_31mar" and r["period_end"] == "2017-03-31"]
    assert len(local) == 1 and published.strip() and published != local[0], (published, local)
    flags = snap.flags
    mine = flags[(flags["metric_id"] == "cp_plans_31mar") & (flags["area_code"] == THURROCK)
                 & (flags["period_end"] == MARCH_2017)]
    assert len(mine) == 1
    message = mine["message"].iloc[0]
    assert local[0] in message and published in message
    # and the two breakdown gaps
    breakdown = flags[flags["metric_id"].isin(["cp_by_category", "cp_by_age"]) & flags["message"].str.contains("adds up")]
    assert len(breakdown) == 2
    assert sorted("297" in m or "289" in m for m in breakdown["message"]) == [True, True]
    # cp_by_category is DfE's series now: each category where the report's share differs from DfE's
    # (initial category, 31 March 2017) is flagged with both figures.
    cats = {r["measure_code"]: r["value"] for r in dfe.rows(dfe.F_CP_CATEGORY)
            if r["la_code"] == "883" and r["time_period"] == "2017"}
    total = Decimal(cats["D4_CPP_At31"])
    codes = {"NEG": "Neglect", "EMO": "Emotional", "PHY": "Physical", "SAB": "Sexual"}
    local = {r["breakdown_value"]: dfe.half_up(Decimal(r["numerator"]) * 100 / Decimal(r["denominator"]), 1)
             for r in dfe.read_csv_rows(dfe.local_csv) if r["metric_id"] == "cp_by_category"}
    differ = []
    for code, name in codes.items():
        text = cats[f"D4_{name}_Initial"]
        if text.isdigit() and dfe.half_up(Decimal(text) * 100 / total, 1) != local[code]:
            differ.append(f"gives {local[code]:g}; DfE published {dfe.half_up(Decimal(text) * 100 / total, 1):g}")
    category = flags[(flags["metric_id"] == "cp_by_category") & flags["message"].str.contains("local return gives")]
    assert len(category) == len(differ) >= 2
    for text in differ:
        assert category["message"].str.contains(text, regex=False).any(), text
