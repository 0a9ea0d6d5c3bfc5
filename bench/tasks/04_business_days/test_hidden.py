from datetime import date, timedelta

import pytest
import script

# 2024-01-01 is a Monday.


def test_one_full_week():
    assert script.business_days_between(date(2024, 1, 1), date(2024, 1, 8)) == 5


def test_same_day_and_weekend_only():
    assert script.business_days_between(date(2024, 1, 3), date(2024, 1, 3)) == 0
    assert script.business_days_between(date(2024, 1, 6), date(2024, 1, 8)) == 0
    assert script.business_days_between(date(2024, 1, 5), date(2024, 1, 6)) == 1


def test_between_across_year_boundary():
    # Fri 2023-12-29 .. Tue 2024-01-02 (exclusive): Fri, Mon
    assert script.business_days_between(date(2023, 12, 29), date(2024, 1, 2)) == 2


def test_between_long_range():
    # The whole of 2024 (a leap year starting on Monday) has 262 weekdays.
    assert script.business_days_between(date(2024, 1, 1), date(2025, 1, 1)) == 262


def test_between_end_before_start_raises():
    with pytest.raises(ValueError):
        script.business_days_between(date(2024, 1, 10), date(2024, 1, 9))


def test_add_skips_weekend():
    assert script.add_business_days(date(2024, 1, 5), 1) == date(2024, 1, 8)  # Fri -> Mon
    assert script.add_business_days(date(2024, 1, 6), 1) == date(2024, 1, 8)  # Sat -> Mon
    assert script.add_business_days(date(2024, 1, 7), 1) == date(2024, 1, 8)  # Sun -> Mon
    assert script.add_business_days(date(2024, 1, 1), 5) == date(2024, 1, 8)  # Mon -> Mon
    assert script.add_business_days(date(2024, 1, 3), 2) == date(2024, 1, 5)  # Wed -> Fri


def test_add_across_leap_day():
    # Wed 2024-02-28 + 2 -> Thu 29th, Fri Mar 1st
    assert script.add_business_days(date(2024, 2, 28), 2) == date(2024, 3, 1)


def test_add_zero_and_negative():
    assert script.add_business_days(date(2024, 1, 6), 0) == date(2024, 1, 6)
    assert script.add_business_days(date(2024, 1, 2), 0) == date(2024, 1, 2)
    with pytest.raises(ValueError):
        script.add_business_days(date(2024, 1, 2), -1)


def test_add_and_between_agree():
    start = date(2023, 11, 20)
    for offset in range(14):
        day = start + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for n in range(0, 30):
            result = script.add_business_days(day, n)
            assert result.weekday() < 5
            assert script.business_days_between(day, result) == n
