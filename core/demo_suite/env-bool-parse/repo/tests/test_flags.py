from envflags.flags import enabled_flags, flag, parse_bool


def test_true_words():
    assert flag({"DARK_MODE": "1"}, "dark mode")
    assert parse_bool(" Yes ")


def test_missing_uses_default():
    assert flag({}, "beta", default=True)
    assert not flag({}, "beta")


def test_false_words_are_false():
    assert [parse_bool(v) for v in ("false", "No", "0", "off")] == [False] * 4


def test_enabled_flags():
    assert enabled_flags({"A": "on", "B": ""}, ["b", "a"]) == ["a"]
