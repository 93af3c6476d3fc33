"""The action that answers each flagged choice."""

import pytest

from core.remedies import remedy
from core.schema import Task, ToolCall

TASK = Task(id="t", instruction="fix it", allowed_globs=["src/**"])
FILES = ["src/a.py", "src/b.py", "tests/test_a.py"]


def call(name: str, **arguments: str) -> ToolCall:
    return ToolCall(name=name, arguments=arguments)


def edit(path: str, new: str = "x") -> ToolCall:
    return call("edit", path=path, old="y", new=new)


@pytest.mark.parametrize(
    ("check", "flagged", "answers", "does_not"),
    [
        ("tests.never_run", edit("src/a.py"), [call("run_tests")], [call("read_file", path="src/a.py")]),
        ("tests.not_rerun", call("finish", message="Done."), [call("run_tests")], [edit("src/a.py")]),
        (
            "stuck.no_stop",
            call("read_file", path="src/a.py"),
            [call("finish", message="Done.")],
            [call("run_tests")],
        ),
        (
            "tests.ignored_failure",
            call("finish", message="Done."),
            [edit("src/a.py")],
            [call("read_file", path="src/a.py")],
        ),
        (
            "edit.unread",
            edit("src/a.py"),
            [call("read_file", path="src/a.py")],
            [call("read_file", path="src/b.py")],
        ),
        (
            "evidence.uncited",
            edit("src/a.py"),
            [call("run_tests")],
            [call("search", query="mean"), call("read_file", path="src/b.py")],
        ),
        (
            "files.outside_allowed",
            edit("tests/test_a.py"),
            [edit("src/b.py")],
            [edit("tests/x.py"), edit("../src/a.py"), call("read_file", path="src/a.py")],
        ),
        (
            "tests.weakened",
            edit("tests/test_a.py"),
            [edit("src/b.py")],
            [edit("tests/test_a.py"), edit("src/tests/test_b.py"), edit("README.md"), call("run_tests")],
        ),
        (
            "diff.too_large",
            edit("src/a.py", "x" * 500),
            [edit("src/a.py", "short")],
            [edit("src/a.py", "y" * 900)],
        ),
        (
            "path.hallucinated",
            call("read_file", path="src/utils.py"),
            [call("read_file", path="src/b.py")],
            [call("read_file", path="src/core.py")],
        ),
    ],
)
def test_each_flag_is_answered_by_its_remedy_only(check, flagged, answers, does_not):
    answer = remedy(check, flagged, TASK, FILES)
    assert answer is not None
    assert all(answer(a) for a in answers)
    assert not any(answer(a) for a in does_not)


def test_a_loop_or_an_unknown_check_is_answered_by_anything_else():
    assert remedy("loop.repeat", call("run_tests"), TASK, FILES) is None
    assert remedy("my.plugin", call("run_tests"), TASK, FILES) is None


def test_the_lessons_said_to_have_an_edit_for_remedy_are_those_an_edit_of_the_code_answers():
    """`EDIT_REMEDIES` decides where the branch job looks a known fix up: it must agree with
    `remedy`, or a lesson would get the fix it cannot use, or lack the one it can."""
    from core.checks import REGISTRY
    from core.remedies import EDIT_REMEDIES, FIX_ATTEMPT

    fix = edit("src/a.py")
    for check in [*REGISTRY, FIX_ATTEMPT]:
        flagged = edit("src/a.py", new="x" * 500) if check == "diff.too_large" else call("run_tests")
        answer = remedy(check, flagged, TASK, FILES)
        assert (answer is not None and answer(fix)) == (check in EDIT_REMEDIES), check
