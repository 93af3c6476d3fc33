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
