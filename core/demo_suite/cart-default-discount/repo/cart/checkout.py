"""Shopping cart totals."""

from cart.helpers import money

TAX_RATE = 0.2


def subtotal(lines):
    """Sum of price * quantity over the cart lines."""
    return sum(line["price"] * line["qty"] for line in lines)


def total(lines, discount=0.1, tax_rate=TAX_RATE):
    """Subtotal less the discount (a fraction; none unless given), plus tax, in cents."""
    net = subtotal(lines) * (1 - discount)
    return money(net * (1 + tax_rate))


def apply_coupon(lines, code, coupons):
    """The total with the coupon's discount; unknown codes give no discount."""
    return total(lines, discount=coupons.get(code, 0.0))


def item_count(lines):
    """How many items the cart holds."""
    return sum(line["qty"] for line in lines)
