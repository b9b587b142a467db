"""Illustrative monthly demand: calibrated to the published years, seasonal, deterministic, reconciled."""
from __future__ import annotations

import copy
import datetime as dt
from collections import defaultdict

import numpy as np
import pytest

from dashboard.importers import demand
from dashboard.importers.demand import MARCH, SEPTEMBER, generate, reconcile

AREA = "E06000034"
OTHER = "E08000025"

#: Published figures of a made-up authority of middling size (every figure the generator takes).
ANNUAL = {
    MARCH: {
        2021: {"cp_open": 410, "cin_open": 3900, "lac_open": 700},
        2022: {"referrals": 6100, "rereferrals": 1300, "assessments": 6300, "assessments_45d_pct": 84.2, "s47": 2000,
               "icpc": 700, "icpc_15d_pct": 79.5, "cp_started": 590, "cp_ended": 560, "cp_open": 440,
               "cin_open": 3950, "lac_started": 260, "lac_ceased": 250, "lac_open": 710, "placements_20mi": 55},
        2023: {"referrals": 6400, "rereferrals": 1350, "assessments": 6500, "assessments_45d_pct": 81.0, "s47": 2100,
               "icpc": 720, "icpc_15d_pct": 75.3, "cp_started": 610, "cp_ended": 620, "cp_open": 430,
               "cin_open": 4000, "lac_started": 240, "lac_ceased": 270, "lac_open": 680, "placements_20mi": 60},
        2024: {"referrals": 6900, "rereferrals": 1500, "assessments": 7000, "assessments_45d_pct": 86.7, "s47": 2300,
               "icpc": 760, "icpc_15d_pct": 81.0, "cp_started": 650, "cp_ended": 600, "cp_open": 480,
               "cin_open": 4100, "lac_started": 280, "lac_ceased": 260, "lac_open": 700, "placements_20mi": 48},
    },
    SEPTEMBER: {
        2021: {"sw_fte": 300.5, "agency_fte": 50.0, "vacancies": 60.2, "caseload": 16.1},
        2022: {"sw_fte": 310.0, "agency_fte": 55.5, "vacancies": 58.0, "caseload": 15.4},
        2023: {"sw_fte": 320.7, "agency_fte": 45.1, "vacancies": 50.0, "caseload": 15.9},
        2024: {"sw_fte": 318.2, "agency_fte": 40.0, "vacancies": 52.3, "caseload": 16.8},
    },
}
YEARS = (2022, 2023, 2024)
FLOWS = [m for m in demand.METRICS if m.kind == "flow" and m.key != "contacts"]
STOCKS_MARCH = [m for m in demand.METRICS if m.kind == "stock" and m.section == MARCH]
STOCKS_SEPT = [m for m in demand.METRICS if m.section == SEPTEMBER]
PCTS = [m for m in demand.METRICS if m.kind == "pct"]


@pytest.fixture(scope="module")
def rows():
    return generate(AREA, ANNUAL)


def table(rows) -> dict[str, dict[dt.date, float]]:
    out: dict[str, dict[dt.date, float]] = defaultdict(dict)
    for r in rows:
        out[r["metric_id"]][r["period_end"]] = r["value"]
    return out


def year_values(t, metric_id, year):
    return [t[metric_id][d] for d in demand.months_of_year_to_march(year)]


# --------------------------------------------------------------------------- shape


def test_rows_shape_and_labels(rows):
    assert len(rows) == 20 * 36
    assert {r["metric_id"] for r in rows} == {m.metric_id for m in demand.METRICS}
    assert {tuple(sorted(r)) for r in rows} == {
        ("area_code", "calibrated", "illustrative", "metric_id", "note", "period_end", "value")}
    assert all(r["illustrative"] is True and r["area_code"] == AREA for r in rows)
    assert all(r["note"].startswith("Illustrative: generated, not a real figure.") for r in rows)
    months = sorted({r["period_end"] for r in rows})
    assert len(months) == 36 and months[0] == dt.date(2021, 4, 30) and months[-1] == dt.date(2024, 3, 31)
    assert all((d + dt.timedelta(days=1)).day == 1 for d in months)


def test_values_are_plausible(rows):
    t = table(rows)
    for m in demand.METRICS:
        for v in t[m.metric_id].values():
            assert v is not None and v >= 0
            if m.kind == "pct":
                assert 0 <= v <= 100
            elif m.decimals == 0:
                assert isinstance(v, int)
    for d in t["demand_referrals"]:
        assert t["demand_contacts"][d] >= t["demand_referrals"][d]
        assert t["demand_rereferrals"][d] <= t["demand_referrals"][d]


# --------------------------------------------------------------------------- calibration


@pytest.mark.parametrize("metric", FLOWS, ids=lambda m: m.metric_id)
def test_flow_months_add_up_to_the_published_year(rows, metric):
    t = table(rows)
    for year in YEARS:
        assert sum(year_values(t, metric.metric_id, year)) == ANNUAL[MARCH][year][metric.key]


@pytest.mark.parametrize("metric", STOCKS_MARCH, ids=lambda m: m.metric_id)
def test_march_stock_equals_the_published_31_march_figure(rows, metric):
    t = table(rows)
    for year in YEARS:
        assert t[metric.metric_id][dt.date(year, 3, 31)] == ANNUAL[MARCH][year][metric.key]


@pytest.mark.parametrize("metric", STOCKS_SEPT, ids=lambda m: m.metric_id)
def test_september_workforce_equals_the_published_30_september_figure(rows, metric):
    t = table(rows)
    for year in (2021, 2022, 2023):
        assert t[metric.metric_id][dt.date(year, 9, 30)] == pytest.approx(ANNUAL[SEPTEMBER][year][metric.key])


@pytest.mark.parametrize("metric", PCTS, ids=lambda m: m.metric_id)
def test_percentages_weighted_by_their_counts_give_the_published_year(rows, metric):
    t = table(rows)
    den = demand.BY_KEY[metric.denominator].metric_id
    for year in YEARS:
        pcts, counts = year_values(t, metric.metric_id, year), year_values(t, den, year)
        timely = sum(p * c / 100 for p, c in zip(pcts, counts))
        # each month's percentage is rounded to 0.1, so the timely count is recovered to within 0.05% x count
        assert abs(timely - round(timely)) <= 0.0005 * max(counts) * 12
        assert round(timely) == round(ANNUAL[MARCH][year][metric.key] / 100 * sum(counts))


def test_everything_published_is_calibrated_except_contacts(rows):
    """Workforce months before 30 September 2021 lie after an unpublished 30 September 2020: uncalibrated."""
    sept = {m.metric_id for m in STOCKS_SEPT}
    for r in rows:
        if r["metric_id"] in sept and r["period_end"] < dt.date(2021, 9, 30):
            assert r["calibrated"] is False and "30 September 2020" in r["note"], r
        else:
            assert r["calibrated"] is (r["metric_id"] != "demand_contacts"), r
    contacts = [r for r in rows if r["metric_id"] == "demand_contacts"]
    assert all("no published counterpart" in r["note"] for r in contacts)


def test_contacts_are_referrals_times_the_documented_multiplier(rows):
    t = table(rows)
    for year in YEARS:
        assert sum(year_values(t, "demand_contacts", year)) == round(
            ANNUAL[MARCH][year]["referrals"] * demand.CONTACTS_PER_REFERRAL)


# --------------------------------------------------------------------------- seasonality


def test_referrals_dip_in_august_and_december_and_rise_in_october(rows):
    t = table(rows)
    for year in YEARS:
        months = demand.months_of_year_to_march(year)
        values = dict(zip([d.month for d in months], year_values(t, "demand_referrals", year)))
        mean = sum(values.values()) / 12
        assert values[8] < mean, year
        assert values[12] < mean, year
        assert values[10] > mean and values[10] > values[8], year


def test_seasonal_profile_averages_one():
    assert sum(demand.SEASONAL_PROFILE.values()) / 12 == pytest.approx(1.0)


def test_august_is_below_the_mean_for_most_seeds():
    """Not an accident of one seed: August referrals are below the year's mean for 20 seeds out of 20."""
    for seed in range(20):
        t = table(generate(AREA, ANNUAL, seed=seed))
        for year in YEARS:
            aug = t["demand_referrals"][dt.date(year - 1, 8, 31)]
            assert aug < ANNUAL[MARCH][year]["referrals"] / 12


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_rows(rows):
    assert generate(AREA, ANNUAL) == rows
    assert generate(AREA, copy.deepcopy(ANNUAL), seed=demand.SEED) == rows


def test_another_seed_or_authority_gives_another_series(rows):
    base = [r["value"] for r in rows if r["metric_id"] == "demand_referrals"]
    other_seed = [r["value"] for r in generate(AREA, ANNUAL, seed=1) if r["metric_id"] == "demand_referrals"]
    other_area = [r["value"] for r in generate(OTHER, ANNUAL) if r["metric_id"] == "demand_referrals"]
    assert base != other_seed and base != other_area
    assert sum(other_area[:12]) == sum(base[:12])  # still calibrated to the same year


# --------------------------------------------------------------------------- missing figures


def test_a_missing_figure_comes_from_a_proxy_and_is_flagged():
    annual = copy.deepcopy(ANNUAL)
    del annual[MARCH][2023]["cp_started"]  # not published for one year: the nearest year's figure
    for year in YEARS:
        annual[MARCH][year].pop("s47")  # never published: a proxy
    annual[MARCH][2024]["lac_open"] = None  # suppressed
    t_rows = generate(AREA, annual)
    by = defaultdict(list)
    for r in t_rows:
        by[(r["metric_id"], demand.year_to_march_of(r["period_end"]))].append(r)
    assert all(not r["calibrated"] for r in by[("demand_cp_started", 2023)])
    assert "31 March 2022" in by[("demand_cp_started", 2023)][0]["note"]  # nearest year: 2022 before 2024
    assert all(r["calibrated"] for r in by[("demand_cp_started", 2024)])
    assert sum(r["value"] for r in by[("demand_cp_started", 2023)]) == 590
    for year in YEARS:
        s47 = by[("demand_s47", year)]
        assert all(not r["calibrated"] and "Uncalibrated" in r["note"] and "proxy" in r["note"] for r in s47)
        # the proxy: initial child protection conferences / 0.37
        assert sum(r["value"] for r in s47) == round(ANNUAL[MARCH][year]["icpc"] / 0.37)
    assert all(not r["calibrated"] for r in by[("demand_lac_open", 2024)])
    assert all(r["calibrated"] for r in by[("demand_lac_open", 2023)])
    assert reconcile(t_rows, annual) == []


def test_only_referrals_is_enough():
    annual = {MARCH: {2024: {"referrals": 1200}}}
    rows = generate(AREA, annual)
    assert len(rows) == 720
    assert all(not r["calibrated"] for r in rows if r["metric_id"] != "demand_referrals")
    assert all(r["value"] is None or r["value"] >= 0 for r in rows)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="neither referrals nor children in need"):
        generate(AREA, {MARCH: {2024: {"cp_open": 100}}})
    with pytest.raises(ValueError, match="unknown figure"):
        generate(AREA, {MARCH: {2024: {"referals": 100}}})
    with pytest.raises(ValueError, match="negative"):
        generate(AREA, {MARCH: {2024: {"referrals": -1}}})
    with pytest.raises(ValueError, match="number"):
        generate(AREA, {MARCH: {2024: {"referrals": "c"}}})
    with pytest.raises(ValueError, match="unknown section"):
        generate(AREA, {"year_to_march": {}})


def test_end_year_and_years():
    rows = generate(AREA, ANNUAL, end_year=2023, years=2)
    months = sorted({r["period_end"] for r in rows})
    assert months[0] == dt.date(2021, 4, 30) and months[-1] == dt.date(2023, 3, 31)


# --------------------------------------------------------------------------- reconcile


def test_reconcile_is_silent_when_all_agree(rows):
    assert reconcile(rows, ANNUAL) == []


def test_reconcile_flags_a_tampered_month(rows):
    tampered = [dict(r) for r in rows]
    for r in tampered:
        if r["metric_id"] == "demand_referrals" and r["period_end"] == dt.date(2022, 11, 30):
            r["value"] += 7
    warnings = reconcile(tampered, ANNUAL)
    assert warnings == ["demand_referrals: year to 31 March 2023: the 12 months add up to 6,407 but DfE published "
                        "6,400."]


def test_reconcile_flags_stocks_workforce_and_percentages(rows):
    tampered = [dict(r) for r in rows]
    for r in tampered:
        if r["metric_id"] == "demand_cp_open" and r["period_end"] == dt.date(2024, 3, 31):
            r["value"] = 500
        if r["metric_id"] == "demand_sw_fte" and r["period_end"] == dt.date(2022, 9, 30):
            r["value"] = 300.0
        if r["metric_id"] == "demand_assessments_45d_pct" and demand.year_to_march_of(r["period_end"]) == 2022:
            r["value"] = 50.0
        if r["metric_id"] == "demand_cp_open" and r["period_end"] == dt.date(2023, 2, 28):
            r["value"] = 999  # not a March: stocks are checked at 31 March only
    warnings = reconcile(tampered, ANNUAL)
    assert len(warnings) == 3
    assert any(w.startswith("demand_cp_open: year to 31 March 2024") and "500" in w and "480" in w for w in warnings)
    assert any(w.startswith("demand_sw_fte: 30 September 2022") and "300.0" in w and "310.0" in w for w in warnings)
    assert any(w.startswith("demand_assessments_45d_pct: year to 31 March 2022") and "50.0%" in w and "84.2%" in w
               for w in warnings)


def test_reconcile_skips_incomplete_years_and_other_metrics(rows):
    partial = [r for r in rows if not (r["metric_id"] == "demand_referrals" and r["period_end"].month == 5)]
    partial.append(dict(metric_id="referrals", area_code=AREA, period_end=dt.date(2024, 3, 31), value=1))
    assert reconcile(partial, ANNUAL) == []


def test_reconcile_needs_one_area():
    mixed = generate(AREA, ANNUAL) + generate(OTHER, ANNUAL)
    with pytest.raises(ValueError, match="several areas"):
        reconcile(mixed, ANNUAL)
    assert reconcile(mixed, ANNUAL, area_code=OTHER) == []


# --------------------------------------------------------------------------- from DfE's files


@pytest.fixture(scope="module")
def observations():
    from dashboard.importers import dfe

    rows, _sources = dfe.read_observations()
    return rows


def test_real_published_figures_of_two_authorities(observations):
    series = {}
    for area in (AREA, OTHER):
        annual = demand.annual_from_observations(observations, area)
        # the newest year to 31 March the files publish both figures for (read from the data, not pinned)
        latest = max(y for y, v in annual[MARCH].items() if v.get("referrals") and v.get("cin_open"))
        assert annual[MARCH][latest - 1]["referrals"] > 0 and annual[SEPTEMBER][latest - 1]["sw_fte"] > 0
        rows = generate(area, annual, end_year=latest)
        assert reconcile(rows, annual) == []
        t = table(rows)
        assert sum(year_values(t, "demand_referrals", latest)) == annual[MARCH][latest]["referrals"]
        assert t["demand_cin_open"][dt.date(latest, 3, 31)] == annual[MARCH][latest]["cin_open"]
        series[area] = np.array(year_values(t, "demand_referrals", latest))
    assert series[AREA].sum() != series[OTHER].sum()
