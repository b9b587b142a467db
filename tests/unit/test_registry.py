"""The shipped metric registry (data/metrics.yaml) and the registry's validation rules.

The expected ids, topics, breakdown codes and links below are the project's specification,
written out here independently of the YAML so that a change to either is caught.
"""
from __future__ import annotations

import copy
import datetime as dt
import re

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from dashboard.config import DEFAULT_DATA_DIR
from dashboard.registry import (
    Metric,
    PeriodType,
    Polarity,
    RegistryError,
    Unit,
    load_registry,
    parse_registry,
)

REGISTRY_PATH = DEFAULT_DATA_DIR / "metrics.yaml"

EXPECTED_TOPICS = {
    "child_protection": "Child protection",
    "children_in_need": "Children in need and referrals",
    "looked_after": "Looked-after children",
    "care_leavers": "Care leavers",
    "workforce": "Social work workforce",
    "training": "Training and supervision",
    "demand": "Demand pressures (monthly)",
}

EXPECTED_IDS = {
    "child_protection": [
        "cp_plans_31mar", "cp_rate_31mar", "cp_by_category", "cp_by_age", "cp_by_gender",
        "cp_started", "cp_started_rate", "cp_subsequent_pct",
        # DfE's published series by category of abuse (2013-2022) and England's plans by age
        "cp_category_31mar", "cp_category_31mar_rate", "cp_category_started", "cp_category_started_pct",
        "cp_category_started_rate", "cp_by_age_england",
        # LAIT's child protection measures
        "s47_rate", "icpc_rate", "icpc_15_days_pct", "cp_ceased_rate", "cp_2yrs_31mar_pct", "cp_2yrs_ceased_pct",
        "cp_reviewed_on_time_pct",
    ],
    "children_in_need": [
        "cin_31mar", "cin_rate_31mar", "cin_cases_local", "referrals", "referral_rate", "rereferral_pct",
        "referrals_nfa_pct", "assessments_45_days_pct",
    ],
    "looked_after": [
        "lac_31mar", "lac_rate_31mar", "lac_out_of_borough_local", "lac_placed_20_miles",
        "lac_new_placements_20_miles", "uasc_31mar",
        "lac_started", "lac_started_rate", "lac_ceased", "lac_ceased_rate", "lac_3plus_placements",
        "lac_3plus_placements_pct", "lac_long_term_stable", "lac_long_term_stable_pct", "lac_health_checks_pct",
        "lac_dental_checks_pct", "lac_vaccinations_pct", "lac_missing_pct", "lac_away_pct",
    ],
    "care_leavers": [
        "care_leavers_19_21", "care_leavers_eet", "care_leavers_eet_pct", "care_leavers_suitable_accommodation",
        "care_leavers_accommodation_pct", "care_leavers_not_in_touch_pct",
    ],
    "workforce": [
        "sw_agency_rate", "sw_vacancy_rate", "sw_turnover_rate", "sw_caseload", "sw_absence_rate",
        "sw_agency_rate_local", "sw_turnover_local", "sickness_days_local",
    ],
    "training": ["training_compliance", "supervision_compliance"],
    # monthly demand (issue 10): the 20 series of the illustrative generator, written out here, not imported
    "demand": [
        "demand_contacts", "demand_referrals", "demand_rereferrals", "demand_assessments",
        "demand_assessments_45d_pct", "demand_s47", "demand_icpc", "demand_icpc_15d_pct", "demand_cp_started",
        "demand_cp_ended", "demand_cp_open", "demand_cin_open", "demand_lac_started", "demand_lac_ceased",
        "demand_lac_open", "demand_placements_20mi", "demand_sw_fte", "demand_agency_fte", "demand_vacancies",
        "demand_caseload",
    ],
}
DEMAND_IDS = EXPECTED_IDS["demand"]
ALL_IDS = [mid for ids in EXPECTED_IDS.values() for mid in ids]

EXPECTED_BREAKDOWNS = {
    "category_of_abuse": ["NEG", "EMO", "PHY", "SAB", "MUL"],
    "category_of_abuse_latest": ["NEG", "EMO", "PHY", "SAB", "MUL"],
    "age_group_dfe": ["unborn", "under_1", "1-4", "5-9", "10-15", "16_plus"],
    "age_band": ["unborn", "0-4", "5-11", "12-16", "17"],
    "gender": ["male", "female", "unborn"],
    "training_level": ["L1", "L2", "L3", "PREVENT1", "PREVENT2"],
    "supervision_type": ["group", "individual"],
    "placement_location": ["inside_lt20", "inside_gt20", "outside_lt20", "outside_gt20", "not_known"],
}

EXPECTED_METRIC_BREAKDOWNS = {
    "cp_by_category": ["category_of_abuse", "category_of_abuse_latest"],
    "cp_category_31mar": ["category_of_abuse", "category_of_abuse_latest"],
    "cp_category_31mar_rate": ["category_of_abuse", "category_of_abuse_latest"],
    "cp_category_started": ["category_of_abuse", "category_of_abuse_latest"],
    "cp_category_started_pct": ["category_of_abuse", "category_of_abuse_latest"],
    "cp_category_started_rate": ["category_of_abuse", "category_of_abuse_latest"],
    "cp_by_age_england": ["age_group_dfe"],
    "cp_by_age": ["age_band"],
    "cp_by_gender": ["gender"],
    "training_compliance": ["training_level"],
    "supervision_compliance": ["supervision_type"],
    "lac_new_placements_20_miles": ["placement_location"],
}

EXPECTED_COMPARABLE = {
    "cin_cases_local": "cin_31mar",
    "lac_out_of_borough_local": "lac_placed_20_miles",
    "sw_agency_rate_local": "sw_agency_rate",
    "sw_turnover_local": "sw_turnover_rate",
    "sickness_days_local": "sw_absence_rate",
    "cp_by_age": "cp_by_age_england",  # the national reference: DfE's age groups differ from the local bands
    # monthly demand: the published annual figure each month series is reconciled with, where DfE has one
    "demand_referrals": "referrals",
    "demand_rereferrals": "rereferral_pct",
    "demand_assessments_45d_pct": "assessments_45_days_pct",
    "demand_s47": "s47_rate",
    "demand_icpc": "icpc_rate",
    "demand_icpc_15d_pct": "icpc_15_days_pct",
    "demand_cp_started": "cp_started",
    "demand_cp_ended": "cp_ceased_rate",
    "demand_cp_open": "cp_plans_31mar",
    "demand_cin_open": "cin_31mar",
    "demand_lac_started": "lac_started",
    "demand_lac_ceased": "lac_ceased",
    "demand_lac_open": "lac_31mar",
    "demand_placements_20mi": "lac_new_placements_20_miles",
    "demand_agency_fte": "sw_agency_rate",
    "demand_vacancies": "sw_vacancy_rate",
    "demand_caseload": "sw_caseload",
}

# cp_by_category is DfE's published series now; the seed report's figures sit in it as a local return
LOCAL_IDS = {mid for mid in ALL_IDS if mid.endswith("_local")} | {
    "cp_by_age", "cp_by_gender", "training_compliance", "supervision_compliance",
} | set(DEMAND_IDS)

# Snapshot vs flow matters: a snapshot and a flow must never be drawn as one series.
EXPECTED_PERIOD_TYPES = {
    "cp_plans_31mar": "snapshot_31_march",
    "cp_rate_31mar": "snapshot_31_march",
    "cp_started": "year_to_31_march",
    "cp_started_rate": "year_to_31_march",
    "cp_subsequent_pct": "year_to_31_march",
    "cin_31mar": "snapshot_31_march",
    "cin_rate_31mar": "snapshot_31_march",
    "referrals": "year_to_31_march",
    "referral_rate": "year_to_31_march",
    "rereferral_pct": "year_to_31_march",
    "lac_31mar": "snapshot_31_march",
    "lac_rate_31mar": "snapshot_31_march",
    "lac_new_placements_20_miles": "year_to_31_march",
    "uasc_31mar": "snapshot_31_march",
    "sw_agency_rate": "snapshot_30_september",
    "sw_vacancy_rate": "snapshot_30_september",
    "sw_caseload": "snapshot_30_september",
    "sw_turnover_rate": "year_to_30_september",
    "sw_absence_rate": "year_to_30_september",
    "sw_agency_rate_local": "month",
    "sw_turnover_local": "year_to_31_march",
    "sickness_days_local": "year_to_31_march",
    "training_compliance": "month",
    "supervision_compliance": "quarter",
    "cp_by_category": "snapshot_31_march",
    "cp_category_31mar": "snapshot_31_march",
    "cp_category_started": "year_to_31_march",
    "cp_category_started_pct": "year_to_31_march",
    "s47_rate": "year_to_31_march",
    "icpc_rate": "year_to_31_march",
    "icpc_15_days_pct": "year_to_31_march",
    "cp_ceased_rate": "year_to_31_march",
    "cp_2yrs_31mar_pct": "snapshot_31_march",
    "cp_2yrs_ceased_pct": "year_to_31_march",
    "cp_reviewed_on_time_pct": "year_to_31_march",
    "referrals_nfa_pct": "year_to_31_march",
    "assessments_45_days_pct": "year_to_31_march",
    "lac_started": "year_to_31_march",
    "lac_started_rate": "year_to_31_march",
    "lac_ceased_rate": "year_to_31_march",
    "lac_3plus_placements_pct": "snapshot_31_march",
    "lac_long_term_stable_pct": "snapshot_31_march",
    "lac_health_checks_pct": "snapshot_31_march",
    "lac_missing_pct": "year_to_31_march",
    "care_leavers_eet_pct": "year_to_31_march",
    "care_leavers_accommodation_pct": "year_to_31_march",
}

# DfE's published decimals: rates 1 dp except the looked-after rate (whole number); LAIT's
# placement-distance percentage is a whole number; training compliance is reported to 2 dp.
EXPECTED_DECIMALS = {
    "cp_plans_31mar": 0,
    "cp_rate_31mar": 1,
    "cin_rate_31mar": 1,
    "referral_rate": 1,
    "lac_rate_31mar": 0,
    "lac_placed_20_miles": 0,
    "rereferral_pct": 1,
    "sw_agency_rate": 1,
    "sw_caseload": 1,
    "training_compliance": 2,
    "supervision_compliance": 2,
    # LAIT: CIN and CP percentages and rates to 1 dp; looked-after and care-leaver ones whole numbers
    "s47_rate": 1,
    "icpc_15_days_pct": 1,
    "cp_reviewed_on_time_pct": 1,
    "assessments_45_days_pct": 1,
    "lac_started_rate": 0,
    "lac_ceased_rate": 0,
    "lac_3plus_placements_pct": 0,
    "lac_health_checks_pct": 0,
    "care_leavers_eet_pct": 0,
    "care_leavers_accommodation_pct": 0,
    "cp_category_31mar_rate": 1,
    "cp_by_category": 1,
}

EXPECTED_POLARITY = {
    "cp_rate_31mar": "neutral",
    "cin_rate_31mar": "neutral",
    "lac_rate_31mar": "neutral",
    "cp_plans_31mar": "neutral",
    "uasc_31mar": "neutral",
    "sw_agency_rate": "lower_better",
    "sw_vacancy_rate": "lower_better",
    "sw_turnover_rate": "lower_better",
    "sw_absence_rate": "lower_better",
    "sw_caseload": "lower_better",
    "sickness_days_local": "lower_better",
    "rereferral_pct": "lower_better",
    "cp_subsequent_pct": "lower_better",
    "lac_out_of_borough_local": "lower_better",
    "lac_placed_20_miles": "lower_better",
    "lac_new_placements_20_miles": "lower_better",
    "training_compliance": "higher_better",
    "supervision_compliance": "higher_better",
    # LAIT's polarity column: High, Low, or blank (neutral)
    "s47_rate": "neutral",
    "icpc_rate": "neutral",
    "icpc_15_days_pct": "higher_better",
    "cp_ceased_rate": "neutral",
    "cp_2yrs_31mar_pct": "lower_better",
    "cp_2yrs_ceased_pct": "lower_better",
    "cp_reviewed_on_time_pct": "higher_better",
    "referrals_nfa_pct": "neutral",
    "assessments_45_days_pct": "higher_better",
    "lac_started_rate": "neutral",
    "lac_ceased_rate": "neutral",
    "lac_3plus_placements_pct": "lower_better",
    "lac_long_term_stable_pct": "higher_better",
    "lac_health_checks_pct": "higher_better",
    "lac_dental_checks_pct": "higher_better",
    "lac_vaccinations_pct": "higher_better",
    "lac_missing_pct": "neutral",
    "lac_away_pct": "neutral",
    "care_leavers_eet_pct": "higher_better",
    "care_leavers_accommodation_pct": "higher_better",
    "care_leavers_not_in_touch_pct": "lower_better",
}

ILLUSTRATIVE_TARGET_IDS = [
    "sw_agency_rate", "sw_turnover_rate", "sw_vacancy_rate", "rereferral_pct", "cp_subsequent_pct",
    "lac_placed_20_miles", "lac_out_of_borough_local", "sw_caseload",
]

EES = "https://explore-education-statistics.service.gov.uk/find-statistics/"


@pytest.fixture(scope="module")
def registry():
    return load_registry(REGISTRY_PATH)


@pytest.fixture()
def raw():
    """The shipped registry as plain data, for building invalid variants of it."""
    return yaml.safe_load(REGISTRY_PATH.read_text(encoding="utf-8"))


def _metric(doc: dict, metric_id: str) -> dict:
    return next(m for m in doc["metrics"] if m["id"] == metric_id)


def _parse(doc: dict):
    return parse_registry(yaml.safe_dump(doc, sort_keys=False), "metrics.yaml")


# -- the shipped registry ------------------------------------------------------------------


def test_shipped_registry_loads(registry):
    assert registry.version == 1
    assert len(registry.metrics) == len(ALL_IDS)


def test_every_specified_metric_id_is_present_and_no_other(registry):
    assert sorted(registry.ids) == sorted(ALL_IDS)
    assert len(set(registry.ids)) == len(registry.ids)


def test_topics_are_the_specified_ones_and_each_has_its_metrics(registry):
    assert {t.id: t.title for t in registry.topics} == EXPECTED_TOPICS
    for topic in registry.topics:
        assert topic.description.strip(), topic.id
        assert sorted(m.id for m in registry.by_topic(topic.id)) == sorted(EXPECTED_IDS[topic.id])


def test_breakdown_dimensions_and_codes_in_display_order(registry):
    assert set(registry.breakdowns) == set(EXPECTED_BREAKDOWNS)
    for dim, codes in EXPECTED_BREAKDOWNS.items():
        b = registry.breakdowns[dim]
        assert b.title.strip()
        assert list(b.values) == codes, dim
        assert all(label.strip() for label in b.values.values()), dim


def test_only_exclusive_and_exhaustive_breakdowns_must_add_up(registry):
    # Each training level and supervision type is its own compliance rate: they do not sum.
    partitions = {k for k, b in registry.breakdowns.items() if b.partition}
    assert partitions == {"category_of_abuse", "category_of_abuse_latest", "age_band", "age_group_dfe", "gender",
                          "placement_location"}


def test_every_breakdown_used_is_defined(registry):
    used = {b for m in registry.metrics for b in m.breakdowns}
    assert used <= set(registry.breakdowns)
    assert {m.id: m.breakdowns for m in registry.metrics if m.breakdowns} == EXPECTED_METRIC_BREAKDOWNS


def test_every_metric_has_its_descriptive_fields(registry):
    for m in registry.metrics:
        for field in ("title", "short_title", "definition", "methodology", "source"):
            assert getattr(m, field).strip(), f"{m.id}.{field}"
        assert len(m.short_title) <= 30, m.id
        if m.unit not in (Unit.COUNT, Unit.FTE):
            assert m.numerator and m.denominator, f"{m.id}: a rate needs its numerator and denominator"


def test_rates_per_10000_state_the_dfe_population_convention(registry):
    rates = [m for m in registry.metrics if m.unit is Unit.RATE_PER_10000]
    assert {m.id for m in rates} == {
        "cp_rate_31mar", "cp_started_rate", "cin_rate_31mar", "referral_rate", "lac_rate_31mar",
        "cp_category_31mar_rate", "cp_category_started_rate", "s47_rate", "icpc_rate", "cp_ceased_rate",
        "lac_started_rate", "lac_ceased_rate",
    }
    for m in rates:
        assert "ONS mid-year estimate" in m.methodology, m.id
        assert "0-17" in m.denominator, m.id
        assert "10,000" in m.title, m.id


def test_period_types(registry):
    for mid, expected in EXPECTED_PERIOD_TYPES.items():
        assert registry.metric(mid).period_type is PeriodType(expected), mid


def test_decimals(registry):
    for mid, expected in EXPECTED_DECIMALS.items():
        assert registry.metric(mid).decimals == expected, mid
    for m in registry.metrics:
        if m.unit is Unit.COUNT:
            assert m.decimals == 0, m.id


def test_polarity(registry):
    for mid, expected in EXPECTED_POLARITY.items():
        assert registry.metric(mid).polarity is Polarity(expected), mid
    for m in registry.metrics:
        if m.unit is Unit.COUNT:
            assert m.polarity is Polarity.NEUTRAL, m.id


def test_local_metrics_and_what_they_shadow(registry):
    assert {m.id for m in registry.metrics if m.local} == LOCAL_IDS
    assert {m.id: m.comparable_with for m in registry.metrics if m.comparable_with} == EXPECTED_COMPARABLE
    for local_id, published_id in EXPECTED_COMPARABLE.items():
        assert not registry.metric(published_id).local, published_id
        assert registry.metric(local_id).notes.strip(), f"{local_id} must say how it differs"


def test_published_metrics_link_to_their_ees_publication(registry):
    for m in registry.metrics:
        if m.local:
            continue
        assert m.source.startswith("Department for Education"), m.id
        assert m.source_url and m.source_url.startswith(EES), m.id
    assert registry.metric("cp_rate_31mar").source_url.endswith("characteristics-of-children-in-need")
    assert registry.metric("lac_31mar").source_url.endswith("children-looked-after-in-england-including-adoptions")
    assert registry.metric("sw_caseload").source_url.endswith("children-s-social-work-workforce")


def test_suppression_rules(registry):
    for m in registry.metrics:
        if m.unit in (Unit.COUNT, Unit.RATE_PER_10000):
            assert m.suppression.rule == "small_numbers", m.id
        if m.topic == "workforce" or m.unit in (Unit.FTE, Unit.CASES_PER_FTE):  # staff FTE, not children
            assert m.suppression.rule == "none", m.id
    assert registry.metric("training_compliance").suppression.rule == "none"
    assert registry.metric("supervision_compliance").suppression.rule == "none"


def test_demand_metrics_are_monthly_local_and_illustrative_until_imported(registry):
    assert len(DEMAND_IDS) == 20
    units = {m.id: m.unit.value for m in registry.by_topic("demand")}
    assert {mid for mid, u in units.items() if u == "fte"} == {"demand_sw_fte", "demand_agency_fte",
                                                                "demand_vacancies"}
    assert {mid for mid, u in units.items() if u == "percent"} == {"demand_assessments_45d_pct",
                                                                    "demand_icpc_15d_pct"}
    assert units["demand_caseload"] == "cases_per_fte"
    for mid in DEMAND_IDS:
        m = registry.metric(mid)
        assert m.period_type is PeriodType.MONTH, mid
        assert m.local, mid
        assert m.source == "Local case system, monthly; illustrative until a return is imported", mid
        assert m.suppression.rule == ("none" if m.unit in (Unit.FTE, Unit.CASES_PER_FTE) else "small_numbers"), mid
        assert m.decimals == (0 if m.unit is Unit.COUNT else 1), mid
        assert "Illustrative" in m.notes, mid
    assert registry.metric("demand_contacts").comparable_with is None  # DfE does not collect contacts
    (target,) = registry.metric("demand_caseload").targets
    assert target.value == 18 and target.illustrative


def test_agencies(registry):
    assert registry.metric("training_compliance").agencies == [
        "NELFT", "Essex Police", "Thurrock Council", "Probation", "Schools",
    ]
    assert registry.metric("supervision_compliance").agencies == ["NELFT"]


def test_every_target_has_a_source_and_illustrative_ones_say_so(registry):
    for m in registry.metrics:
        for t in m.targets:
            assert t.source.strip(), m.id
            assert t.illustrative == t.source.startswith("Illustrative"), f"{m.id}: {t.source}"


def test_neutral_metrics_have_no_targets(registry):
    for m in registry.metrics:
        if m.polarity is Polarity.NEUTRAL:
            assert m.targets == [], m.id


def test_metrics_with_targets_have_a_tolerance(registry):
    for m in registry.metrics:
        if m.targets:
            assert m.tolerance.value > 0, m.id


def test_real_targets_from_the_seed(registry):
    nelft, probation, general = registry.metric("training_compliance").targets
    assert (nelft.value, nelft.agency, nelft.illustrative) == (80, "NELFT", False)
    assert (probation.value, probation.agency, probation.illustrative) == (95, "Probation", False)
    assert (general.value, general.agency, general.illustrative) == (80, None, True)
    assert registry.metric("training_compliance").tolerance.value == 5
    (sup,) = registry.metric("supervision_compliance").targets
    assert sup.value == 85 and not sup.illustrative
    (sick,) = registry.metric("sickness_days_local").targets
    assert sick.value == 9 and not sick.illustrative
    assert registry.metric("sickness_days_local").tolerance.value == 1


def test_illustrative_targets_are_marked(registry):
    for mid in ILLUSTRATIVE_TARGET_IDS:
        targets = registry.metric(mid).targets
        assert targets, mid
        assert all(t.illustrative for t in targets), mid


# -- invalid registries ---------------------------------------------------------------------


def test_unknown_unit_names_metric_and_field(raw):
    _metric(raw, "cp_rate_31mar")["unit"] = "per_cent"
    with pytest.raises(RegistryError) as err:
        _parse(raw)
    msg = str(err.value)
    assert "metric 'cp_rate_31mar', field 'unit'" in msg
    assert "per_cent" in msg


def test_unknown_topic_names_metric_and_field(raw):
    _metric(raw, "referrals")["topic"] = "early_help"
    with pytest.raises(RegistryError) as err:
        _parse(raw)
    msg = str(err.value)
    assert "metric 'referrals'" in msg
    assert "topic 'early_help'" in msg


def test_duplicate_id_names_metric_and_field(raw):
    dup = copy.deepcopy(_metric(raw, "uasc_31mar"))
    dup["title"] = "A second metric with the same id"
    raw["metrics"].append(dup)
    with pytest.raises(RegistryError) as err:
        _parse(raw)
    assert re.search(r"metric 'uasc_31mar': id is used twice", str(err.value))


def test_undefined_breakdown_names_metric_and_field(raw):
    _metric(raw, "cp_by_age")["breakdowns"] = ["age_group"]
    with pytest.raises(RegistryError) as err:
        _parse(raw)
    msg = str(err.value)
    assert "metric 'cp_by_age'" in msg
    assert "breakdown 'age_group'" in msg


def test_overlapping_targets_name_metric_and_field(raw):
    targets = _metric(raw, "sw_agency_rate")["targets"]
    targets[0]["end"] = dt.date(2021, 9, 30)  # now overlaps the one starting 2020-09-30
    with pytest.raises(RegistryError) as err:
        _parse(raw)
    msg = str(err.value)
    assert "metric 'sw_agency_rate', field 'targets'" in msg
    assert "overlap" in msg


def test_targets_for_different_agencies_may_overlap(raw):
    # The shipped training targets are open-ended for NELFT, Probation and everyone else at once.
    reg = _parse(raw)
    assert len(reg.metric("training_compliance").targets) == 3


def test_target_ending_before_it_starts_is_rejected(raw):
    _metric(raw, "rereferral_pct")["targets"][0].update(start=dt.date(2020, 3, 31), end=dt.date(2019, 3, 31))
    with pytest.raises(RegistryError) as err:
        _parse(raw)
    assert "metric 'rereferral_pct', field 'targets.0'" in str(err.value)


def test_target_without_source_is_rejected(raw):
    _metric(raw, "sw_caseload")["targets"][0]["source"] = ""
    with pytest.raises(RegistryError) as err:
        _parse(raw)
    assert "metric 'sw_caseload', field 'targets.0.source'" in str(err.value)


def test_unknown_extra_field_names_metric_and_field(raw):
    _metric(raw, "lac_31mar")["colour"] = "red"
    with pytest.raises(RegistryError) as err:
        _parse(raw)
    msg = str(err.value)
    assert "metric 'lac_31mar', field 'colour'" in msg
    assert "Extra inputs are not permitted" in msg


def test_unknown_field_inside_a_target_is_rejected(raw):
    _metric(raw, "sickness_days_local")["targets"][0]["owner"] = "HR"
    with pytest.raises(RegistryError) as err:
        _parse(raw)
    assert "metric 'sickness_days_local', field 'targets.0.owner'" in str(err.value)


def test_missing_required_field_names_metric_and_field(raw):
    del _metric(raw, "cin_31mar")["polarity"]
    with pytest.raises(RegistryError) as err:
        _parse(raw)
    assert "metric 'cin_31mar', field 'polarity'" in str(err.value)


def test_bad_yaml_is_reported_with_the_file(tmp_path):
    path = tmp_path / "metrics.yaml"
    path.write_text("version: 1\ntopics: [\n  - id: x\n", encoding="utf-8")
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    msg = str(err.value)
    assert str(path) in msg
    assert "not valid YAML" in msg


def test_yaml_that_is_not_a_mapping_is_rejected():
    with pytest.raises(RegistryError, match="expected a mapping"):
        parse_registry("- just\n- a list\n")


def test_missing_file_is_reported(tmp_path):
    path = tmp_path / "nowhere" / "metrics.yaml"
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    msg = str(err.value)
    assert str(path) in msg
    assert "missing" in msg


def test_every_problem_is_reported_at_once(raw):
    _metric(raw, "cp_rate_31mar")["unit"] = "per_cent"
    _metric(raw, "sw_caseload")["decimals"] = 7
    with pytest.raises(RegistryError) as err:
        _parse(raw)
    msg = str(err.value)
    assert "metric 'cp_rate_31mar', field 'unit'" in msg
    assert "metric 'sw_caseload', field 'decimals'" in msg


def test_a_written_copy_of_the_shipped_registry_loads(raw, tmp_path):
    path = tmp_path / "metrics.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    assert sorted(load_registry(path).ids) == sorted(ALL_IDS)


# -- choosing the target in force -----------------------------------------------------------


def test_target_changes_over_time(registry):
    m = registry.metric("sw_agency_rate")
    assert m.target_for(dt.date(2017, 9, 30)).value == 20
    assert m.target_for(dt.date(2020, 9, 29)).value == 20
    assert m.target_for(dt.date(2020, 9, 30)).value == 15
    assert m.target_for(dt.date(2025, 9, 30)).value == 15


def test_agency_specific_target_comes_before_the_general_one(registry):
    m = registry.metric("training_compliance")
    day = dt.date(2017, 3, 31)
    nelft = m.target_for(day, "NELFT")
    assert (nelft.value, nelft.illustrative) == (80, False)
    assert m.target_for(day, "Probation").value == 95
    other = m.target_for(day, "Essex Police")
    assert (other.value, other.agency, other.illustrative) == (80, None, True)
    assert m.target_for(day).illustrative  # the whole area gets the general target


def test_metric_without_targets_has_none(registry):
    assert registry.metric("cp_rate_31mar").target_for(dt.date(2017, 3, 31)) is None


def _bounded_metric() -> Metric:
    return Metric.model_validate(
        {
            "id": "example",
            "title": "Example",
            "short_title": "Example",
            "topic": "training",
            "definition": "d",
            "methodology": "m",
            "unit": "percent",
            "decimals": 1,
            "polarity": "higher_better",
            "period_type": "quarter",
            "source": "s",
            "targets": [
                {"value": 70, "source": "plan A", "start": "2017-04-01", "end": "2018-03-31"},
                {"value": 75, "source": "plan B", "start": "2018-04-01", "end": "2019-03-31"},
                {"value": 90, "source": "agency plan", "start": "2018-01-01", "end": "2018-06-30", "agency": "NELFT"},
            ],
        }
    )


def test_target_for_respects_inclusive_date_ranges():
    m = _bounded_metric()
    assert m.target_for(dt.date(2017, 4, 1)).value == 70
    assert m.target_for(dt.date(2018, 3, 31)).value == 70
    assert m.target_for(dt.date(2018, 4, 1)).value == 75
    assert m.target_for(dt.date(2019, 3, 31)).value == 75


def test_target_for_is_none_outside_every_range():
    m = _bounded_metric()
    assert m.target_for(dt.date(2017, 3, 31)) is None
    assert m.target_for(dt.date(2019, 4, 1)) is None
    assert m.target_for(dt.date(2019, 4, 1), "NELFT") is None


def test_agency_target_applies_only_to_its_agency_and_its_dates():
    m = _bounded_metric()
    assert m.target_for(dt.date(2018, 3, 31), "NELFT").value == 90
    assert m.target_for(dt.date(2018, 6, 30), "NELFT").value == 90
    assert m.target_for(dt.date(2018, 3, 31), "Schools").value == 70  # another agency: general
    assert m.target_for(dt.date(2018, 3, 31)).value == 70  # whole area: general
    assert m.target_for(dt.date(2018, 7, 1), "NELFT").value == 75  # agency's own has ended


@given(day=st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(2021, 12, 31)),
       agency=st.sampled_from([None, "", "NELFT", "Schools"]))
def test_target_for_returns_a_target_that_applies(day, agency):
    m = _bounded_metric()
    chosen = m.target_for(day, agency)
    covering = [t for t in m.targets if t.applies(day, agency)]
    if chosen is None:
        assert covering == []
    else:
        assert chosen.applies(day, agency)
        # an applicable agency-specific target always wins over a general one
        if any(t.agency for t in covering):
            assert chosen.agency == agency


# -- what suppression needs from the registry: forgetting it fails validation --------------------


def test_a_rate_per_10000_without_its_count_metric_is_refused(raw):
    _metric(raw, "cp_rate_31mar")["suppression"] = {"rule": "small_numbers"}
    with pytest.raises(RegistryError, match=r"metric 'cp_rate_31mar'.*count_metric"):
        _parse(raw)


def test_a_rate_per_10000_may_say_it_has_no_count_metric(raw):
    _metric(raw, "cp_rate_31mar")["suppression"] = {"rule": "small_numbers", "count_metric": None}
    assert _parse(raw).metric("cp_rate_31mar").suppression.count_metric is None


def test_a_share_breakdown_without_its_total_metric_is_refused(raw):
    _metric(raw, "cp_by_gender")["suppression"] = {"rule": "small_numbers"}
    with pytest.raises(RegistryError, match=r"cp_by_gender.*total_metric"):
        _parse(raw)


@pytest.mark.parametrize("field", ["count_metric", "total_metric"])
def test_suppression_links_must_name_a_count_metric(raw, field):
    _metric(raw, "cp_by_gender")["suppression"] = {"rule": "small_numbers", "total_metric": None,
                                                   field: "cp_rate_31mar"}
    with pytest.raises(RegistryError, match=f"suppression.{field} 'cp_rate_31mar' is not a count metric"):
        _parse(raw)


def test_headline_cell_must_be_a_code_of_the_metric_s_breakdown(raw):
    _metric(raw, "lac_new_placements_20_miles")["headline_cell"] = {"breakdown": "placement_location", "value": "far"}
    with pytest.raises(RegistryError, match="headline_cell value 'far'"):
        _parse(raw)


def test_registry_links_replace_the_old_code_tables(registry):
    """The facts that lived in code (COUNT_OF_RATE, HEADLINE_CELL) are registry fields now."""
    rates = {m.id: m.suppression.count_metric for m in registry.metrics if m.suppression.count_metric}
    assert rates == {"cp_rate_31mar": "cp_plans_31mar", "cp_started_rate": "cp_started",
                     "cin_rate_31mar": "cin_31mar", "referral_rate": "referrals", "lac_rate_31mar": "lac_31mar",
                     "cp_category_31mar_rate": "cp_category_31mar", "cp_category_started_rate": "cp_category_started",
                     "lac_started_rate": "lac_started", "lac_ceased_rate": "lac_ceased"}
    cell = registry.metric("lac_new_placements_20_miles").headline_cell
    assert (cell.breakdown, cell.value) == ("placement_location", "outside_gt20")
    for mid in ("cp_by_category", "cp_by_age", "cp_by_gender"):
        assert registry.metric(mid).suppression.total_metric == "cp_plans_31mar"


@pytest.mark.parametrize("notes", ["1% of 294 is about 3 children", "The categories sum to 297, not 294.",
                                   "The age bands sum to 289, not the 294 children given."])
def test_notes_that_give_away_a_small_number_need_external_wording(raw, notes):
    m = _metric(raw, "cp_plans_31mar")
    m["notes"] = notes
    m.pop("notes_external", None)
    with pytest.raises(RegistryError, match=r"metric 'cp_plans_31mar'.*notes_external"):
        _parse(raw)


def test_external_wording_is_itself_checked(raw):
    _metric(raw, "cp_plans_31mar")["notes_external"] = "About 3 children are left out."
    with pytest.raises(RegistryError, match="notes_external quotes figures"):
        _parse(raw)


def test_notes_without_small_numbers_need_no_external_wording(raw):
    m = _metric(raw, "cp_plans_31mar")
    m["notes"] = "A snapshot at 31 March 2017; 68.3 per 10,000 children aged 0-17; see 2016-17."
    m.pop("notes_external", None)
    parsed = _parse(raw).metric("cp_plans_31mar")
    assert parsed.external_notes == m["notes"]


def test_shipped_notes_external_viewers_read_give_nothing_away(registry):
    from dashboard.registry import derivable_small_numbers

    for m in registry.metrics:
        if m.suppression.rule == "small_numbers":
            assert derivable_small_numbers(m.external_notes) == [], m.id


def test_imported_targets_replace_only_overlapping_targets_of_their_agency():
    """Snapshot.effective_registry: an imported target replaces the registry's targets for the same metric and
    agency whose periods overlap it; other agencies' targets, and other periods', stay (issue 13)."""
    import pandas as pd

    from dashboard.data import Snapshot

    registry = load_registry(REGISTRY_PATH)
    targets = pd.DataFrame([
        {"metric_id": "training_compliance", "value": 85.0, "start": None, "end": None, "agency": "NELFT",
         "source": "Test", "tolerance": None, "tolerance_kind": None, "illustrative": False},
        {"metric_id": "sw_agency_rate", "value": 18.0, "start": dt.date(2021, 9, 30), "end": None, "agency": None,
         "source": "Test", "tolerance": None, "tolerance_kind": None, "illustrative": False},
    ])
    empty = pd.DataFrame()
    snap = Snapshot(version_id=1, version_label="t", built_at=dt.datetime(2020, 1, 1), frame=empty, areas=empty,
                    neighbours=empty, sources=empty, flags=empty, targets=targets)
    eff = snap.effective_registry(registry)
    got = {(t.value, t.agency) for t in eff.metric("training_compliance").targets}
    assert got == {(85.0, "NELFT"), (95.0, "Probation"), (80.0, None)}
    # the 2021 target overlaps the registry's open-ended one from 30/09/2020 only: the one to 29/09/2020 stays
    got = {(t.value, t.start, t.end) for t in eff.metric("sw_agency_rate").targets}
    assert got == {(18.0, dt.date(2021, 9, 30), None), (20.0, None, dt.date(2020, 9, 29))}
    assert eff.metric("cp_plans_31mar") == registry.metric("cp_plans_31mar")


# --------------------------------------------------------------------------- partnership frameworks

ORIGINAL_30 = ("cp_plans_31mar cp_rate_31mar cp_by_category cp_by_age cp_by_gender cp_started cp_started_rate "
               "cp_subsequent_pct cin_31mar cin_rate_31mar cin_cases_local referrals referral_rate rereferral_pct "
               "lac_31mar lac_rate_31mar lac_out_of_borough_local lac_placed_20_miles lac_new_placements_20_miles "
               "uasc_31mar sw_agency_rate sw_vacancy_rate sw_turnover_rate sw_caseload sw_absence_rate "
               "sw_agency_rate_local sw_turnover_local sickness_days_local training_compliance "
               "supervision_compliance").split()


def test_the_default_framework_is_the_original_thirty_in_topic_order(registry):
    fw = registry.framework()
    assert fw.id == "partnership" and fw.metrics == ORIGINAL_30
    assert registry.framework_ids() == ORIGINAL_30
    topics = [t.id for t in registry.topics]
    order = [topics.index(registry.metric(m).topic) for m in fw.metrics]
    assert order == sorted(order)
    assert len(registry.metrics) > len(ORIGINAL_30)


def test_a_framework_is_chosen_by_name_and_an_unknown_name_fails(registry):
    from dashboard.registry import UnknownFramework

    assert registry.framework("lait_timeliness").metrics[0] == "icpc_15_days_pct"
    with pytest.raises(UnknownFramework, match="nope"):
        registry.framework("nope")


@pytest.mark.parametrize("change, message", [
    (lambda fw: fw["metrics"].append("no_such_metric"), "metric 'no_such_metric' is not a metric id"),
    (lambda fw: fw["metrics"].append(fw["metrics"][0]), "is listed twice"),
    (lambda fw: fw.update(targets={"s47_rate": [{"value": 1, "source": "x"}]}), "which the framework does not list"),
    (lambda fw: fw.update(extra_field=1), "extra_field"),
    (lambda fw: fw.update(metrics=[]), "metrics"),
])
def test_an_invalid_framework_is_refused_by_name(raw, change, message):
    doc = copy.deepcopy(raw)
    change(doc["frameworks"][0])
    with pytest.raises(RegistryError, match=re.escape(message)):
        _parse(doc)


def test_overlapping_framework_targets_are_refused(raw):
    doc = copy.deepcopy(raw)
    doc["frameworks"][0]["targets"] = {"rereferral_pct": [{"value": 20, "source": "a"}, {"value": 21, "source": "b"}]}
    with pytest.raises(RegistryError, match="targets overlap"):
        _parse(doc)


def test_a_frameworks_local_targets_replace_the_metrics_own_while_it_is_active(raw):
    doc = copy.deepcopy(raw)
    doc["frameworks"][0]["targets"] = {"rereferral_pct": [{"value": 17.5, "source": "Partnership plan 2026"}]}
    reg = _parse(doc)
    active = reg.with_framework()
    assert [t.value for t in active.metric("rereferral_pct").targets] == [17.5]
    assert reg.with_framework("lait_timeliness").metric("rereferral_pct").targets == reg.metric("rereferral_pct").targets
    assert active.metric("referrals") is reg.metric("referrals")


def test_a_registry_without_frameworks_shows_every_metric(raw):
    doc = copy.deepcopy(raw)
    del doc["frameworks"]
    reg = _parse(doc)
    assert reg.framework() is None and reg.framework_ids() == reg.ids
