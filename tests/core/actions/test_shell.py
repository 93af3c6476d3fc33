"""Shell command lines: every way of reading, editing and testing maps to the same kinds.

Covers core.actions.shell, .syntax, .programs, .arguments and .paths through the public entry points
(`classify` on a shell tool call, `shell_effects` for the details checks use).
"""

from __future__ import annotations

import time

import pytest

from core.actions import classify, effects, shell_effects
from core.schema import ActionKind, ToolCall

K = ActionKind


def shell(command: str, tool: str = "bash") -> ToolCall:
    return ToolCall(name=tool, arguments={"command": command})


# (command, kind, kinds, paths)
SHELL_CASES: list[tuple[str, K, list[K], list[str]]] = [
    # reads
    ("cat a.py", K.READ, [K.READ], ["a.py"]),
    ("head -n 20 src/a.py", K.READ, [K.READ], ["src/a.py"]),
    ("tail -50 log.txt", K.READ, [K.READ], ["log.txt"]),
    ("nl -ba /testbed/src/mod.py", K.READ, [K.READ], ["src/mod.py"]),
    ("sed -n '10,20p' src/a.py", K.READ, [K.READ], ["src/a.py"]),
    ("wc -l a.py b.py", K.READ, [K.READ], ["a.py", "b.py"]),
    ("less ./docs/x.md", K.READ, [K.READ], ["docs/x.md"]),
    ("more docs/x.md", K.READ, [K.READ], ["docs/x.md"]),
    ("bat src/a.py", K.READ, [K.READ], ["src/a.py"]),
    ("cat -n src/a.py | sed -n '10,30p'", K.READ, [K.READ], ["src/a.py"]),
    ("for f in *.py; do sed -i 's/a/b/' $f; done", K.EDIT, [K.OTHER, K.EDIT], []),
    # edits
    ("sed -i 's/a/b/' src/a.py", K.EDIT, [K.EDIT], ["src/a.py"]),
    ("sed -i.bak -e 's/a/b/' x.py y.py", K.EDIT, [K.EDIT], ["x.py", "y.py"]),
    ("perl -pi -e 's/foo/bar/' lib/x.pl", K.EDIT, [K.EDIT], ["lib/x.pl"]),
    ("perl -i -pe 's/foo/bar/' a.py", K.EDIT, [K.EDIT], ["a.py"]),
    ("echo 'x = 1' > a.py", K.EDIT, [K.EDIT], ["a.py"]),
    ("echo 'x = 1' >> a.py", K.EDIT, [K.EDIT], ["a.py"]),
    ("printf 'x' | tee out.txt", K.EDIT, [K.OTHER, K.EDIT], ["out.txt"]),
    ("cat <<'EOF' > f.py\nimport os\nx = 1 << 2\nEOF", K.EDIT, [K.EDIT], ["f.py"]),
    ("cat > f.py <<EOF\nprint('hi')\nEOF", K.EDIT, [K.EDIT], ["f.py"]),
    (
        "cat > f.py << 'EOF'\nif a && b; then\n  rm -rf /\nfi\nEOF\npython f.py",
        K.EDIT,
        [K.EDIT, K.OTHER],
        ["f.py"],
    ),
    ("patch -p1 < fix.diff", K.EDIT, [K.EDIT], []),
    (
        "git apply <<'EOF'\n--- a/src/x.py\n+++ b/src/x.py\n@@ -1 +1 @@\n-a\n+b\nEOF",
        K.EDIT,
        [K.EDIT],
        ["src/x.py"],
    ),
    ("git checkout -- src/a.py", K.EDIT, [K.EDIT], ["src/a.py"]),
    ("mv a.py b.py", K.EDIT, [K.EDIT], ["a.py", "b.py"]),
    ("cp a.py b.py", K.EDIT, [K.READ, K.EDIT], ["b.py", "a.py"]),
    ("rm -f reproduce.py", K.EDIT, [K.EDIT], ["reproduce.py"]),
    ("touch new.py", K.EDIT, [K.EDIT], ["new.py"]),
    ("mkdir -p src/pkg", K.EDIT, [K.EDIT], ["src/pkg"]),
    # tests
    ("pytest", K.TEST, [K.TEST], []),
    ("pytest -x tests/test_a.py", K.TEST, [K.TEST], []),
    ("python -m pytest -q", K.TEST, [K.TEST], []),
    ("python3 -m pytest tests", K.TEST, [K.TEST], []),
    ("py.test", K.TEST, [K.TEST], []),
    ("tox -e py311", K.TEST, [K.TEST], []),
    ("nox", K.TEST, [K.TEST], []),
    ("python -m unittest discover", K.TEST, [K.TEST], []),
    ("make test", K.TEST, [K.TEST], []),
    ("npm test", K.TEST, [K.TEST], []),
    ("go test ./...", K.TEST, [K.TEST], []),
    ("cargo test", K.TEST, [K.TEST], []),
    ("./run_tests.sh", K.TEST, [K.TEST], []),
    ("run_tests", K.TEST, [K.TEST], []),
    ("./tests/runtests.py admin_views", K.TEST, [K.TEST], []),
    ("cd /testbed && python -m pytest -x tests/", K.TEST, [K.TEST], []),
    ("timeout 300 pytest -q", K.TEST, [K.TEST], []),
    ("PYTHONPATH=src time python -m pytest", K.TEST, [K.TEST], []),
    ("uv run pytest", K.TEST, [K.TEST], []),
    ("coverage run -m pytest", K.TEST, [K.TEST], []),
    ("python -m pytest 2>&1 | tail -20", K.TEST, [K.TEST], []),
    # searches
    ("grep -rn foo src/", K.SEARCH, [K.SEARCH], ["src"]),
    ("grep -rn foo src/ | head", K.SEARCH, [K.SEARCH], ["src"]),
    ("grep -e foo -e bar a.py", K.SEARCH, [K.SEARCH], ["a.py"]),
    ("grep -rn --include='*.py' 'def add' .", K.SEARCH, [K.SEARCH], ["."]),
    ("rg 'class Foo'", K.SEARCH, [K.SEARCH], []),
    ("ag foo lib", K.SEARCH, [K.SEARCH], ["lib"]),
    ("ack foo", K.SEARCH, [K.SEARCH], []),
    ("git grep -n foo -- src", K.SEARCH, [K.SEARCH], ["src"]),
    ("find . -name '*.py' -exec grep -l foo {} +", K.SEARCH, [K.SEARCH], ["."]),
    ("find src -name '*.py' | xargs grep -n foo", K.SEARCH, [K.LIST, K.SEARCH], ["src"]),
    ("find . -name '*.pyc' -delete", K.EDIT, [K.LIST, K.EDIT], ["."]),
    # listings
    ("ls", K.LIST, [K.LIST], []),
    ("ls -la src", K.LIST, [K.LIST], ["src"]),
    ("find /testbed/src -name '*.py'", K.LIST, [K.LIST], ["src"]),
    ("tree -L 2 src", K.LIST, [K.LIST], ["src"]),
    ("git ls-files", K.LIST, [K.LIST], []),
    ("git status", K.LIST, [K.LIST], []),
    # history and scripts are other
    ("git diff", K.OTHER, [K.OTHER], []),
    ("git log --oneline -5", K.OTHER, [K.OTHER], []),
    ("git show HEAD", K.OTHER, [K.OTHER], []),
    ("python reproduce.py", K.OTHER, [K.OTHER], []),
    ("python - <<'EOF'\nopen('x.py', 'w').write('1')\nEOF", K.OTHER, [K.OTHER], []),
    ("pip install -e .", K.OTHER, [K.OTHER], []),
    ("echo hi > /dev/null", K.OTHER, [K.OTHER], []),
    ("echo hi 2>&1", K.OTHER, [K.OTHER], []),
    ("cd /testbed", K.OTHER, [K.OTHER], []),
    # finishing
    ("submit", K.FINISH, [K.FINISH], []),
    ("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT", K.FINISH, [K.FINISH], []),
    ("echo MINI_SWE_AGENT_FINAL_OUTPUT", K.FINISH, [K.FINISH], []),
    (
        "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached",
        K.FINISH,
        [K.FINISH, K.OTHER],
        [],
    ),
    # SWE-agent's own commands
    ("open src/calc.py", K.READ, [K.READ], ["src/calc.py"]),
    ("open /testbed/src/calc.py 120", K.READ, [K.READ], ["src/calc.py"]),
    ("goto 50", K.READ, [K.READ], []),
    ("scroll_up", K.READ, [K.READ], []),
    ("scroll_down", K.READ, [K.READ], []),
    ("create reproduce.py", K.EDIT, [K.EDIT], ["reproduce.py"]),
    ("edit 10:12\n    return a + b\nend_of_edit", K.EDIT, [K.EDIT], []),
    ('find_file "calc.py"', K.LIST, [K.LIST], []),
    ("find_file calc.py src", K.LIST, [K.LIST], ["src"]),
    ('search_dir "def add"', K.SEARCH, [K.SEARCH], []),
    ("search_dir add src", K.SEARCH, [K.SEARCH], ["src"]),
    ("search_file add src/calc.py", K.SEARCH, [K.SEARCH], ["src/calc.py"]),
    ("str_replace_editor view /testbed/src/calc.py", K.READ, [K.READ], ["src/calc.py"]),
    # compound commands: every kind, the primary by priority, paths unioned
    ("cat a.py && sed -i 's/x/y/' a.py && pytest", K.EDIT, [K.READ, K.EDIT, K.TEST], ["a.py"]),
    ("ls src; cat src/a.py", K.READ, [K.LIST, K.READ], ["src/a.py", "src"]),
    ("grep -n foo a.py || cat b.py", K.READ, [K.SEARCH, K.READ], ["b.py", "a.py"]),
    ("cd src && cat ../setup.py", K.READ, [K.READ], ["setup.py"]),
    ("cd /testbed/src && cat mod.py", K.READ, [K.READ], ["src/mod.py"]),
    ("bash -c 'cd src && cat a.py'", K.READ, [K.READ], ["src/a.py"]),
    ("pip list | grep torch", K.OTHER, [K.OTHER], []),
]


@pytest.mark.parametrize(
    ("command", "kind", "kinds", "paths"), SHELL_CASES, ids=[c[0][:40] for c in SHELL_CASES]
)
def test_shell_commands(command: str, kind: K, kinds: list[K], paths: list[str]) -> None:
    action = classify(shell(command))
    assert action is not None
    assert (action.kind, action.kinds) == (kind, kinds)
    assert sorted(action.paths) == sorted(paths)


def test_swe_agent_create_is_a_creation_but_shell_writes_are_not() -> None:
    created = classify(shell("create reproduce.py"))
    written = classify(shell("cat > reproduce.py <<EOF\nx\nEOF"))
    assert created is not None and created.creates
    assert written is not None and written.kind == K.EDIT and not written.creates


def test_redirect_into_a_file_is_an_edit_but_not_into_null_or_a_descriptor() -> None:
    assert classify(shell("python x.py > out.txt 2>&1")).kinds == [K.EDIT, K.OTHER]  # type: ignore[union-attr]
    assert classify(shell("python x.py 2>/dev/null")).kinds == [K.OTHER]  # type: ignore[union-attr]
    assert classify(shell("python x.py >&2")).kinds == [K.OTHER]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "command",
    [
        "echo 'unbalanced",
        'grep "foo a.py',
        "cat a.py'",
        "echo \\",
        "'",
        '"',
        "echo $(cat",
        "sed -i 's/a/b a.py",
    ],
)
def test_unbalanced_quotes_never_raise(command: str) -> None:
    action = classify(shell(command))
    assert action is not None and action.kinds


def test_unbalanced_quote_keeps_the_rest_of_the_command() -> None:
    action = classify(shell("cat a.py && echo 'oops"))
    assert action is not None and action.kind == K.READ and action.paths == ["a.py"]


@pytest.mark.parametrize("command", ["", "   ", "\n\n", ";", "&&"])
def test_empty_commands_are_other(command: str) -> None:
    action = classify(shell(command))
    assert action is not None and (action.kind, action.kinds, action.paths) == (K.OTHER, [K.OTHER], [])


def test_very_long_command_is_fast() -> None:
    long_heredoc = "cat > big.py <<'EOF'\n" + "x = 'a' * 10  # it's \"quoted\"\n" * 20_000 + "EOF\npytest"
    long_words = "echo " + "word " * 100_000
    start = time.perf_counter()
    heredoc = classify(shell(long_heredoc))
    words = classify(shell(long_words))
    assert time.perf_counter() - start < 1.0
    assert heredoc is not None and heredoc.kinds == [K.EDIT, K.TEST] and heredoc.paths == ["big.py"]
    assert words is not None and words.kind == K.OTHER


def test_heredoc_body_is_not_parsed_as_commands() -> None:
    action = classify(shell("cat <<EOF > notes.txt\nrm -rf src\npytest\nsubmit\nEOF"))
    assert action is not None and action.kinds == [K.EDIT] and action.paths == ["notes.txt"]


def test_unterminated_heredoc_runs_to_the_end() -> None:
    action = classify(shell("cat > a.py <<EOF\nx = 1\npytest"))
    assert action is not None and action.kinds == [K.EDIT]


def test_exit_code_belongs_to_the_tests_only_when_nothing_follows() -> None:
    assert shell_effects("cd /testbed && pytest -x").exit_is_test
    assert not shell_effects("pytest -x | tail -5").exit_is_test
    assert not shell_effects("pytest -x; echo done").exit_is_test
    assert not shell_effects("pytest -x || true").exit_is_test


def test_effects_separate_reads_from_writes() -> None:
    eff = shell_effects("cat a.py > b.py")
    assert (eff.read, eff.edit, eff.written) == (("a.py",), ("b.py",), ("b.py",))
    eff = shell_effects("echo x >> log.txt")
    assert eff.edit == ("log.txt",) and eff.written == ()


def test_swe_agent_open_and_edit_track_the_open_file() -> None:
    assert shell_effects("open src/calc.py 20").opened == "src/calc.py"
    edit = shell_effects("edit 3:3\n    return 1\nend_of_edit")
    assert edit.edits_open_file and edit.edit == ()
    assert effects(ToolCall(name="edit", arguments={"start_line": 3})).edits_open_file
