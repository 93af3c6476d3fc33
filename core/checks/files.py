"""Which files the agent touched: allowed ones, a diff within budget, paths that exist."""

from __future__ import annotations

import re
from functools import lru_cache

from core.actions import normalize_path
from core.checks.common import K, analysis, escapes_repo, has_kind, is_scratch, names, resolve_task
from core.checks.registry import Finding, check
from core.config import ChecksConfig
from core.diffs import changed_lines
from core.schema import Rollout, Task


@check("files.outside_allowed", "edited a file outside the task's allowed globs")
def outside_allowed(rollout: Rollout, task: Task | None, cfg: ChecksConfig) -> Finding | None:
    """Edits must stay inside the task's allowed globs; paths escaping the repo never match.

    Scratch space (/tmp) and files the agent created and removed again leave nothing behind,
    so they are not counted.
    """
    task = resolve_task(rollout, task)
    if task is None or not task.allowed_globs:
        return None
    allowed = glob_pattern(tuple(task.allowed_globs))
    events = analysis(rollout).edit_events
    removed_own = {e.path for e in events if e.deletion and e.origin == "agent"}
    bad = [
        e
        for e in events
        if not is_scratch(e.path)
        and not (e.path in removed_own and e.origin != "existing")
        and (escapes_repo(e.path) or not allowed.fullmatch(e.path))
    ]
    if not bad:
        return None
    return Finding(
        f"edited {names([e.path for e in bad])} outside the allowed files", sorted({e.step for e in bad})
    )


@lru_cache(maxsize=256)
def glob_pattern(globs: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for a set of globs.

    `*` and `?` stay within a path segment, `**` spans segments, a glob without `/` matches the
    file name anywhere (like PurePath.match: `*.py`), a glob with `/` is anchored at the repo
    root, and a glob naming a directory allows everything below it.
    """
    return re.compile("|".join(f"(?:{_translate(g)})" for g in globs if g.strip()) or "(?!)")


def _translate(glob: str) -> str:
    glob = normalize_path(glob.strip())
    out: list[str] = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and (end := glob.find("]", i + 2)) != -1:
            body = glob[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    anchor = "" if "/" in glob else "(?:.*/)?"
    return f"{anchor}{''.join(out)}(?:/.*)?"


@check("diff.too_large", "final diff over the task's line budget")
def too_large(rollout: Rollout, task: Task | None, cfg: ChecksConfig) -> Finding | None:
    """Large diffs are hard to review and usually mean the agent rewrote more than the fix needed."""
    diff = rollout.final_diff
    if not diff:
        return None
    budget = diff_budget(resolve_task(rollout, task), cfg)
    if _upper_bound(diff) <= budget:  # cheap: most diffs are far under budget, skip the parser
        return None
    changed = changed_lines(diff)
    if changed <= budget:
        return None
    a = analysis(rollout)
    edits = [(s, act) for s, act in zip(a.steps, a.actions, strict=True) if has_kind(act, K.EDIT)]
    # The lesson is the edit that wrote the most: the sprawling rewrite, not the small fix beside it.
    largest = max(
        edits, key=lambda e: len(str(e[0].tool_call.arguments)) if e[0].tool_call else 0, default=None
    )
    return Finding(
        f"changed {changed} lines, over the budget of {budget}",
        [s.index for s, _ in edits],
        anchor=largest[0].index if largest else None,
    )


def diff_budget(task: Task | None, cfg: ChecksConfig) -> int:
    """The lines a task's final diff may change: its own budget, else the config's."""
    return task.diff_budget if task is not None and task.diff_budget is not None else cfg.diff_budget


def _upper_bound(diff: str) -> int:
    """Lines starting with + or -: never fewer than the changed lines a parser would count."""
    return sum(1 for line in diff.splitlines() if line[:1] in ("+", "-"))


# What tools print for a path that is not there (coreutils, Python, SWE-agent, OpenHands).
# No re.I: a case-insensitive alternation is ~10x slower, and this looks at every observation.
MISSING_RE = re.compile(
    r"[Nn]o such file or directory|[Dd]oes not exist|[Nn]ot found|FileNotFoundError|[Cc]annot (?:open|access)"
)
MISSING_HINTS = ("o such file", "oes not exist", "ot found", "NotFound", "annot open", "annot access")
PATH_KINDS = (K.READ, K.EDIT, K.LIST, K.SEARCH)


@check("path.hallucinated", "a tool call on a path that does not exist")
def hallucinated(rollout: Rollout, task: Task | None, cfg: ChecksConfig) -> Finding | None:
    """A call named a path and the output says it is missing: the agent invented the path.

    The missing-path message must be on a line that names the path, so a file whose text
    merely contains "not found" does not count.
    """
    a = analysis(rollout)
    missing: list[str] = []
    steps: list[int] = []
    for step, action, eff in zip(a.steps, a.actions, a.effects, strict=True):
        if action is None or eff is None or step.observation is None or not eff.paths:
            continue
        if not any(has_kind(action, k) for k in PATH_KINDS) or (eff.creates and eff.kind is K.EDIT):
            continue
        obs = step.observation
        if obs.exit_code == 0 and not obs.error:  # a missing path fails the call (or its code is unknown)
            continue
        content = obs.content
        if not any(hint in content for hint in MISSING_HINTS):
            continue
        found = _missing_paths(content, [p for p in eff.paths if p not in eff.created])
        if found:
            missing.extend(found)
            steps.append(step.index)
    if not steps:
        return None
    return Finding(f"used paths that do not exist: {names(missing)}", steps)


def _missing_paths(content: str, paths: list[str]) -> list[str]:
    """Paths named on a line that also says "not found" (or the like)."""
    found: list[str] = []
    for m in MISSING_RE.finditer(content):
        start = content.rfind("\n", 0, m.start()) + 1
        end = content.find("\n", m.end())
        line = content[start : len(content) if end == -1 else end]
        for path in paths:
            base = path.rstrip("/").rsplit("/", 1)[-1]
            if len(base) >= 2 and base not in (".", "..") and base in line and path not in found:
                found.append(path)
        if len(found) == len(paths):
            break
    return found
