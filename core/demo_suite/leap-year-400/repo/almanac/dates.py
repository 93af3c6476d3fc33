"""Calendar arithmetic without the calendar module."""

from almanac.helpers import check_month

MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def is_leap(year):
    """Gregorian leap years: every fourth year, except centuries not divisible by 400."""
    return year % 4 == 0 and year % 100 != 0


def days_in_month(year, month):
    """Days in `month` (1-12) of `year`."""
    check_month(month)
    if month == 2 and is_leap(year):
        return 29
    return MONTH_DAYS[month - 1]


def days_in_year(year):
    """365 or 366."""
    return 366 if is_leap(year) else 365


def day_of_year(year, month, day):
    """1 for January 1st, 365 or 366 for December 31st."""
    check_month(month)
    return sum(days_in_month(year, m) for m in range(1, month)) + day
