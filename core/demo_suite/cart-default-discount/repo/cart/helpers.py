"""Money rounding."""

from decimal import ROUND_HALF_UP, Decimal


def money(value):
    """`value` rounded half-up to cents, as a float."""
    cents = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return float(cents)
