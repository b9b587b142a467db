"""Period labels: the label is part of the number (guide section 3)."""
from __future__ import annotations

import datetime as dt

import pytest

from dashboard.periods import financial_year, period_end_for_year, period_label
from dashboard.registry import PeriodType

D = dt.date

# One expectation for every period type, so a new type cannot slip through unlabelled.
LABELS = {
    PeriodType.YEAR_TO_31_MARCH: (D(2017, 3, 31), "2016-17"),
    PeriodType.SNAPSHOT_31_MARCH: (D(2017, 3, 31), "31 Mar 2017"),
    PeriodType.SNAPSHOT_30_SEPTEMBER: (D(2017, 9, 30), "30 Sep 2017"),
    PeriodType.YEAR_TO_30_SEPTEMBER: (D(2017, 9, 30), "Year to 30 Sep 2017"),
    PeriodType.MONTH: (D(2016, 8, 31), "Aug 2016"),
    PeriodType.QUARTER: (D(2017, 3, 31), "2016-17 Q4"),
}


def test_every_period_type_has_an_expectation():
    assert set(LABELS) == set(PeriodType)


@pytest.mark.parametrize("period_type", list(PeriodType))
def test_label_for_each_period_type(period_type):
    end, expected = LABELS[period_type]
    assert period_label(period_type, end) == expected
    # the registry stores the type as text: the same label either way
    assert period_label(period_type.value, end) == expected


@pytest.mark.parametrize(
    "end, expected",
    [
        (D(2016, 6, 30), "2016-17 Q1"),
        (D(2016, 9, 30), "2016-17 Q2"),
        (D(2016, 12, 31), "2016-17 Q3"),
        (D(2017, 3, 31), "2016-17 Q4"),
        (D(2017, 6, 30), "2017-18 Q1"),
        (D(2000, 3, 31), "1999-00 Q4"),
    ],
)
def test_quarters_are_financial_quarters(end, expected):
    assert period_label(PeriodType.QUARTER, end) == expected


@pytest.mark.parametrize(
    "end, expected",
    [(D(2016, 1, 31), "Jan 2016"), (D(2017, 3, 31), "Mar 2017"), (D(2017, 6, 30), "Jun 2017"),
     (D(2017, 12, 31), "Dec 2017")],
)
def test_month_labels(end, expected):
    assert period_label(PeriodType.MONTH, end) == expected


@pytest.mark.parametrize(
    "end, expected",
    [(D(2014, 3, 31), "2013-14"), (D(2000, 3, 31), "1999-00"), (D(2010, 3, 31), "2009-10"), (D(2025, 3, 31), "2024-25")],
)
def test_financial_years(end, expected):
    assert period_label(PeriodType.YEAR_TO_31_MARCH, end) == expected
    assert financial_year(end.year) == expected


def test_unknown_period_type_is_refused():
    with pytest.raises(ValueError):
        period_label("fortnight", D(2017, 3, 31))


@pytest.mark.parametrize(
    "period_type, expected",
    [
        (PeriodType.YEAR_TO_31_MARCH, D(2017, 3, 31)),
        (PeriodType.SNAPSHOT_31_MARCH, D(2017, 3, 31)),
        (PeriodType.SNAPSHOT_30_SEPTEMBER, D(2017, 9, 30)),
        (PeriodType.YEAR_TO_30_SEPTEMBER, D(2017, 9, 30)),
    ],
)
def test_dfe_time_period_as_a_date(period_type, expected):
    assert period_end_for_year(period_type, 2017) == expected
