from percent.ratios import percentage, progress_bar, shares


def test_half():
    assert percentage(1, 2) == 50.0


def test_rounding():
    assert percentage(1, 3) == 33.3


def test_zero_total_gives_zero():
    assert shares({"a": 0, "b": 0}) == {"a": 0.0, "b": 0.0}


def test_bar():
    assert progress_bar(5, 10, width=10) == "[#####-----] 50.0%"
