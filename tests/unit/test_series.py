"""Series, comparators and change: pure functions over small hand-made observation frames."""
from __future__ import annotations

import datetime as dt
import statistics

import pandas as pd
import pytest

from dashboard.analysis.series import cell_series, change_from_previous, headline_cell, neighbour_median, resolve
from dashboard.registry import Polarity

D = dt.date


def metric_like(registry, metric_id: str, **update):
    return registry.metric(metric_id).model_copy(update=update)


# --------------------------------------------------------------------------- resolve


def _kinds(obs_frame, *kinds):
    values = {"published": 285.0, "local_return": 294.0, "illustrative": 300.0}
    return obs_frame(*[dict(metric_id="cp_plans_31mar", source_kind=k, source_key=f"{k}/file", value=values[k])
                       for k in kinds])


@pytest.mark.parametrize(
    "kinds, winner",
    [
        (("illustrative", "local_return", "published"), "published"),
        (("published", "illustrative", "local_return"), "published"),
        (("local_return", "published"), "published"),
        (("illustrative", "local_return"), "local_return"),
        (("local_return", "illustrative"), "local_return"),
        (("illustrative",), "illustrative"),
    ],
)
def test_resolve_precedence(obs, kinds, winner):
    out = resolve(_kinds(obs, *kinds))
    assert len(out) == 1
    assert out["source_kind"].iloc[0] == winner
    assert out["value"].iloc[0] == {"published": 285.0, "local_return": 294.0, "illustrative": 300.0}[winner]


def test_resolve_keeps_different_cells_apart(obs):
    frame = obs(
        dict(source_kind="local_return", period_end=D(2016, 3, 31), value=289.0),
        dict(source_kind="published", period_end=D(2017, 3, 31), value=285.0),
        dict(source_kind="local_return", period_end=D(2017, 3, 31), value=294.0),
        dict(source_kind="illustrative", agency="NELFT", value=90.0),
        dict(source_kind="illustrative", breakdown="training_level", breakdown_value="L1", value=91.0),
        dict(source_kind="illustrative", area_code="E06000035", value=92.0),
    )
    out = resolve(frame)
    assert len(out) == 5
    cells = {(r.area_code, r.period_end, r.agency, r.breakdown_value): r.value for r in out.itertuples()}
    assert cells[("E06000034", D(2016, 3, 31), "", "")] == 289.0  # the only source for that year
    assert cells[("E06000034", D(2017, 3, 31), "", "")] == 285.0
    assert cells[("E06000034", D(2017, 3, 31), "NELFT", "")] == 90.0
    assert cells[("E06000034", D(2017, 3, 31), "", "L1")] == 91.0
    assert cells[("E06000035", D(2017, 3, 31), "", "")] == 92.0


def test_resolve_published_wins_even_when_suppressed(obs):
    frame = obs(dict(source_kind="local_return", value=3.0),
                      dict(source_kind="published", value=None, status="c"))
    out = resolve(frame)
    assert len(out) == 1
    assert out["status"].iloc[0] == "c"
    assert pd.isna(out["value"].iloc[0])


def test_resolve_empty(obs):
    assert resolve(obs().iloc[0:0]).empty


# --------------------------------------------------------------------------- headline_cell


def _training_rows(obs_frame):
    """Two periods of an agency x level metric; the older period has the most extreme values."""
    rows = []
    for period, values in ((D(2017, 2, 28), {("NELFT", "L1"): 10.0, ("Probation", "L2"): 99.0}),
                           (D(2017, 3, 31), {("NELFT", "L1"): 96.0, ("NELFT", "L2"): 94.47, ("Probation", "L1"): 88.5,
                                             ("Probation", "L2"): float("nan"), ("Schools", "L3"): 97.5})):
        for (agency, level), v in values.items():
            rows.append(dict(metric_id="training_compliance", period_end=period, agency=agency,
                             breakdown="training_level", breakdown_value=level, value=v))
    return obs_frame(*rows)


def test_headline_total_first(registry, obs):
    m = registry.metric("cp_rate_31mar")
    rows = obs(dict(value=68.3), dict(agency="NELFT", value=99.0),
                     dict(breakdown="age_band", breakdown_value="0-4", value=120.0))
    assert headline_cell(m, rows) == ("", "", "", "")


@pytest.mark.parametrize(
    "polarity, expected_cell, expected_value",
    [
        (Polarity.HIGHER_BETTER, ("Probation", "training_level", "L1"), 88.5),  # lowest in the latest period
        (Polarity.LOWER_BETTER, ("Schools", "training_level", "L3"), 97.5),  # highest
        (Polarity.NEUTRAL, ("Schools", "training_level", "L3"), 97.5),  # largest
    ],
)
def test_headline_weakest_cell_by_polarity(registry, obs, polarity, expected_cell, expected_value):
    m = metric_like(registry, "training_compliance", polarity=polarity)
    rows = _training_rows(obs)
    agency, breakdown, bvalue, why = headline_cell(m, rows)
    assert (agency, breakdown, bvalue) == expected_cell
    latest = rows[(rows["period_end"] == D(2017, 3, 31)) & (rows["agency"] == agency) & (rows["breakdown_value"] == bvalue)]
    assert latest["value"].iloc[0] == expected_value
    assert "4" in why  # four cells had a value in the latest period (the NaN one does not count)
    assert "latest period" in why


def test_headline_as_of_picks_the_period_then(registry, obs):
    m = registry.metric("training_compliance")  # higher is better
    agency, breakdown, bvalue, _ = headline_cell(m, _training_rows(obs), as_of=D(2017, 3, 1))
    assert (agency, bvalue) == ("NELFT", "L1")  # 10.0 in February was the weakest
    assert headline_cell(m, _training_rows(obs), as_of=D(2016, 1, 1)) == ("", "", "", "")


def test_headline_all_missing_in_latest_period(registry, obs):
    m = registry.metric("training_compliance")
    rows = obs(dict(agency="NELFT", breakdown="training_level", breakdown_value="L2", value=None, status="x"),
                     dict(agency="NELFT", breakdown="training_level", breakdown_value="L1", value=None, status="x"),
                     dict(agency="NELFT", breakdown="training_level", breakdown_value="L1", value=50.0,
                          period_end=D(2016, 3, 31)))
    agency, breakdown, bvalue, why = headline_cell(m, rows)
    assert agency == "NELFT" and breakdown == "training_level" and bvalue in ("L1", "L2")
    assert why == "first cell of the latest period"


def test_headline_empty(registry, obs):
    assert headline_cell(registry.metric("training_compliance"), obs().iloc[0:0]) == ("", "", "", "")


# --------------------------------------------------------------------------- cell_series


def test_cell_series_sorted_oldest_first_and_filtered(obs):
    rows = obs(dict(period_end=D(2017, 3, 31), value=3.0), dict(period_end=D(2015, 3, 31), value=1.0),
                     dict(period_end=D(2016, 3, 31), value=2.0), dict(period_end=D(2016, 3, 31), agency="X", value=9.0))
    s = cell_series(rows)
    assert list(s["value"]) == [1.0, 2.0, 3.0]
    assert list(cell_series(rows, agency="X")["value"]) == [9.0]


# --------------------------------------------------------------------------- change_from_previous


def _series(obs_frame, values, labels=None):
    labels = labels or [f"{2014 + i}-{15 + i}" for i in range(len(values))]
    return obs_frame(*[dict(period_end=D(2015 + i, 3, 31), period_label=lbl, value=v)
                       for i, (v, lbl) in enumerate(zip(values, labels))])


@pytest.mark.parametrize(
    "polarity, values, direction",
    [
        (Polarity.HIGHER_BETTER, (90.0, 95.0), "improved"),
        (Polarity.HIGHER_BETTER, (95.0, 90.0), "worsened"),
        (Polarity.LOWER_BETTER, (20.0, 18.0), "improved"),
        (Polarity.LOWER_BETTER, (18.0, 20.0), "worsened"),
        (Polarity.NEUTRAL, (68.3, 71.1), "up"),
        (Polarity.NEUTRAL, (71.1, 68.3), "down"),
        (Polarity.HIGHER_BETTER, (90.0, 90.0), "no change"),
        (Polarity.LOWER_BETTER, (18.0, 18.0), "no change"),
        (Polarity.NEUTRAL, (68.3, 68.3), "no change"),
    ],
)
def test_change_direction_words(registry, obs, polarity, values, direction):
    m = metric_like(registry, "sw_agency_rate", polarity=polarity)  # 1 decimal place
    ch = change_from_previous(m, _series(obs, values), 1)
    assert ch.direction == direction
    assert ch.previous_value == values[0]
    assert ch.previous_label == "2014-15"
    assert ch.delta == pytest.approx(values[1] - values[0])
    assert ch.words == f"{direction} from 2014-15"


def test_change_smaller_than_shown_decimals_is_no_change(registry, obs):
    m = metric_like(registry, "sw_agency_rate", polarity=Polarity.LOWER_BETTER)  # 1 decimal place
    ch = change_from_previous(m, _series(obs, (68.30, 68.34)), 1)
    assert ch.direction == "no change"
    assert ch.delta == 0


def test_change_delta_is_rounded_to_the_metric_decimals(registry, obs):
    m = registry.metric("cp_plans_31mar")  # a count, 0 decimal places, neutral
    ch = change_from_previous(m, _series(obs, (291.0, 285.0)), 1)
    assert (ch.delta, ch.direction) == (-6.0, "down")


@pytest.mark.parametrize("values", [(None, 95.0), (90.0, None), (None, None)])
def test_change_with_a_missing_value(registry, obs, values):
    m = registry.metric("training_compliance")
    ch = change_from_previous(m, _series(obs, values), 1)
    assert ch.delta is None
    assert ch.direction == "no previous value"
    assert ch.words == "No earlier value to compare"
    if values[0] is None:
        assert ch.previous_value is None
    else:
        assert ch.previous_value == values[0]


@pytest.mark.parametrize("index", [0, 2, -1])
def test_change_without_a_previous_point(registry, obs, index):
    ch = change_from_previous(registry.metric("training_compliance"), _series(obs, (90.0, 95.0)), index)
    assert ch.delta is None and ch.direction == "no previous value"


# --------------------------------------------------------------------------- neighbour_median


NEIGHBOURS = [f"E0600{i:04d}" for i in range(10)]


def _area_rows(obs_frame, code, values_by_year):
    return obs_frame(*[dict(area_code=code, period_end=D(y, 3, 31), period_label=f"31 Mar {y}", value=v)
                       for y, v in values_by_year.items()])


def test_neighbour_median_and_half_rule(registry, obs):
    m = registry.metric("cp_rate_31mar")  # 1 decimal place
    data = {
        # 2015: 6 of 10 have a value -> kept; 2016: exactly 5 -> kept; 2017: 4 -> left out
        NEIGHBOURS[0]: {2015: 10.0, 2016: 1.0, 2017: 7.0},
        NEIGHBOURS[1]: {2015: 20.0, 2016: 2.0, 2017: 8.0},
        NEIGHBOURS[2]: {2015: 30.0, 2016: 3.0, 2017: 9.0},
        NEIGHBOURS[3]: {2015: 40.0, 2016: 4.0, 2017: 10.0},
        NEIGHBOURS[4]: {2015: 50.0, 2016: 5.0, 2017: None},
        NEIGHBOURS[5]: {2015: 1000.0, 2016: None},
        NEIGHBOURS[6]: {2015: None},
        # NEIGHBOURS[7..9]: no rows at all (e.g. an authority created later)
    }
    rows_by_area = {code: _area_rows(obs, code, v) for code, v in data.items()}
    rows_by_area[NEIGHBOURS[7]] = obs().iloc[0:0]
    out = neighbour_median(rows_by_area, NEIGHBOURS, m)
    assert list(out["period_end"]) == [D(2015, 3, 31), D(2016, 3, 31)]
    assert list(out["n"]) == [6, 5]
    assert list(out["value"]) == [statistics.median([10, 20, 30, 40, 50, 1000]), statistics.median([1, 2, 3, 4, 5])]
    assert list(out["period_label"]) == ["31 Mar 2015", "31 Mar 2016"]


def test_neighbour_median_rounds_half_up(registry, obs):
    m = registry.metric("cp_rate_31mar")  # 1 decimal place
    rows_by_area = {c: _area_rows(obs, c, {2017: v}) for c, v in zip(NEIGHBOURS, [2.2, 2.3, 2.2, 2.3])}
    out = neighbour_median(rows_by_area, NEIGHBOURS[:4], m)
    assert statistics.median([2.2, 2.3, 2.2, 2.3]) == pytest.approx(2.25)
    assert out["value"].iloc[0] == 2.3  # half up, as DfE rounds (Python's round gives 2.2)


def test_neighbour_median_uses_the_total_cell_only(registry, obs):
    m = registry.metric("cp_rate_31mar")
    rows_by_area = {}
    for i, code in enumerate(NEIGHBOURS[:2]):
        rows_by_area[code] = obs(dict(area_code=code, value=float(i + 1)),
                                       dict(area_code=code, breakdown="age_band", breakdown_value="0-4", value=500.0),
                                       dict(area_code=code, agency="NELFT", value=900.0))
    out = neighbour_median(rows_by_area, NEIGHBOURS[:2], m)
    assert list(out["value"]) == [1.5]
    assert list(out["n"]) == [2]


def test_neighbour_median_no_data(registry, obs):
    m = registry.metric("cp_rate_31mar")
    out = neighbour_median({}, NEIGHBOURS, m)
    assert out.empty
    assert {"period_end", "period_label", "value", "n"} <= set(out.columns)
    # one neighbour of ten is not enough for a median
    out = neighbour_median({NEIGHBOURS[0]: _area_rows(obs, NEIGHBOURS[0], {2017: 5.0})}, NEIGHBOURS, m)
    assert out.empty
