"""What a shell command line does: its simple commands classified in order, with `cd` followed.

`parse(text)` tokenises the line (`core.actions.syntax`), strips what only wraps a command
(`VAR=1`, `timeout 60`, `uv run`, `xargs`), follows `cd`, recurses into `bash -c` and `eval`,
tells test runners apart from other programs, and hands every other program to its rule in
`core.actions.programs`. Whether the line's exit code is the test run's is decided here too: only
when the last command runs the tests.
"""

from __future__ import annotations

import re

from core.actions.accumulator import Acc
from core.actions.arguments import names, skip_options, writes_file
from core.actions.paths import normalize_path
from core.actions.programs import PROGRAMS
from core.actions.syntax import Segment, tokenize
from core.schema import ActionKind

K = ActionKind
SHELLS = frozenset({"bash", "sh", "zsh", "dash"})
SWE_EDIT_RE = re.compile(
    r"\A\s*(?:edit|insert|append)\b[^\n]*\n.*?^(?:end_of_edit|end_of_insert|end_of_append)\b", re.S | re.M
)
ASSIGNMENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
PREFIXES = names("time sudo nohup command exec builtin nice then do else elif if while until ! { stdbuf")
SKIPPED = names(
    "pushd popd export set unset source . true : done fi esac } { then else do alias shopt ulimit umask"
)
RUNNERS = frozenset(
    {
        ("uv", "run"),
        ("poetry", "run"),
        ("pipenv", "run"),
        ("pdm", "run"),
        ("hatch", "run"),
        ("bundle", "exec"),
        ("conda", "run"),
        ("coverage", "run"),
    }
)
TIMEOUT_VALUE_OPTS = frozenset({"-s", "-k", "--signal", "--kill-after"})
XARGS_VALUE_OPTS = frozenset({"-I", "-n", "-P", "-d", "-L", "-a", "-E", "-s"})
RUNNER_VALUE_OPTS = frozenset({"-n", "--name", "-p", "--prefix", "--with"})
PYTHON_RE = re.compile(r"(?:python|pypy)[\d.]*$")
TEST_MODULES = names("pytest unittest nose nose2 tox nox py.test")
TEST_BINARIES = names("pytest py.test tox nox nosetests nose2 jest mocha vitest rspec phpunit ctest trial")
TEST_SCRIPTS = names(
    "run_tests.sh run_tests runtests.py run_tests.py runtests.sh runtests run-tests.sh test.sh"
)
TEST_SUBCOMMANDS: dict[str, frozenset[str]] = {
    "make": frozenset({"test", "tests", "check"}),
    "npm": frozenset({"test", "t"}),
    **dict.fromkeys(names("yarn pnpm go cargo mvn gradle gradlew dotnet mix"), frozenset({"test"})),
}


def parse(text: str) -> Acc:
    """What a shell command line does, command by command."""
    acc = Acc()
    if SWE_EDIT_RE.match(text):  # SWE-agent's `edit N:M` block: the lines below are file text
        acc.edit_open_file()
    else:
        acc.exit_is_test = _run_segments(tokenize(text), acc)
    return acc


def _run_segments(segments: list[Segment], acc: Acc) -> bool:
    """Classify each simple command; True when the last one runs the tests (its exit code counts)."""
    last_test = False
    for seg in segments:
        last_test = _classify_segment(seg, acc) and seg.then == ""
    return last_test


def _strip_prefixes(words: list[str]) -> list[str]:
    """Drop what only wraps the real command: env assignments, `timeout 60`, `uv run`, ..."""
    i, n = 0, len(words)
    while i < n:
        w = words[i]
        if w in PREFIXES or ASSIGNMENT_RE.match(w):
            i += 1
        elif w == "env":
            i += 1
            while i < n and (ASSIGNMENT_RE.match(words[i]) or words[i].startswith("-")):
                i += 1
        elif w == "timeout":
            i = skip_options(words, i + 1, TIMEOUT_VALUE_OPTS) + 1  # + the duration
        elif w == "xargs":
            i = skip_options(words, i + 1, XARGS_VALUE_OPTS)
        elif i + 1 < n and (w, words[i + 1]) in RUNNERS:
            i = skip_options(words, i + 2, RUNNER_VALUE_OPTS, stop="-m")
        else:
            break
    return words[i:] if i else words


def _classify_segment(seg: Segment, acc: Acc) -> bool:
    """Add one simple command's kinds and paths; True when it runs the tests."""
    for op, target in seg.redirects:
        if writes_file(op, target):
            written = acc.add(K.EDIT, (target,))
            if ">>" not in op:
                acc.written.extend(written)
    words = _strip_prefixes(seg.words)
    if not words:
        return False
    if seg.piped and "xargs" in seg.words[: len(seg.words) - len(words)]:
        seg.piped = False  # `... | xargs grep foo` searches the files named on the pipe
    word0 = words[0]
    cmd = word0.rsplit("/", 1)[-1] if "/" in word0 and word0[-1] != "/" else word0
    if cmd == "cd":
        target = words[1] if len(words) > 1 else ""
        if not target or target[0] in "~-$":
            acc.cwd = ""
        else:
            new = normalize_path(target, acc.cwd)
            acc.cwd = "" if new == "." else new
        return False
    if cmd in SKIPPED:
        return False
    handler = PROGRAMS.get(cmd)
    if handler is not None:
        handler(words[1:], seg, acc)
        return False
    if cmd in SHELLS:
        return _run_shell(words[1:], acc)
    if cmd == "eval":
        return _run_shell(["-c", " ".join(words[1:])], acc)
    return _run_program(cmd, word0, words[1:], acc)


def _run_shell(args: list[str], acc: Acc) -> bool:
    """`bash -c "..."` runs another command line: classify that one (two levels at most)."""
    if "-c" in args and acc.depth < 2:
        idx = args.index("-c") + 1
        if idx < len(args):
            acc.depth += 1
            last_test = _run_segments(tokenize(args[idx]), acc)
            acc.depth -= 1
            return last_test
    script = next((a for a in args if not a.startswith("-")), "")
    is_test = script.rsplit("/", 1)[-1] in TEST_SCRIPTS
    acc.add(K.TEST if is_test else K.OTHER)
    return is_test


def _run_program(cmd: str, word0: str, args: list[str], acc: Acc) -> bool:
    """Commands that run something: test runners are tests, everything else is other."""
    if PYTHON_RE.match(cmd) or cmd == "-m":  # `-m`: what `coverage run -m pytest` leaves
        return _python(["-m", *args] if cmd == "-m" else args, acc)
    is_test = cmd in TEST_BINARIES or cmd in TEST_SCRIPTS or word0.endswith("bin/test")
    sub = TEST_SUBCOMMANDS.get(cmd)
    if sub is not None and args:
        rest = args[1:] if args[0] == "run" and len(args) > 1 else args
        is_test = rest[0] in sub
    acc.add(K.TEST if is_test else K.OTHER)
    return is_test


def _python(args: list[str], acc: Acc) -> bool:
    """`python -m pytest` and the test-runner scripts are tests; `python reproduce.py` is not."""
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] not in ("-m", "-c", "-"):
        i += 2 if args[i] in ("-W", "-X") else 1
    rest = args[i:]
    is_test = False
    if len(rest) >= 2 and rest[0] == "-m":
        is_test = rest[1] in TEST_MODULES
    elif rest and rest[0] not in ("-c", "-"):
        script = rest[0].rsplit("/", 1)[-1]
        is_test = (
            script in TEST_SCRIPTS
            or rest[0].endswith("bin/test")
            or (script == "setup.py" and "test" in rest)
        )
    acc.add(K.TEST if is_test else K.OTHER)
    return is_test
