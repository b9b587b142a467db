"""Illustrative history: deterministic, always marked, never over a real point."""
from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from dashboard.importers import illustrative
from dashboard.importers.returns import read_return_file

THURROCK = "E06000034"
CODES = {"883": THURROCK, THURROCK: THURROCK}
CELL = ("metric_id", "area_code", "period_end", "agency", "breakdown", "breakdown_value")


def cell(r):
    return tuple(r[k] for k in CELL)


@pytest.fixture(scope="module")
def real_rows(registry, dfe):
    parsed, _source = read_return_file(dfe.local_csv, registry, CODES)
    assert parsed.errors == []
    return parsed.rows


@pytest.fixture(scope="module")
def generated(real_rows):
    return illustrative.generate(THURROCK, real_rows)


def test_deterministic(real_rows, generated):
    again = illustrative.generate(THURROCK, [dict(r) for r in real_rows])
    assert again == generated
    assert len(generated) > 0


def test_every_row_is_marked(generated):
    assert illustrative.SOURCE["kind"] == "illustrative"
    for r in generated:
        assert r["illustrative"] is True
        assert r["source_key"] == illustrative.SOURCE["key"]
        assert r["area_code"] == THURROCK
        assert r["status"] == ""
        assert r["numerator"] is None and r["denominator"] is None and r["published_value"] is None
        assert "Illustrative" in r["note"]


def test_only_training_and_supervision(generated):
    assert {r["metric_id"] for r in generated} == {"training_compliance", "supervision_compliance"}


def test_values_between_40_and_100(generated):
    values = [r["value"] for r in generated]
    assert all(40 <= v <= 100 for v in values)
    assert min(values) < max(values)  # a history, not a flat line


def test_never_on_a_real_cell(real_rows, generated):
    real = {cell(r) for r in real_rows}
    assert not real & {cell(r) for r in generated}
    # each generated cell once
    dup = [c for c, n in Counter(cell(r) for r in generated).items() if n > 1]
    assert dup == []


def test_history_ends_before_the_first_real_point(real_rows, generated):
    first_real: dict[tuple, dt.date] = {}
    for r in real_rows:
        if r["metric_id"] in ("training_compliance", "supervision_compliance"):
            key = (r["metric_id"], r["agency"], r["breakdown_value"])
            first_real[key] = min(first_real.get(key, r["period_end"]), r["period_end"])
    assert first_real  # the seed has NELFT's training and supervision figures
    for r in generated:
        key = (r["metric_id"], r["agency"], r["breakdown_value"])
        if key in first_real:
            assert r["period_end"] < first_real[key]
    # every real NELFT series gets a history
    generated_keys = {(r["metric_id"], r["agency"], r["breakdown_value"]) for r in generated}
    assert set(first_real) <= generated_keys


def test_supervision_history_is_quarterly(generated):
    ends = sorted({r["period_end"] for r in generated if r["metric_id"] == "supervision_compliance"})
    assert ends and all((e.month, e.day) in {(3, 31), (6, 30), (9, 30), (12, 31)} for e in ends)
    assert ends[-1] < dt.date(2017, 3, 31)


def _real(metric_id, period_end, agency, breakdown, value):
    bvalue = value[0]
    return dict(metric_id=metric_id, area_code=THURROCK, period_end=period_end, agency=agency,
                breakdown=breakdown, breakdown_value=bvalue, value=value[1])


def test_real_points_for_other_agencies_and_earlier_periods(real_rows):
    """Real rows where the generator would otherwise invent figures: none of them is covered."""
    extra = [
        # an agency the generator fills in by itself
        _real("training_compliance", dt.date(2016, 9, 30), "Probation", "training_level", ("L1", 91.0)),
        # an earlier real NELFT point, given after the later one
        _real("training_compliance", dt.date(2016, 6, 30), "NELFT", "training_level", ("L1", 93.0)),
        # two real supervision quarters for the same type
        _real("supervision_compliance", dt.date(2016, 9, 30), "NELFT", "supervision_type", ("group", 95.0)),
    ]
    rows = list(real_rows) + extra
    gen = illustrative.generate(THURROCK, rows)
    real = {cell(r) for r in rows}
    assert not real & {cell(r) for r in gen}
    assert [c for c, n in Counter(cell(r) for r in gen).items() if n > 1] == []
    for r in gen:
        if (r["agency"], r["breakdown_value"]) == ("Probation", "L1"):
            assert r["period_end"] < dt.date(2016, 9, 30)
        if (r["agency"], r["breakdown_value"]) == ("NELFT", "L1"):
            assert r["period_end"] < dt.date(2016, 6, 30)
        if (r["metric_id"], r["breakdown_value"]) == ("supervision_compliance", "group"):
            assert r["period_end"] < dt.date(2016, 9, 30)


def test_other_areas_get_no_history_from_thurrock_rows(real_rows):
    gen = illustrative.generate("E09000007", real_rows)
    assert {r["area_code"] for r in gen} == {"E09000007"}
    assert "NELFT" not in {r["agency"] for r in gen}  # NELFT's figures are Thurrock's
    assert not any(r["metric_id"] == "supervision_compliance" for r in gen)
