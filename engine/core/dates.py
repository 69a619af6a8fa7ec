"""Whole days, months and years between two dates: "成立后一年内", "落户首年", "运营一年以上".

Each counts complete units from the first date to the second, rounding down (a month is complete on the same
day of the next month; from 31 January, on the last day of February), negative when the second date is earlier.
Whether "一年内" includes the anniversary is the comparison the policy writes (`< 1` or `<= 1`), named as a reading.

`years_after`, `months_after` and `days_after` give the day a whole number of periods after a date: the same day of
the month, or that month's last day where it has fewer (29 February 2024 + 1 year is 28 February 2025; 31 January
+ 1 month is the last day of February). They agree with the counts: `months_between(a, b) >= n` exactly when
`b >= months_after(a, n)`, so "一年内（含满一年之日）" is `claim_date <= years_after(a, 1)`, exact to the day.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

MAX_PERIODS = 1200  # the most periods `*_after` adds: a century of months, and bounds every date it gives


def _month_days(year: int, month: int) -> int:
    """How many days the month has."""
    import calendar  # when first needed: it imports locale, which a run that counts no months never uses

    return calendar.monthrange(year, month)[1]


def days_between(start: dt.date, end: dt.date) -> Decimal:
    return Decimal((end - start).days)


def months_between(start: dt.date, end: dt.date) -> Decimal:
    if end < start:
        return -months_between(end, start)
    months = (end.year - start.year) * 12 + (end.month - start.month)
    # the anniversary day in the end month: the start's day, or that month's last day if it has fewer
    day = min(start.day, _month_days(end.year, end.month))
    if end.day < day:
        months -= 1
    return Decimal(months)


def years_between(start: dt.date, end: dt.date) -> Decimal:
    months = months_between(start, end)
    return Decimal(int(months / 12))  # toward zero, as whole years are counted either way


def months_after(start: dt.date, months: Decimal | int) -> dt.date:
    """The day `months` whole months after `start` (that month's last day when it is shorter)."""
    index = start.year * 12 + (start.month - 1) + int(months)
    if index > dt.MAXYEAR * 12 + 11:
        return dt.date.max  # after the last day a date can name: later than every claim
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(start.day, _month_days(year, month)))


def years_after(start: dt.date, years: Decimal | int) -> dt.date:
    """The `years`-th anniversary of `start`: 29 February's is 28 February in a common year."""
    return months_after(start, int(years) * 12)


def days_after(start: dt.date, days: Decimal | int) -> dt.date:
    if int(days) > (dt.date.max - start).days:
        return dt.date.max
    return start + dt.timedelta(days=int(days))
