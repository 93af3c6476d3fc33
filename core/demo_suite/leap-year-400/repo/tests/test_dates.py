from almanac.dates import day_of_year, days_in_month, is_leap


def test_ordinary_leap_years():
    assert is_leap(2024)
    assert not is_leap(2023)
    assert not is_leap(1900)


def test_february_2000():
    assert days_in_month(2000, 2) == 29


def test_day_of_year():
    assert day_of_year(2023, 3, 1) == 60
