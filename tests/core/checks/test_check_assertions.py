"""What a piece of test code asserts, how strictly, and whether a change checks less."""

from __future__ import annotations

import pytest

from core.checks.assertions import COMPARED, EXACT, NOTHING, SIZED, TRUTHY, Line, facts, weakenings


def changed(text: str) -> list[Line]:
    return [(line, True) for line in text.splitlines()]


@pytest.mark.parametrize(
    ("statement", "rank"),
    [
        ("assert f(x) == [1, 2]", EXACT),
        ("assert f(x) is None", EXACT),
        ("assert not errors", EXACT),
        ("assert math.isclose(f(x), 0.5)", EXACT),
        ("assert a == 1 and b", EXACT),
        ("self.assertEqual(f(x), [1, 2])", EXACT),
        ("self.assertRaises(ValueError, f, x)", EXACT),
        ("assert f(x) > 0", COMPARED),
        ("assert 1 in f(x)", COMPARED),
        ("assert 0 < f(x) < 3", COMPARED),
        ("assert f(x).startswith('a')", COMPARED),
        ("self.assertIn(1, f(x))", COMPARED),
        ("assert len(f(x)) == 2", SIZED),
        ("self.assertEqual(len(f(x)), 2)", SIZED),
        ("assert f(x)", TRUTHY),
        ("assert result", TRUTHY),
        ("assert f(x) is not None", TRUTHY),
        ("assert f(x) == True", TRUTHY),
        ("assert len(f(x)) > 0", TRUTHY),
        ("assert isinstance(f(x), list)", TRUTHY),
        ("assert a == 1 or b", TRUTHY),
        ("self.assertTrue(f(x))", TRUTHY),
        ("self.assertIsNotNone(f(x))", TRUTHY),
        ("assert True", NOTHING),
        ("assert (f(x) == 1, 'always true')", NOTHING),
    ],
)
def test_each_assert_has_a_strictness(statement: str, rank: int) -> None:
    (found,) = facts(changed(f"    {statement}")).asserts
    assert found.rank == rank


def test_a_multi_line_assert_is_one_statement_normalised_by_ast() -> None:
    side = changed("    assert f(x) == [\n        1,  # one\n        2,\n    ], 'message'\n    assert g(y)\n")
    first, second = facts(side).asserts
    assert first.text == "assert f(x) == [1, 2]" and first.rank == EXACT
    assert second.text == "assert g(y)" and second.rank == TRUTHY


def test_an_assert_cut_by_a_hunk_edge_is_judged_on_its_words() -> None:
    cut = facts(changed("    assert len(f(x)) == (\n"))
    assert cut.asserts[0].rank == SIZED
    assert facts(changed("    assert f(x) is not None and (\n")).asserts[0].rank == TRUTHY


def test_an_unbalanced_bracket_in_a_string_does_not_swallow_the_next_assert() -> None:
    found = facts(changed("    assert f('(') == 1\n    assert g(')') == 2\n")).asserts
    assert [a.text for a in found] == ["assert f('(') == 1", "assert g(')') == 2"]


def test_only_statements_touching_a_changed_line_count() -> None:
    side: list[Line] = [
        ("def test_a():", False),
        ("    assert f(1) == 1", False),
        ("    assert f(2) == 2", True),
    ]
    found = facts(side)
    assert [(a.text, a.owner) for a in found.asserts] == [("assert f(2) == 2", "test_a")]
    assert found.tests == ()  # the def line is context


def test_a_skip_decorator_names_the_test_it_marks() -> None:
    side = changed("@pytest.mark.skipif(\n    True, reason='x'\n)\ndef test_big():\n    assert f() == 1\n")
    (skip,) = facts(side).skips
    assert skip.test == "test_big" and skip.marker == "@pytest.mark.skipif("


def test_loosened_asserts_are_paired_within_their_own_test() -> None:
    old = facts(
        changed(
            "def test_rank():\n    assert [p.name for p in rank(P)] == ['a', 'b']\n\n"
            "def test_top():\n    assert top(P, 1)[0].name == 'a'\n\n"
            "def test_positions():\n    assert positions(P) == {'a': 1}\n"
        )
    )
    new = facts(
        changed(
            "def test_rank():\n    assert len(rank(P)) == 2\n\n"
            "def test_top():\n    assert len(top(P, 1)) == 1\n\n"
            "def test_positions():\n    assert set(positions(P)) == {'a'}\n"
        )
    )
    found = weakenings(old, new, "tests/t.py")
    assert [w.text for w in found] == [
        "loosened `assert [p.name for p in rank(P)] == ['a', 'b']` to `assert len(rank(P)) == 2`"
        " in tests/t.py",
        "loosened `assert top(P, 1)[0].name == 'a'` to `assert len(top(P, 1)) == 1` in tests/t.py",
    ]


def test_a_strict_replacement_anywhere_answers_a_removed_assert() -> None:
    old = facts(changed("    assert f(1) == 1\n    assert f(2) == 2\n"))
    new = facts(changed("    assert f(2) == 2\n    assert g(1) == [1]\n"))
    assert weakenings(old, new, "t.py") == []
    fewer = facts(changed("    assert f(2) == 2\n"))
    assert [w.text for w in weakenings(old, fewer, "t.py")] == ["removed `assert f(1) == 1` from t.py"]
