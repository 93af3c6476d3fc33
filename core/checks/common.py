"""What several checks need to know about a rollout, computed once per `run_checks` call.

`analysis(rollout)` returns the analysis `run_checks` prepared for this rollout, or a fresh one
when a check is called on its own: checks stay pure functions of their arguments, and the
shell parsing, test outcomes and edit tracking are not repeated eleven times per rollout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property

from core.actions import Effects, action_from, analyse, effects, normalize_path
from core.schema import Action, ActionKind, Rollout, Step, Task

K = ActionKind

FINISHED_STATUSES = frozenset(
    {"finished", "finish", "submitted", "submit", "done", "success", "succeeded", "completed", "complete"}
)
SCRATCH_PREFIXES = ("/tmp/", "/var/tmp/", "/dev/")
TEST_DIRS = frozenset({"test", "tests", "testing"})

# Test outcomes from printed summaries (pytest, unittest, go, cargo). Each regex starts with a
# literal or a character class and sits behind a substring test: alternations with `\b` or `^`
# up front scan ~10x slower, and these run on every test observation.
FAIL_COUNT_RE = re.compile(r"[1-9]\d* (?:failed|errors?)\b")  # "1 failed", "2 errors"
FAIL_LINE_RE = re.compile(r"^(?:FAILED|ERROR|FAIL\b|--- FAIL)", re.M)  # pytest, unittest, go
PASS_COUNT_RE = re.compile(r"\d+ passed")
PASS_LINE_RE = re.compile(r"^(?:OK\b|PASS$|ok\s)", re.M)  # unittest, go
ERROR_LINE_RE = re.compile(r"^\w*Error\b", re.M)  # a crash before any summary (ImportError: ...)
TIMEOUT_RE = re.compile(r"\btimed out\b|Timeout(?:Expired|Error)|\b[Tt]imeout after\b")
TIMEOUT_EXIT_CODES = frozenset({124, 137})
SUMMARY_WINDOW = 16_000


@dataclass(frozen=True, slots=True)
class EditEvent:
    """One path changed by one step, with what was known about that path before the step."""

    position: int  # position in rollout.steps
    step: int  # Step.index, what flags point at
    path: str
    origin: str  # "new": this edit created it; "agent": created earlier by the agent; "existing"
    known: bool  # read or searched before (or written by the agent itself)
    deletion: bool


def resolve_task(rollout: Rollout, task: Task | None) -> Task | None:
    """The task passed in, else the one the rollout carried."""
    return task if task is not None else rollout.task


def has_kind(action: Action | None, kind: ActionKind) -> bool:
    if action is None:
        return False
    return kind in action.kinds if action.kinds else action.kind == kind


def is_scratch(path: str) -> bool:
    """Scratch space outside the repository (/tmp): writing there changes nothing that ships."""
    return path.startswith(SCRATCH_PREFIXES) or path == "/tmp"


def is_test_path(path: str) -> bool:
    """A Python test file as pytest and unittest name them: `test_*.py`, `*_test.py`, `tests.py`,
    `conftest.py`, or any module under a `test`/`tests`/`testing` folder (helpers and fixtures
    decide what the tests check too)."""
    if not path.endswith(".py"):
        return False
    folder, _, name = path.rpartition("/")
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name in ("test.py", "tests.py", "conftest.py")
        or any(part in TEST_DIRS for part in folder.split("/"))
    )


def escapes_repo(path: str) -> bool:
    return path.startswith("/") or path == ".." or path.startswith("../")


def names(items: list[str], limit: int = 3) -> str:
    """`a.py, b.py and 2 more`: short enough for a flag line."""
    unique = list(dict.fromkeys(items))
    shown = ", ".join(unique[:limit])
    return f"{shown} and {len(unique) - limit} more" if len(unique) > limit else shown


def short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _timed_out(text: str) -> bool:
    # Substring tests first: observations are long and most say nothing about time.
    return ("imeout" in text or "timed out" in text) and TIMEOUT_RE.search(text) is not None


def run_outcome(step: Step, eff: Effects | None) -> bool | None:
    """True when a test run passed, False when it failed or timed out, None when unknown.

    The exit code decides when it is the test runner's own (not piped into `tail`, not followed
    by another command); otherwise the summary printed by pytest/unittest/go/cargo does.
    """
    obs = step.observation
    if obs is None:
        return None
    code = obs.exit_code
    if code in TIMEOUT_EXIT_CODES or obs.error:
        return False
    if code is not None and eff is not None and eff.exit_is_test:
        return code == 0
    if _timed_out(obs.content):  # "Command timed out after 300 s": the harness stopped it
        return False
    summary = summary_outcome(obs.content[-SUMMARY_WINDOW:])  # summaries sit at the end
    if summary is not None:
        return summary
    return None if code is None else code == 0


def summary_outcome(text: str) -> bool | None:
    """What a runner's printed summary says. Failure markers win over pass markers; a bare
    error counts only when no summary was found (a passing run can log a traceback)."""
    if (" failed" in text or " error" in text) and FAIL_COUNT_RE.search(text):
        return False
    if ("FAIL" in text or "ERROR" in text) and FAIL_LINE_RE.search(text):
        return False
    if "test result: FAILED" in text or "no tests ran" in text or "collected 0 items" in text:
        return False
    if " passed" in text and PASS_COUNT_RE.search(text):
        return True
    if "test result: ok" in text or (
        ("OK" in text or "PASS" in text or "ok" in text) and PASS_LINE_RE.search(text)
    ):
        return True
    if "Traceback (most recent call last)" in text or ("Error" in text and ERROR_LINE_RE.search(text)):
        return False
    return None


def is_finished(rollout: Rollout, actions: list[Action | None]) -> bool:
    """The agent chose to stop: a finish action, a finished exit status, or a final plain message.

    Chat-format agents stop by answering without a tool call, so a last step with no tool call
    and nothing malformed counts as stopping.
    """
    if rollout.exit_status.strip().lower() in FINISHED_STATUSES:
        return True
    if any(has_kind(a, K.FINISH) for a in actions):
        return True
    last = rollout.steps[-1] if rollout.steps else None
    return last is not None and last.tool_call is None and last.malformed is None and len(rollout.steps) > 1


DIFF_GIT_RE = re.compile(r"^diff --git a/(\S+) b/(\S+)\n(new file mode)?", re.M)
DIFF_PLAIN_RE = re.compile(r"^--- (\S+)[^\n]*\n\+\+\+ (\S+)", re.M)


def preexisting_in_diff(diff: str) -> set[str]:
    """Paths the final diff shows as modified or deleted, so they existed before the rollout."""
    found: set[str] = set()
    for m in DIFF_GIT_RE.finditer(diff):
        if not m.group(3):
            found.add(normalize_path(m.group(1)))
    if not found:
        for m in DIFF_PLAIN_RE.finditer(diff):
            old = m.group(1)
            if old != "/dev/null":
                found.add(normalize_path(old[2:] if old.startswith("a/") else old))
    return found


def _mention_re(path: str) -> re.Pattern[str]:
    return re.compile(r"(?:^|[\s/'\"(:])" + re.escape(path) + r"(?=$|[\s:'\"),(])", re.M)


class Analysis:
    """Per-rollout facts shared by the checks; every field is computed on first use."""

    def __init__(self, rollout: Rollout) -> None:
        self.rollout = rollout
        self.steps = rollout.steps

    @cached_property
    def actions(self) -> list[Action | None]:
        """The canonical actions; steps left unclassified get one here (run_checks stores them)."""
        return [
            step.action if pair is None or pair[1] is None else action_from(pair[0], pair[1])
            for step, pair in zip(self.steps, self._analysed, strict=True)
        ]

    @cached_property
    def effects(self) -> list[Effects | None]:
        return [None if pair is None else pair[0] for pair in self._analysed]

    @cached_property
    def _analysed(self) -> list[tuple[Effects, str | None] | None]:
        """(effects, command text) per step; the text only where an Action is still to be built."""
        out: list[tuple[Effects, str | None] | None] = []
        for step in self.steps:
            call = step.tool_call
            if call is None:
                out.append(None)
            elif step.action is None:
                out.append(analyse(call))
            else:
                out.append((effects(call, step.action.command), None))
        return out

    @cached_property
    def test_positions(self) -> list[int]:
        return [i for i, a in enumerate(self.actions) if has_kind(a, K.TEST)]

    def outcome(self, position: int) -> bool | None:
        return run_outcome(self.steps[position], self.effects[position])

    @cached_property
    def finished(self) -> bool:
        return is_finished(self.rollout, self.actions)

    @cached_property
    def edit_events(self) -> list[EditEvent]:
        return list(self._track_edits())

    def _track_edits(self) -> Iterator[EditEvent]:
        """Walk the steps keeping what the agent has read, searched, created and has open (SWE-agent)."""
        known: set[str] = set()
        created: set[str] = set()
        searches: list[str] = []  # search outputs so far: a grep hit shows the file it names
        preexisting: set[str] | None = None
        opened: str | None = None
        for pos, (step, eff) in enumerate(zip(self.steps, self.effects, strict=True)):
            if eff is None:
                continue
            known.update(eff.read)
            known.update(eff.search)
            if eff.opened is not None:
                opened = eff.opened
            paths: tuple[str, ...] = eff.edit
            if not paths and eff.edits_open_file and opened is not None:
                paths = (opened,)
            for path in paths:
                deletion = path in eff.deleted
                if path in eff.created:
                    origin = "new"
                elif path in created:
                    origin = "agent"
                elif path in eff.written and path not in known and not deletion:
                    if preexisting is None:
                        preexisting = preexisting_in_diff(self.rollout.final_diff)
                    origin = "existing" if path in preexisting else "new"
                else:
                    origin = "existing"
                seen = path in known or origin != "existing" or self._mentioned(path, searches)
                yield EditEvent(pos, step.index, path, origin, seen, deletion)
                if origin == "new":
                    created.add(path)
            if eff.search and step.observation is not None and step.observation.content:
                searches.append(step.observation.content)

    @staticmethod
    def _mentioned(path: str, outputs: list[str]) -> bool:
        if not outputs or path in (".", ""):
            return False
        pattern = _mention_re(path)
        return any(path in text and pattern.search(text) for text in outputs)


_CURRENT: ContextVar[Analysis | None] = ContextVar("agentpref_analysis", default=None)


def analysis(rollout: Rollout) -> Analysis:
    """The analysis `run_checks` is sharing for this rollout, or a fresh one."""
    current = _CURRENT.get()
    if current is not None and current.rollout is rollout:
        return current
    return Analysis(rollout)


@contextmanager
def sharing_analysis(rollout: Rollout) -> Iterator[Analysis]:
    """Share one analysis between the checks run inside the block."""
    token = _CURRENT.set(Analysis(rollout))
    try:
        current = _CURRENT.get()
        assert current is not None
        yield current
    finally:
        _CURRENT.reset(token)
