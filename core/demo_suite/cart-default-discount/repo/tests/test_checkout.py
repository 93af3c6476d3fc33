from cart.checkout import apply_coupon, item_count, total

LINES = [{"price": 5.0, "qty": 2}, {"price": 2.5, "qty": 4}]


def test_total_without_discount():
    assert total(LINES) == 24.0


def test_coupon():
    assert apply_coupon(LINES, "HALF", {"HALF": 0.5}) == 12.0


def test_unknown_coupon():
    assert apply_coupon(LINES, "NOPE", {"HALF": 0.5}) == 24.0
    assert item_count(LINES) == 6
