"""Whether the agent looked before it changed code: read the file, and quoted the failing test."""

from __future__ import annotations

import re

from core.checks.common import Analysis, K, analysis, has_kind, names
from core.checks.registry import Finding, check
from core.config import ChecksConfig
from core.schema import Rollout, Task


@check("edit.unread", "edited a file it never read")
def unread(rollout: Rollout, task: Task | None, cfg: ChecksConfig) -> Finding | None:
    """An edit to an existing file the agent never read (nor saw in a search hit) is a guess.

    New files need no read: create tools, and whole-file writes (`cat > f <<EOF`) to a path the
    final diff does not show as pre-existing. SWE-agent's `edit N:M` changes the file it opened.
    """
    bad = [e for e in analysis(rollout).edit_events if e.origin == "existing" and not e.known]
    if not bad:
        return None
    paths = [e.path for e in bad]
    return Finding(
        f"edited {names(paths)} without reading {'it' if len(set(paths)) == 1 else 'them'} first",
        sorted({e.step for e in bad}),
    )


# Evidence: lines worth quoting from a failing run, and where test names and assertion messages sit.
MIN_QUOTE = 12
FAILED_ID_RE = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.M)
SECTION_RE = re.compile(r"^_{3,} (\S+(?: \S+)?) _{3,}$", re.M)
UNITTEST_RE = re.compile(r"^(?:FAIL|ERROR): (\w+)", re.M)
ASSERT_RE = re.compile(r"^E\s+(.+)$|^(\w*(?:Error|Exception)\b.*)$", re.M)
WORDISH_RE = re.compile(r"[A-Za-z0-9]")
MARKER_RE = re.compile(r"^(?:>|E)\s+")  # pytest's "> source line" and "E  message" prefixes
MAX_LINES = 2000


@check("evidence.uncited", "edited without quoting the failing test output first", heuristic=True)
def uncited(rollout: Rollout, task: Task | None, cfg: ChecksConfig) -> Finding | None:
    """Heuristic: before its first edit to existing code the agent should have seen a failing test
    and, in a thought after that run, quoted a line of it, the test's name or its assertion message.
    A rollout without a single thought (a policy that only calls tools) cannot quote anything:
    for it only the seeing counts, or the one clean way through would be never to edit.
    """
    a = analysis(rollout)
    first = _first_code_edit(a)
    if first is None:
        return None
    first_step = a.steps[first].index
    failing = [p for p in a.test_positions if p < first and a.outcome(p) is False]
    if not failing:
        return Finding("edited code before seeing a failing test", [first_step])
    if not any(step.thought.strip() for step in a.steps):
        return None
    run = failing[-1]
    observation = a.steps[run].observation
    output = observation.content if observation is not None else ""
    thoughts = [" ".join(a.steps[p].thought.split()) for p in range(run + 1, first + 1)]
    thoughts = [t for t in thoughts if t]
    if thoughts and any(q in t for q in quotable(output) for t in thoughts):
        return None
    return Finding(
        "edited code without quoting the failing test output",
        [a.steps[run].index, first_step],
        anchor=first_step,
    )


def _first_code_edit(a: Analysis) -> int | None:
    """Position of the first edit to code that existed before the rollout: an edit to an existing
    file, or an edit whose files are unknown (`git apply fix.diff`). New scripts are not the fix."""
    existing = next((e.position for e in a.edit_events if e.origin == "existing"), None)
    with_paths = {e.position for e in a.edit_events}
    unknown = next(
        (
            pos
            for pos, action in enumerate(a.actions)
            if action is not None
            and has_kind(action, K.EDIT)
            and not action.creates
            and pos not in with_paths
        ),
        None,
    )
    candidates = [p for p in (existing, unknown) if p is not None]
    return min(candidates) if candidates else None


def quotable(output: str) -> list[str]:
    """Test names and assertion messages first, then every meaningful line (≥ 12 characters)."""
    names_found: list[str] = []
    for m in FAILED_ID_RE.finditer(output):
        node = m.group(1)
        names_found += [node, node.rsplit("::", 1)[-1]]
    names_found += [m.group(1).split()[-1] for m in SECTION_RE.finditer(output)]
    names_found += UNITTEST_RE.findall(output)
    messages = [(m.group(1) or m.group(2)).strip() for m in ASSERT_RE.finditer(output)]
    lines = [" ".join(MARKER_RE.sub("", line).split()) for line in output.splitlines()[-MAX_LINES:]]
    meaningful = [ln for ln in lines if len(ln) >= MIN_QUOTE and len(WORDISH_RE.findall(ln)) * 2 >= len(ln)]
    found = [n for n in names_found if len(n) >= 4] + [m for m in messages if len(m) >= 4] + meaningful
    return list(dict.fromkeys(" ".join(q.split()) for q in found))
