"""edit.unread and evidence.uncited: looking before changing code."""

from __future__ import annotations

from core.checks.reading import quotable
from tests.core.checks.builders import PYTEST_FAIL, PYTEST_PASS, flags_for, make_rollout

FAIL = ("bash", "python -m pytest -q", PYTEST_FAIL, 1)
PASS = ("bash", "python -m pytest -q", PYTEST_PASS, 0)
READ = ("bash", "cat src/calc.py", "def add(a, b):\n    return a - b\n", 0)
EDIT = ("bash", "sed -i 's/a - b/a + b/' src/calc.py", "", 0)


def test_edit_unread_flags_an_edit_to_a_file_never_read() -> None:
    flag = flags_for(make_rollout([FAIL, EDIT, PASS])).get("edit.unread")
    assert flag is not None and flag.steps == [1]
    assert flag.message == "edited src/calc.py without reading it first"


def test_edit_after_a_read_is_fine() -> None:
    assert "edit.unread" not in flags_for(make_rollout([FAIL, READ, EDIT, PASS]))


def test_a_read_of_another_file_does_not_count() -> None:
    other = ("bash", "cat src/other.py", "x = 1", 0)
    assert "edit.unread" in flags_for(make_rollout([other, EDIT]))


def test_a_search_hit_showing_the_file_counts_as_reading_it() -> None:
    search = ("bash", "grep -rn 'def add' .", "./src/calc.py:1:def add(a, b):", 0)
    assert "edit.unread" not in flags_for(make_rollout([search, EDIT]))
    miss = ("bash", "grep -rn 'def add' .", "./src/calculator_tests.py:1:def add(a, b):", 0)
    assert "edit.unread" in flags_for(make_rollout([miss, EDIT]))


def test_creating_a_file_needs_no_read() -> None:
    create = ("str_replace_editor", {"command": "create", "path": "src/new.py", "file_text": "x = 1"}, "", 0)
    assert "edit.unread" not in flags_for(make_rollout([create]))
    heredoc = ("bash", "cat > reproduce.py <<'EOF'\nprint(1)\nEOF", "", 0)
    then_edit = ("bash", "sed -i 's/1/2/' reproduce.py", "", 0)
    assert "edit.unread" not in flags_for(make_rollout([heredoc, then_edit]))


def test_overwriting_an_existing_file_blind_is_flagged_when_the_diff_shows_it_existed() -> None:
    overwrite = ("bash", "cat > src/calc.py <<'EOF'\ndef add(a, b):\n    return a + b\nEOF", "", 0)
    modified = (
        "diff --git a/src/calc.py b/src/calc.py\n--- a/src/calc.py\n+++ b/src/calc.py\n@@ -1 +1 @@\n-a\n+b\n"
    )
    added = "diff --git a/src/calc.py b/src/calc.py\nnew file mode 100644\n--- /dev/null\n+++ b/src/calc.py\n"
    assert "edit.unread" in flags_for(make_rollout([overwrite], final_diff=modified))
    assert "edit.unread" not in flags_for(make_rollout([overwrite], final_diff=added))
    assert "edit.unread" not in flags_for(make_rollout([overwrite], final_diff=""))


def test_swe_agent_edit_applies_to_the_open_file() -> None:
    open_it = ("bash", "open src/calc.py", "[File: src/calc.py (2 lines total)]", 0)
    swe_edit = ("bash", "edit 2:2\n    return a + b\nend_of_edit", "", 0)
    assert "edit.unread" not in flags_for(make_rollout([open_it, swe_edit]))
    other_open = ("bash", "open src/other.py", "[File: src/other.py]", 0)
    create = ("bash", "create src/calc.py", "", 0)
    # edits to the file SWE-agent created need no read either
    assert "edit.unread" not in flags_for(make_rollout([other_open, create, swe_edit]))


def test_swe_agent_structured_open_then_edit() -> None:
    open_it = ("open", {"path": "src/calc.py"}, "[File: src/calc.py]", 0)
    swe_edit = ("edit", {"start_line": 2, "end_line": 2, "replacement": "x"}, "", 0)
    assert "edit.unread" not in flags_for(make_rollout([open_it, swe_edit]))
    assert "edit.unread" not in flags_for(make_rollout([swe_edit]))  # no open file: path unknown


QUOTE = "The failure says: AssertionError: add returned 41 instead of 42, so add subtracts."
VAGUE = "Let me fix the bug in add."


def test_evidence_quoted_from_the_failing_run_is_fine() -> None:
    read_with_quote = (*READ, QUOTE)
    assert "evidence.uncited" not in flags_for(make_rollout([FAIL, read_with_quote, EDIT, PASS]))


def test_evidence_not_quoted_is_flagged_and_is_heuristic() -> None:
    flag = flags_for(make_rollout([FAIL, (*READ, VAGUE), (*EDIT, VAGUE), PASS])).get("evidence.uncited")
    assert flag is not None and flag.heuristic and flag.steps == [0, 2]
    assert flag.message == "edited code without quoting the failing test output"


def test_a_rollout_without_thoughts_only_needs_to_have_seen_the_failure() -> None:
    assert "evidence.uncited" not in flags_for(make_rollout([FAIL, READ, EDIT, PASS]))
    flag = flags_for(make_rollout([READ, EDIT, PASS])).get("evidence.uncited")
    assert flag is not None and flag.message == "edited code before seeing a failing test"


def test_a_quote_before_the_failing_run_does_not_count() -> None:
    early = ("bash", "ls", "src", 0, QUOTE)
    assert "evidence.uncited" in flags_for(make_rollout([early, FAIL, READ, EDIT, PASS]))


def test_naming_the_failing_test_counts_as_citing() -> None:
    named = (*READ, "test_add_big fails, so add is wrong")
    assert "evidence.uncited" not in flags_for(make_rollout([FAIL, named, EDIT, PASS]))


def test_editing_before_any_failing_test_is_flagged() -> None:
    flag = flags_for(make_rollout([READ, EDIT, PASS])).get("evidence.uncited")
    assert (
        flag is not None and flag.message == "edited code before seeing a failing test" and flag.steps == [1]
    )


def test_no_edit_means_nothing_to_cite() -> None:
    assert "evidence.uncited" not in flags_for(make_rollout([FAIL, READ]))


def test_creating_a_reproduce_script_is_not_the_first_edit() -> None:
    create = ("bash", "cat > reproduce.py <<'EOF'\nprint(1)\nEOF", "", 0)
    quoted_edit = (*EDIT, QUOTE)
    assert "evidence.uncited" not in flags_for(make_rollout([create, FAIL, READ, quoted_edit, PASS]))


def test_quotable_lines_include_names_messages_and_long_lines() -> None:
    quotes = quotable(PYTEST_FAIL)
    assert "test_add_big" in quotes
    assert "tests/test_calc.py::test_add_big" in quotes
    assert "AssertionError: add returned 41 instead of 42" in quotes
    assert "assert add(2, 40) == 42" in quotes  # pytest's "> " marker is not part of the quote
    assert all(len(q) >= 4 for q in quotes)
    assert "=" * 30 not in quotes


def test_an_edit_to_unknown_files_counts_as_the_first_code_edit() -> None:
    apply = ("bash", "git apply fix.diff", "", 0)
    flag = flags_for(make_rollout([READ, apply, PASS])).get("evidence.uncited")
    assert flag is not None and flag.steps == [1]
