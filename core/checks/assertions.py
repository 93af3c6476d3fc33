"""What a piece of Python test code checks, and whether a change made it check less.

`tests.weakened` sees test code only in pieces: the hunks of a diff, the old and new text of an
edit. So the unit here is a *side*: the lines of one piece before (or after) a change, each
marked as changed or as context. `facts(side)` collects what the changed lines assert, which
test functions they define and which skip markers they add; `weakenings(old, new, path)` compares
the two. An assert statement is parsed with `ast` where its text is whole (which makes
reformatting and a changed message invisible), and judged on its text where it is not.

Each assert gets a *strictness* rank, from an exact comparison down to an always-true
constant. A change weakens when an assert goes with no replacement, or when the replacements,
matched strictest first, are less strict than what they replace: `assert f(x) == [1, 2]` made
`assert len(f(x)) == 2`, `assert f(x)`, `assert f(x) is not None`. Asserts only compare as a
whole file's (or edit's) worth: renaming a variable, moving an assert or adding one does not
weaken anything; changing an expected value is not judged here.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from core.actions.arguments import names as vocabulary
from core.checks.common import names, short

Line = tuple[str, bool]  # (text, changed): a line of one side of a change

# Strictness ranks, strictest first.
EXACT = 4  # ==, is, `is None`, `not x`, assertEqual, assertRaises, math.isclose
COMPARED = 3  # <, >, !=, in, `is not X`: bounds or membership
SIZED = 2  # len(x) == n
TRUTHY = 1  # x, f(x), `x is not None`, `x == True`, isinstance(x, T), len(x) > 0
NOTHING = 0  # assert True: always passes

DEF_RE = re.compile(r"^\s*(?:async\s+)?def\s+(\w+)\s*\(")
DECLARATION_RE = re.compile(r"^\s*(?:(?:async\s+)?def|class)\s+(\w+)")
ASSERT_START_RE = re.compile(r"^(?:assert\b|self\.assert[A-Z]\w*\s*\()")
# pytest.mark.skip/skipif/xfail, pytest.skip()/xfail(), unittest.skip*/expectedFailure, skipTest.
SKIP_RE = re.compile(
    r"\bmark\.(?:skip|skipif|xfail)\b|\bpytest\.(?:skip|xfail)\(|\bunittest\.(?:skip\w*|expectedFailure)\b"
    r"|\.skipTest\(|^@(?:skip(?:If|Unless)?|expectedFailure)\b"
)
WORD_RE = re.compile(r"\w+")
STRING_RE = re.compile(r"'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"")
MAX_STATEMENT_LINES = 40

UNITTEST_RANKS = {
    **dict.fromkeys(
        vocabulary(
            "assertEqual assertEquals assertListEqual assertTupleEqual assertDictEqual assertSetEqual"
            " assertSequenceEqual assertMultiLineEqual assertCountEqual assertItemsEqual assertAlmostEqual"
            " assertAlmostEquals assertIs assertIsNone assertFalse assertRaises assertRaisesRegex"
            " assertWarns assertWarnsRegex assertLogs assertNoLogs"
        ),
        EXACT,
    ),
    **dict.fromkeys(
        vocabulary(
            "assertNotEqual assertNotEquals assertNotAlmostEqual assertGreater assertGreaterEqual assertLess"
            " assertLessEqual assertIn assertNotIn assertIsNot assertRegex assertNotRegex"
            " assertNotIsInstance"
        ),
        COMPARED,
    ),
    **dict.fromkeys(vocabulary("assertTrue assert_ assertIsNotNone assertIsInstance"), TRUTHY),
}
# `assert f(x)` checks only that f(x) is truthy, unless f is a comparison in all but name.
EXACT_CALLS = vocabulary("isclose allclose array_equal array_almost_equal equals all fullmatch")
COMPARED_CALLS = vocabulary("startswith endswith match search issubset issuperset")


@dataclass(frozen=True, slots=True)
class Assert:
    text: str  # normalised: `ast.unparse` where it parsed, else the text with spaces collapsed
    rank: int
    owner: str | None  # the function it sits in, where the piece shows it


@dataclass(frozen=True, slots=True)
class Skip:
    marker: str
    test: str | None  # the test it marks (a decorator) or sits in (a call)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the changed lines of one side assert, define and skip."""

    asserts: tuple[Assert, ...] = ()
    tests: tuple[str, ...] = ()
    skips: tuple[Skip, ...] = ()

    def __add__(self, other: Facts) -> Facts:
        return Facts(self.asserts + other.asserts, self.tests + other.tests, self.skips + other.skips)


@dataclass(frozen=True, slots=True)
class Weakening:
    """One way a change checks less; `order` puts the gravest first."""

    order: int
    text: str  # reads after a subject: "removed `assert x == 1` from tests/test_x.py"


def facts(side: Sequence[Line], owner: str | None = None) -> Facts:
    """Asserts touching a changed line, test functions defined on a changed line, skips added on one.

    `owner`: the function the piece starts in, where known (a diff hunk's `@@ ... @@ def f():`).
    """
    asserts: list[Assert] = []
    tests: list[str] = []
    skips: list[Skip] = []
    i = 0
    while i < len(side):
        text, changed = side[i]
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        if m := DEF_RE.match(text):
            owner = m.group(1)
            if changed and owner.startswith("test"):
                tests.append(owner)
        if changed and SKIP_RE.search(stripped):
            decorated = _decorated(side, i) if stripped.startswith("@") else None
            skips.append(Skip(short(stripped), decorated or owner))
        if ASSERT_START_RE.match(stripped):
            end = _statement_end(side, i)
            if any(c for _, c in side[i:end]):
                asserts.append(_assert([t for t, _ in side[i:end]], owner))
            i = end
            continue
        i += 1
    return Facts(tuple(asserts), tuple(tests), tuple(skips))


def weakenings(old: Facts, new: Facts, path: str) -> list[Weakening]:
    """How `new` checks less than `old` in the file `path`, gravest first; [] when it checks as
    much or more."""
    found: list[Weakening] = []
    gone = [t for t in dict.fromkeys(old.tests) if t not in new.tests]
    if len(new.tests) >= len(old.tests):
        gone = []  # as many tests as before: renamed, not removed
    if gone:
        found.append(Weakening(1, f"removed {names(gone)} from {path}"))
    skips = Counter(s.marker for s in new.skips) - Counter(s.marker for s in old.skips)
    for skip in new.skips:
        if skips[skip.marker] > 0:
            skips[skip.marker] -= 1
            what = skip.test or "a test"
            found.append(Weakening(2, f"skipped {what} with `{skip.marker}` in {path}"))
    # Asserts of a removed test are told by its removal.
    kept = Counter(a.text for a in new.asserts)
    removed: list[Assert] = []
    for a in old.asserts:
        if kept[a.text] > 0:
            kept[a.text] -= 1
        elif a.owner not in gone:
            removed.append(a)
    left = [a for a in new.asserts if _take(kept, a.text)]
    # Strictest first, each takes a replacement at least as strict where one is left (any will
    # do for the rest, which are no stricter): in its own function first, then the nearest, so
    # a message pairs the right two.
    unmatched = sorted(removed, key=lambda a: -a.rank)
    for same_function in (True, False):
        pending, unmatched = unmatched, []
        for a in pending:
            strict_enough = [
                b
                for b in left
                if b.rank >= a.rank and (not same_function or (a.owner is not None and b.owner == a.owner))
            ]
            if strict_enough:
                left.remove(_nearest(a, strict_enough))
            else:
                unmatched.append(a)
    for a in unmatched:
        if not left:
            found.append(Weakening(3, f"removed `{short(a.text)}` from {path}"))
            continue
        b = _nearest(a, left)
        left.remove(b)
        found.append(Weakening(4, f"loosened `{short(a.text)}` to `{short(b.text)}` in {path}"))
    return sorted(found, key=lambda w: w.order)


def _nearest(a: Assert, among: list[Assert]) -> Assert:
    """The assert most like `a`: in the same function, then sharing the most names."""
    words = set(WORD_RE.findall(a.text))
    return max(among, key=lambda b: (b.owner == a.owner, len(words.intersection(WORD_RE.findall(b.text)))))


def _take(counts: Counter[str], text: str) -> bool:
    """Whether `text` is one of the asserts not matched exactly (and use it up)."""
    if counts[text] > 0:
        counts[text] -= 1
        return True
    return False


def _decorated(side: Sequence[Line], i: int) -> str | None:
    """The function (or class) a decorator at line `i` decorates, when the piece shows it."""
    indent = _indent(side[i][0])
    for text, _ in side[i + 1 : i + 12]:
        if m := DECLARATION_RE.match(text):
            return m.group(1)
        stripped = text.strip()
        if stripped and _indent(text) <= indent and not stripped.startswith(("@", "#", ")", "]")):
            return None
    return None


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def _statement_end(side: Sequence[Line], start: int) -> int:
    """One past the last line of the statement starting at `start`: brackets closed, no `\\`."""
    depth = 0
    i = start
    while i < len(side) and i - start < MAX_STATEMENT_LINES:
        text = side[i][0]
        if i > start and (ASSERT_START_RE.match(text.strip()) or DEF_RE.match(text)):
            return i  # a bracket left open: the statement cannot run on into the next one
        bare = STRING_RE.sub("''", text).split("#", 1)[0]
        depth += sum(bare.count(c) for c in "([{") - sum(bare.count(c) for c in ")]}")
        i += 1
        if depth <= 0 and not text.rstrip().endswith("\\"):
            break
    return i


def _assert(lines: list[str], owner: str | None) -> Assert:
    source = "\n".join([lines[0].strip(), *lines[1:]])
    try:
        parsed = _parsed(source, owner)
    except (SyntaxError, ValueError, RecursionError):  # cut by a hunk's edge, a NUL, absurd nesting
        parsed = None
    if parsed is not None:
        return parsed
    text = " ".join(source.split())
    return Assert(text, _text_rank(text), owner)


def _parsed(source: str, owner: str | None) -> Assert | None:
    body = ast.parse(source).body
    node = body[0] if len(body) == 1 else None
    if isinstance(node, ast.Assert):
        return Assert(f"assert {ast.unparse(node.test)}", _rank(node.test), owner)
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return Assert(ast.unparse(node.value), _call_rank(node.value), owner)
    return None


def _rank(node: ast.expr) -> int:
    if isinstance(node, ast.Constant):
        return NOTHING if node.value else EXACT
    if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict | ast.JoinedStr):
        return NOTHING if _non_empty(node) else EXACT
    if isinstance(node, ast.Compare):
        return _compare_rank(node)
    if isinstance(node, ast.BoolOp):
        ranks = [_rank(v) for v in node.values]
        return max(ranks) if isinstance(node.op, ast.And) else min(ranks)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return EXACT  # `not x`: x is empty, false or None, as exact as `== []`
    if isinstance(node, ast.Call):
        name = _func_name(node)
        return EXACT if name in EXACT_CALLS else COMPARED if name in COMPARED_CALLS else TRUTHY
    return TRUTHY  # a name, an attribute, an item: only its truth is checked


def _non_empty(node: ast.expr) -> bool:
    if isinstance(node, ast.Dict):
        return bool(node.keys)
    if isinstance(node, ast.JoinedStr):
        return bool(node.values)
    return bool(getattr(node, "elts", ()))


def _compare_rank(node: ast.Compare) -> int:
    if len(node.ops) > 1:
        return EXACT if all(isinstance(op, ast.Eq) for op in node.ops) else COMPARED
    op, left, right = node.ops[0], node.left, node.comparators[0]
    sized = _is_len(left) or _is_len(right)
    none = _is_none(left) or _is_none(right)
    if isinstance(op, ast.Eq | ast.Is) and (_is_true(left) or _is_true(right)):
        return TRUTHY  # `x == True`: no more than `x`
    if isinstance(op, ast.Eq):
        return SIZED if sized else EXACT
    if isinstance(op, ast.Is):
        return EXACT
    if isinstance(op, ast.IsNot | ast.NotEq) and none:
        return TRUTHY
    if sized and isinstance(op, ast.Gt | ast.GtE | ast.NotEq) and _small(left if _is_len(right) else right):
        return TRUTHY  # len(x) > 0: not empty
    return COMPARED


def _call_rank(call: ast.Call) -> int:
    """A unittest assertion method's strictness (assertEqual(len(x), n) is a size check)."""
    method = call.func.attr if isinstance(call.func, ast.Attribute) else ""
    rank = UNITTEST_RANKS.get(method, EXACT)
    if method in ("assertTrue", "assert_") and call.args:
        return _rank(call.args[0])
    if rank == EXACT and method.startswith("assert") and any(_is_len(a) for a in call.args[:2]):
        return SIZED
    return rank


def _text_rank(text: str) -> int:
    """The rank of an assert that did not parse (cut by a hunk's edge): judged on its words."""
    if text.startswith("self.assert"):
        method = text[5:].split("(", 1)[0].strip()
        rank = UNITTEST_RANKS.get(method, EXACT)
        return SIZED if rank == EXACT and "len(" in text else rank
    expr = text[len("assert") :].strip()
    if expr in ("True", "1", "(True)"):
        return NOTHING
    if "is not None" in expr or "!= None" in expr:
        return TRUTHY
    if "==" in expr:
        return SIZED if re.search(r"(?:^|==\s*)len\(", expr) else EXACT
    if re.search(r"!=|<|>|\bin\b|\bis not\b", expr):
        return COMPARED
    if re.fullmatch(r"[\w.]+", expr):
        return TRUTHY
    return EXACT


def _func_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _is_len(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and _func_name(node) == "len"


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _is_true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _small(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value in (0, 1) and not isinstance(node.value, bool)
