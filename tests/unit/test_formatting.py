"""Numbers as people read them."""
from __future__ import annotations

import math

import pytest

from dashboard.formatting import delta_text, is_missing, number, status_meaning, value_text
from dashboard.registry import Unit

MINUS = "\u2212"


@pytest.fixture(scope="module")
def m(registry):
    """One registry metric per unit, with the decimals the test expects."""
    picks = {
        "count": "cp_plans_31mar",
        "percent": "sw_agency_rate",
        "rate": "cp_rate_31mar",
        "days": "sickness_days_local",
        "cases": "sw_caseload",
        "percent2": "training_compliance",
    }
    out = {k: registry.metric(v) for k, v in picks.items()}
    assert (out["count"].unit, out["count"].decimals) == (Unit.COUNT, 0)
    assert (out["percent"].unit, out["percent"].decimals) == (Unit.PERCENT, 1)
    assert (out["rate"].unit, out["rate"].decimals) == (Unit.RATE_PER_10000, 1)
    assert (out["days"].unit, out["days"].decimals) == (Unit.DAYS, 2)
    assert (out["cases"].unit, out["cases"].decimals) == (Unit.CASES_PER_FTE, 1)
    assert (out["percent2"].unit, out["percent2"].decimals) == (Unit.PERCENT, 2)
    return out


@pytest.mark.parametrize(
    "kind, value, expected",
    [
        ("count", 285, "285"),
        ("count", 1234, "1,234"),
        ("count", 51080.0, "51,080"),
        ("count", 1234567, "1,234,567"),
        ("count", 0, "0"),
        ("percent", 42, "42.0%"),
        ("percent", 23.95, "24.0%"),  # half up
        ("percent", 0.04, "0.0%"),
        ("rate", 68.25, "68.3 per 10,000"),  # half up, as DfE rounds (Python's round gives 68.2)
        ("rate", 68.3, "68.3 per 10,000"),
        ("rate", 12345.67, "12,345.7 per 10,000"),
        ("days", 4.32, "4.32 days"),
        ("days", 9, "9.00 days"),
        ("cases", 12.25, "12.3 cases per FTE"),
        ("percent2", 94.47, "94.47%"),
        ("percent2", 96, "96.00%"),
    ],
)
def test_value_text_by_unit(m, kind, value, expected):
    assert value_text(m[kind], value) == expected


def test_value_text_without_unit(m):
    assert value_text(m["rate"], 68.25, with_unit=False) == "68.3"
    assert value_text(m["percent"], 1234.5, with_unit=False) == "1,234.5"


@pytest.mark.parametrize("status", ["c", "k", "u", "x", "z", ":", "low"])
def test_suppressed_values_show_their_symbol(m, status):
    assert value_text(m["count"], None, status) == status
    assert value_text(m["rate"], float("nan"), status) == status
    assert status_meaning(status) != "No value"


@pytest.mark.parametrize("status", ["", "missing"])
def test_missing_values_say_no_data(m, status):
    assert value_text(m["count"], None, status) == "no data"
    assert value_text(m["percent"], float("nan"), status) == "no data"


def test_a_zero_is_a_number_not_missing(m):
    assert value_text(m["count"], 0, "") == "0"
    assert value_text(m["count"], 0.0, "c") == "0"  # a value wins over a stray symbol


def test_status_meanings():
    assert "Confidential" in status_meaning("c") and "1 to 5" in status_meaning("c")
    assert "zero" in status_meaning("k").lower()
    assert status_meaning("") == "No value"
    assert status_meaning("?") == "No value"


@pytest.mark.parametrize(
    "kind, delta, expected",
    [
        ("count", 5, "+5"),
        ("count", -6, f"{MINUS}6"),
        ("count", 0, "±0"),
        ("count", 1500, "+1,500"),
        ("rate", 2.25, "+2.3"),
        ("rate", -2.25, f"{MINUS}2.3"),
        ("percent", 1.5, "+1.5 points"),
        ("percent", -0.3, f"{MINUS}0.3 points"),
        ("percent", 0.0, "±0.0 points"),
        # a change that rounds to nothing has no direction
        ("percent", 0.04, "±0.0 points"),
        ("rate", -0.04, "±0.0"),
        ("days", -1.255, f"{MINUS}1.26"),
    ],
)
def test_delta_text(m, kind, delta, expected):
    assert delta_text(m[kind], delta) == expected


def test_delta_text_missing(m):
    assert delta_text(m["count"], None) == ""
    assert delta_text(m["count"], float("nan")) == ""


def test_number_and_is_missing():
    assert number(0.125, 2) == "0.13"
    assert number(2.675, 2) == "2.68"
    assert number(1234.5, 0) == "1,235"
    assert number(None, 1) == ""
    assert is_missing(None) and is_missing(float("nan")) and is_missing(math.nan)
    assert not is_missing(0) and not is_missing(0.0) and not is_missing("c")
