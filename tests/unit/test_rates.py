"""Rate arithmetic: DfE's definitions, exact decimal arithmetic, rounding half up."""
from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.analysis.rates import (
    MISSING,
    SUPPRESSION_SYMBOLS,
    agency_rate,
    caseload,
    parse_published,
    percentage,
    rate_per_10000,
    round_half_up,
    turnover_rate,
    vacancy_rate,
)

# --------------------------------------------------------------------------- round_half_up


@pytest.mark.parametrize(
    "x, decimals, expected",
    [
        (0.125, 2, 0.13),  # binary 0.125 is exact; round() goes to even: 0.12
        (2.675, 2, 2.68),  # binary 2.675 is 2.67499999...; round() gives 2.67
        (1.005, 2, 1.01),  # round() gives 1.0
        (68.25, 1, 68.3),  # round() gives 68.2
        (0.5, 0, 1.0),  # round() gives 0
        (2.5, 0, 3.0),  # round() gives 2
        (14.45, 1, 14.5),  # round() gives 14.4
    ],
)
def test_round_half_up_where_python_round_differs(x, decimals, expected):
    assert round(x, decimals) != expected, "not an edge case: Python's round agrees"
    assert round_half_up(x, decimals) == expected


@pytest.mark.parametrize(
    "x, decimals, expected",
    [
        (68.26, 1, 68.3),
        (68.24, 1, 68.2),
        (3.5, 0, 4.0),  # round() also gives 4 (even): both agree here
        (-2.5, 0, -3.0),  # halves go away from zero
        (-0.125, 2, -0.13),
        (7.0, 2, 7.0),
        (19.600000000000001, 1, 19.6),  # LAIT's float artefact
        (0.0, 1, 0.0),
    ],
)
def test_round_half_up_other_cases(x, decimals, expected):
    assert round_half_up(x, decimals) == expected


def test_round_half_up_rejects_negative_decimals_and_non_numbers():
    with pytest.raises(ValueError):
        round_half_up(1.25, -1)
    with pytest.raises(TypeError):
        round_half_up("1.25", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        round_half_up(float("nan"), 1)


@given(m=st.integers(min_value=-10**7, max_value=10**7), decimals=st.integers(min_value=0, max_value=3))
def test_round_half_up_matches_integer_arithmetic(m, decimals):
    # x has exactly one more decimal than we round to; rounding half up is then integer arithmetic.
    x = float(str(Decimal(m).scaleb(-(decimals + 1))))
    q, r = divmod(abs(m), 10)
    q += 1 if r >= 5 else 0
    expected = float(Decimal(q if m >= 0 else -q).scaleb(-decimals))
    assert round_half_up(x, decimals) == expected


# --------------------------------------------------------------------------- rates


def test_rate_per_10000_readme_example():
    # Thurrock, 31 March 2017: 285 child protection plans, 41,750 children (ONS mid-2016).
    assert rate_per_10000(285, 41_750) == 68.3
    assert rate_per_10000(285, 41_750, decimals=2) == 68.26
    assert rate_per_10000(285, 41_750, decimals=0) == 68.0


def test_rate_per_10000_half_up_on_the_exact_value():
    # 1 / 800 x 10,000 = 12.5 exactly -> 13 (round() would give 12).
    assert rate_per_10000(1, 800, decimals=0) == 13.0
    # 3 / 16 x 10,000 = 1875 -> 1875; 3 / 160,000 x 10,000 = 0.1875 -> 0.19 at 2 dp
    assert rate_per_10000(3, 160_000, decimals=2) == 0.19


@pytest.mark.parametrize("count, population", [(None, 100), (5, None), (5, 0), (5, -10), (float("nan"), 100)])
def test_rate_per_10000_none_when_it_cannot_be_formed(count, population):
    assert rate_per_10000(count, population) is None


def test_rate_of_zero_is_zero_not_none():
    assert rate_per_10000(0, 41_750) == 0.0
    assert percentage(0, 12) == 0.0


def test_percentage_is_exact_where_float_arithmetic_is_not():
    # 23 / 80 = 28.75% exactly, but 23 / 80 * 100 in binary floats is 28.749999999999996.
    assert 23 / 80 * 100 < 28.75
    assert percentage(23, 80) == 28.8
    assert percentage(41, 80) == 51.3
    assert percentage(1, 8, decimals=0) == 13.0  # 12.5 -> 13


@pytest.mark.parametrize("num, den", [(None, 10), (1, None), (1, 0)])
def test_percentage_none(num, den):
    assert percentage(num, den) is None


def test_workforce_rates_follow_the_guide():
    # agency rate = agency / (agency + in post): 30 agency, 162.3 in post (Thurrock, 30 Sep 2020)
    assert agency_rate(30, 162.3) == 15.6
    assert agency_rate(25, 75) == 25.0  # not 25 / 75 = 33.3
    # vacancy rate = vacancies / (vacancies + in post)
    assert vacancy_rate(35, 162.3) == 17.7
    assert vacancy_rate(10, 90) == 10.0  # not 10 / 90 = 11.1
    # turnover = leavers / in post
    assert turnover_rate(21.5, 162.3) == 13.2
    assert turnover_rate(15, 150) == 10.0
    # caseload = cases / case-holding FTE, 1 dp
    assert caseload(1421, 96.1) == 14.8
    assert caseload(150, 9) == 16.7


def test_workforce_rates_are_exact_on_decimal_fte():
    # 0.1 + 0.2 is not 0.3 in binary; the arithmetic here works on the written decimals.
    assert agency_rate(0.1, 0.2, decimals=6) == 33.333333
    assert vacancy_rate(0.3, 0.3, decimals=1) == 50.0
    assert agency_rate(1, 7, decimals=0) == 13.0  # 12.5 -> 13


@pytest.mark.parametrize("fn", [agency_rate, vacancy_rate, turnover_rate, caseload])
def test_workforce_rates_none_on_missing_or_zero(fn):
    assert fn(None, 10) is None
    assert fn(1, None) is None
    assert fn(0, 0) is None


# --------------------------------------------------------------------------- parse_published


@pytest.mark.parametrize(
    "text, expected",
    [
        ("68.3", 68.3),
        ("19.600000000000001", 19.6),
        ("1,234", 1234.0),
        ("12,183,016", 12_183_016.0),
        ("1,234.5", 1234.5),
        (" 42 ", 42.0),
        ("0", 0.0),
        ("-3.5", -3.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        (285, 285.0),
        (13.6, 13.6),
    ],
)
def test_parse_published_numbers(text, expected):
    value, status = parse_published(text)
    assert value == expected
    assert status == ""


@pytest.mark.parametrize(
    "text, symbol",
    [("c", "c"), ("C", "c"), (" k ", "k"), ("u", "u"), ("x", "x"), ("X ", "x"), ("z", "z"), (":", ":"),
     ("low", "low"), ("LOW", "low"), (" Low", "low")],
)
def test_parse_published_symbols_are_missing_never_zero(text, symbol):
    value, status = parse_published(text)
    assert value is None
    assert status == symbol
    assert status in SUPPRESSION_SYMBOLS


@pytest.mark.parametrize("text", ["", "   ", None, float("nan")])
def test_parse_published_empty_is_missing(text):
    assert parse_published(text) == (None, MISSING)
    assert MISSING == "missing"


@pytest.mark.parametrize("text", ["abc", "-", "1,23", "12%", "1.2.3", "nan", "inf", "c5", "lowish", True,
                                  float("inf")])
def test_parse_published_rejects_anything_else(text):
    with pytest.raises(ValueError) as info:
        parse_published(text)
    assert repr(text) in str(info.value)


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_parse_published_round_trips_any_float(x):
    value, status = parse_published(repr(x))
    assert status == ""
    assert value == x
    assert not math.isnan(value)
