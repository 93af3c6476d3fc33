"""Convert temperatures between Celsius, Fahrenheit and Kelvin."""

from tempconv.helpers import check_unit

ABSOLUTE_ZERO_C = -273.15


def to_celsius(fahrenheit):
    """Degrees Fahrenheit to degrees Celsius."""
    return fahrenheit - 32 * 5 / 9


def to_fahrenheit(celsius):
    """Degrees Celsius to degrees Fahrenheit."""
    return celsius * 9 / 5 + 32


def to_kelvin(celsius):
    """Degrees Celsius to kelvin."""
    return celsius - ABSOLUTE_ZERO_C


def convert(value, source, target):
    """Convert between the units "C", "F" and "K"."""
    check_unit(source)
    check_unit(target)
    if source == "F":
        celsius = to_celsius(value)
    elif source == "K":
        celsius = value + ABSOLUTE_ZERO_C
    else:
        celsius = value
    if target == "C":
        return celsius
    if target == "F":
        return to_fahrenheit(celsius)
    return to_kelvin(celsius)
