import pytest

from kvparse.pairs import dump, parse, parse_pair


def test_simple():
    assert parse("a=1; b=two") == {"a": 1, "b": "two"}


def test_value_may_contain_equals():
    assert parse_pair("query=x=1") == ("query", "x=1")


def test_missing_equals():
    with pytest.raises(ValueError):
        parse_pair("oops")


def test_round_trip():
    assert parse(dump({"n": 3, "flag": True})) == {"n": 3, "flag": True}
