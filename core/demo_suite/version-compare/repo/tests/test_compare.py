from versions.compare import compare, is_upgrade, newest


def test_equal():
    assert compare("1.2.0", "v1.2.0") == 0


def test_two_digit_minor():
    assert compare("1.9.0", "1.10.0") == -1


def test_newest():
    assert newest(["v1.2", "v1.3", "v1.1"]) == "v1.3"
    assert is_upgrade("2.0", "2.1")
