"""files.outside_allowed, diff.too_large and path.hallucinated."""

from __future__ import annotations

import pytest

from core.checks.files import changed_lines, glob_pattern
from core.config import ChecksConfig
from core.schema import Task
from tests.core.checks.builders import PYTEST_PASS, flags_for, make_rollout

TASK = Task(id="t1", allowed_globs=["src/**/*.py"])
READ = ("bash", "cat src/calc.py", "def add(a, b): ...", 0)
PASS = ("bash", "pytest", PYTEST_PASS, 0)


def edit(path: str) -> tuple[str, str, str, int]:
    return ("bash", f"sed -i 's/a/b/' {path}", "", 0)


def test_outside_allowed_names_the_files() -> None:
    rollout = make_rollout([READ, edit("README.md"), edit("setup.cfg"), edit("src/calc.py"), PASS])
    flag = flags_for(rollout, TASK).get("files.outside_allowed")
    assert flag is not None
    assert flag.message == "edited README.md, setup.cfg outside the allowed files"
    assert flag.steps == [1, 2]


def test_inside_allowed_is_quiet() -> None:
    rollout = make_rollout([READ, edit("src/calc.py"), edit("/testbed/src/pkg/deep/mod.py"), PASS])
    assert "files.outside_allowed" not in flags_for(rollout, TASK)


def test_outside_allowed_is_skipped_without_a_task_or_globs() -> None:
    rollout = make_rollout([edit("README.md")])
    assert "files.outside_allowed" not in flags_for(rollout, None)
    assert "files.outside_allowed" not in flags_for(rollout, Task(id="t1"))


def test_the_rollouts_embedded_task_is_used_when_none_is_passed() -> None:
    rollout = make_rollout([edit("README.md")], task=TASK)
    assert "files.outside_allowed" in flags_for(rollout, None)


@pytest.mark.parametrize(
    "path", ["../src/calc.py", "/etc/passwd", "/home/user/src/calc.py", "src/../../x.py"]
)
def test_paths_escaping_the_repo_are_always_outside(path: str) -> None:
    task = Task(id="t1", allowed_globs=["**"])
    assert "files.outside_allowed" in flags_for(make_rollout([edit(path)]), task)


def test_scratch_files_and_created_then_removed_files_do_not_count() -> None:
    steps = [
        ("bash", "cat > reproduce.py <<'EOF'\nprint(1)\nEOF", "", 0),
        ("bash", "python reproduce.py > /tmp/out.txt", "", 0),
        ("bash", "rm reproduce.py", "", 0),
    ]
    assert "files.outside_allowed" not in flags_for(make_rollout(steps), TASK)
    assert "files.outside_allowed" in flags_for(make_rollout(steps[:2]), TASK)


def test_swe_agent_edit_is_checked_against_the_open_file() -> None:
    steps = [
        ("bash", "open setup.py", "[File: setup.py]", 0),
        ("bash", "edit 1:1\nx = 1\nend_of_edit", "", 0),
    ]
    flag = flags_for(make_rollout(steps), TASK).get("files.outside_allowed")
    assert flag is not None and flag.steps == [1] and "setup.py" in flag.message


@pytest.mark.parametrize(
    ("globs", "path", "allowed"),
    [
        (("src/**/*.py",), "src/a.py", True),
        (("src/**/*.py",), "src/x/y/a.py", True),
        (("src/**/*.py",), "tests/a.py", False),
        (("src/*.py",), "src/x/a.py", False),
        (("*.py",), "deep/dir/a.py", True),
        (("*.py",), "README.md", False),
        (("src",), "src/a/b.txt", True),
        (("src/",), "src/a.py", True),
        (("src",), "srcx/a.py", False),
        (("./src/calc.py",), "src/calc.py", True),
        (("/testbed/src/calc.py",), "src/calc.py", True),
        (("src/calc.py", "tests/test_calc.py"), "tests/test_calc.py", True),
        (("src/[ab].py",), "src/b.py", True),
        (("src/[!ab].py",), "src/b.py", False),
        (("**",), "anything/at/all.txt", True),
        (("",), "a.py", False),
    ],
)
def test_glob_semantics(globs: tuple[str, ...], path: str, allowed: bool) -> None:
    assert bool(glob_pattern(globs).fullmatch(path)) is allowed


DIFF_3 = """\
diff --git a/src/calc.py b/src/calc.py
--- a/src/calc.py
+++ b/src/calc.py
@@ -1,3 +1,3 @@
 def add(a, b):
-    return a - b
+    return a + b
+# fixed
"""


def big_diff(lines: int) -> str:
    body = "".join(f"+line {i}\n" for i in range(lines))
    header = "diff --git a/x.py b/x.py\nnew file mode 100644\n--- /dev/null\n+++ b/x.py\n"
    return f"{header}@@ -0,0 +1,{lines} @@\n{body}"


def test_changed_lines_counts_added_and_removed() -> None:
    assert changed_lines(DIFF_3) == 3
    assert changed_lines(big_diff(50)) == 50


def test_changed_lines_falls_back_on_text_that_does_not_parse() -> None:
    assert changed_lines("+a\n+b\n-c\n+++ header\n") == 3
    assert changed_lines("@@ broken @@\n+a\n") == 1


def test_diff_too_large_against_the_task_budget() -> None:
    rollout = make_rollout([READ, edit("src/calc.py")], final_diff=big_diff(50))
    flag = flags_for(rollout, Task(id="t1", diff_budget=40)).get("diff.too_large")
    assert (
        flag is not None and flag.message == "changed 50 lines, over the budget of 40" and flag.steps == [1]
    )
    assert "diff.too_large" not in flags_for(rollout, Task(id="t1", diff_budget=50))


def test_diff_too_large_falls_back_to_the_config_budget() -> None:
    rollout = make_rollout([READ, edit("src/calc.py")], final_diff=big_diff(50))
    assert "diff.too_large" in flags_for(rollout, Task(id="t1"))
    assert "diff.too_large" not in flags_for(rollout, Task(id="t1"), ChecksConfig(diff_budget=60))
    assert "diff.too_large" not in flags_for(make_rollout([READ], final_diff=""))


def test_hallucinated_path_is_flagged_when_the_output_says_missing() -> None:
    steps = [("bash", "cat src/calculator.py", "cat: src/calculator.py: No such file or directory", 1), READ]
    flag = flags_for(make_rollout(steps)).get("path.hallucinated")
    assert flag is not None and flag.steps == [0] and "src/calculator.py" in flag.message


@pytest.mark.parametrize(
    ("tool", "args", "output"),
    [
        ("bash", "open src/nope.py", "File src/nope.py not found"),
        (
            "str_replace_editor",
            {"command": "view", "path": "/workspace/nope.py"},
            "The path /workspace/nope.py does not exist.",
        ),
        ("bash", "ls nope", "ls: cannot access 'nope': No such file or directory"),
        (
            "read_file",
            {"path": "nope.py"},
            "FileNotFoundError: [Errno 2] No such file or directory: 'nope.py'",
        ),
        ("bash", "grep -n x nope.py", "grep: nope.py: No such file or directory"),
    ],
)
def test_hallucinated_path_across_harnesses(tool: str, args: object, output: str) -> None:
    assert "path.hallucinated" in flags_for(make_rollout([(tool, args, output, 1)]))


def test_a_file_that_merely_mentions_not_found_is_not_a_missing_path() -> None:
    content = "def load(p):\n    raise FileNotFoundError(f'{p} not found')\n"
    assert "path.hallucinated" not in flags_for(make_rollout([("bash", "cat src/loader.py", content, 0)]))


def test_creating_a_file_is_not_a_hallucinated_path() -> None:
    step = (
        "str_replace_editor",
        {"command": "create", "path": "new.py"},
        "File created. new.py does not exist before",
        0,
    )
    assert "path.hallucinated" not in flags_for(make_rollout([step]))


def test_a_command_without_paths_is_not_a_hallucinated_path() -> None:
    assert "path.hallucinated" not in flags_for(
        make_rollout([("bash", "python reproduce.py", "not found", 1)])
    )
