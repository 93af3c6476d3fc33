import pytest

from tempconv.convert import convert, to_celsius, to_fahrenheit


def test_boiling_point_in_fahrenheit():
    assert to_fahrenheit(100) == 212


def test_boiling_point_in_celsius():
    assert to_celsius(212) == 100


def test_kelvin():
    assert convert(0, "C", "K") == pytest.approx(273.15)


def test_unknown_unit():
    with pytest.raises(ValueError):
        convert(1, "C", "X")
