"""Whole days, months and years between two dates: "成立后一年内", "落户首年", "运营一年以上".

Each counts complete units from the first date to the second, rounding down (a month is complete on the same
day of the next month; from 31 January, on the last day of February), negative when the second date is earlier.
Whether "一年内" includes the anniversary is the comparison the policy writes (`< 1` or `<= 1`), named as a reading.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal


def days_between(start: dt.date, end: dt.date) -> Decimal:
    return Decimal((end - start).days)


def months_between(start: dt.date, end: dt.date) -> Decimal:
    if end < start:
        return -months_between(end, start)
    months = (end.year - start.year) * 12 + (end.month - start.month)
    # the anniversary day in the end month: the start's day, or that month's last day if it has fewer
    day = min(start.day, calendar.monthrange(end.year, end.month)[1])
    if end.day < day:
        months -= 1
    return Decimal(months)


def years_between(start: dt.date, end: dt.date) -> Decimal:
    months = months_between(start, end)
    return Decimal(int(months / 12))  # toward zero, as whole years are counted either way
