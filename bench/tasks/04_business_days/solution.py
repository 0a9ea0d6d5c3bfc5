"""Business-day arithmetic on datetime.date values (weekends only, no holidays)."""

import datetime
import sys

ONE_DAY = datetime.timedelta(days=1)


def is_weekday(day):
    return day.weekday() < 5


def business_days_between(start, end):
    """Number of weekdays d with start <= d < end."""
    if end < start:
        raise ValueError("end is before start")
    total_days = (end - start).days
    full_weeks, rest = divmod(total_days, 7)
    count = full_weeks * 5
    day = start + datetime.timedelta(days=full_weeks * 7)
    for _ in range(rest):
        if is_weekday(day):
            count += 1
        day += ONE_DAY
    return count


def add_business_days(start, n):
    """The date n weekdays after start (n == 0 returns start)."""
    if n < 0:
        raise ValueError("n must not be negative")
    day = start
    remaining = n
    while remaining:
        day += ONE_DAY
        if is_weekday(day):
            remaining -= 1
    return day


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: business_days.py START END  (YYYY-MM-DD)", file=sys.stderr)
        return 2
    start, end = (datetime.date.fromisoformat(a) for a in argv)
    print(business_days_between(start, end))
    return 0


if __name__ == "__main__":
    sys.exit(main())
