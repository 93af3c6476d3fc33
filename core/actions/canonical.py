"""Canonical actions: every harness's tool call mapped to list/read/search/edit/test/finish/other.

Checks, loop detection and the timeline compare these instead of raw tool calls, so a rollout
imported from SWE-agent (`open x.py`), mini-swe-agent (`cat x.py`) or an OpenAI tool-calling
agent (`read_file(path="x.py")`) is judged the same way.

This module maps structured tool calls itself and hands shell commands to `core.actions.shell`.
`effects(call)` is the detailed result (paths per kind, whole-file writes, SWE-agent's open
file) that checks need; `classify(call)` folds it into the schema's `Action`. Paths are
normalised textually only (`normalize_path`), never against the filesystem.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from core.actions.arguments import names
from core.actions.paths import normalize_path, patch_paths
from core.actions.programs import EDITOR_COMMANDS, EDITOR_TOOLS
from core.actions.shell import SHELLS, parse
from core.schema import Action, ActionKind, Rollout, ToolCall

__all__ = [
    "Effects",
    "action_from",
    "analyse",
    "classify",
    "classify_steps",
    "effects",
    "normalize_path",
    "shell_effects",
]

K = ActionKind
PRIORITY: tuple[ActionKind, ...] = (K.EDIT, K.TEST, K.FINISH, K.READ, K.SEARCH, K.LIST, K.OTHER)


class Effects(NamedTuple):
    """What one tool call does, path by path (normalised, repo-relative where possible).

    A NamedTuple because a large import builds hundreds of thousands of these.
    """

    kind: ActionKind  # the primary kind (see PRIORITY)
    kinds: tuple[ActionKind, ...]
    paths: tuple[str, ...]  # every path below, edits first
    creates: bool  # every edited path is clearly new, so no earlier read is expected
    read: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    listed: tuple[str, ...] = ()
    edit: tuple[str, ...] = ()  # every path changed, including the writes and deletions below
    written: tuple[str, ...] = ()  # whole-file writes (`>`, tee, heredoc, cp): new or overwritten
    created: tuple[str, ...] = ()  # clearly new files (create tools, patches adding a file)
    deleted: tuple[str, ...] = ()
    opened: str | None = None  # SWE-agent `open`/`create`: the file a later `edit N:M` changes
    edits_open_file: bool = False  # SWE-agent `edit N:M`: the path is the open file
    exit_is_test: bool = False  # the call's exit code is the test run's (not piped, not followed)


def make_effects(
    kinds: Sequence[ActionKind],
    read: Sequence[str] = (),
    search: Sequence[str] = (),
    listed: Sequence[str] = (),
    edit: Sequence[str] = (),
    written: Sequence[str] = (),
    created: Sequence[str] = (),
    deleted: Sequence[str] = (),
    opened: str | None = None,
    edits_open_file: bool = False,
    exit_is_test: bool = False,
) -> Effects:
    """Effects with the derived fields (primary kind, union of paths, creates) filled in."""
    if len(kinds) == 1:
        kinds_t: tuple[ActionKind, ...] = (kinds[0],)
        kind = kinds[0]
    else:
        kinds_t = tuple(dict.fromkeys(kinds)) or (K.OTHER,)
        kind = primary(kinds_t)
    read_t, search_t, listed_t, edit_t = _unique(read), _unique(search), _unique(listed), _unique(edit)
    created_t = _unique(created)
    if (edit_t, read_t, search_t, listed_t).count(()) >= 3:
        paths = edit_t or read_t or search_t or listed_t
    else:
        paths = _unique((*edit_t, *read_t, *search_t, *listed_t))
    creates = bool(edit_t) and all(p in created_t for p in edit_t)
    return Effects(
        kind,
        kinds_t,
        paths,
        creates,
        read_t,
        search_t,
        listed_t,
        edit_t,
        _unique(written),
        created_t,
        _unique(deleted),
        opened,
        edits_open_file,
        exit_is_test,
    )


def primary(kinds: Iterable[ActionKind]) -> ActionKind:
    """The kind a compound action is shown and judged as: edit > test > finish > read > ..."""
    present = set(kinds)
    for kind in PRIORITY:
        if kind in present:
            return kind
    return K.OTHER


def classify(call: ToolCall | None) -> Action | None:
    """The canonical action for a tool call; None when the turn had no tool call."""
    if call is None:
        return None
    eff, command = analyse(call)
    return action_from(eff, command)


@lru_cache(maxsize=32768)
def action_from(eff: Effects, command: str) -> Action:
    """The schema's Action for already-computed effects (what classify returns).

    Cached: agents repeat commands, and a large import builds hundreds of thousands of
    actions. The shared instances are never mutated.
    """
    # Plain validation: pydantic-core is faster here than model_construct's Python loop.
    return Action(
        kind=eff.kind, kinds=list(eff.kinds), paths=list(eff.paths), command=command, creates=eff.creates
    )


def classify_steps(rollout: Rollout) -> None:
    """Set `step.action` on every step of the rollout (None where there is no tool call)."""
    for step in rollout.steps:
        step.action = classify(step.tool_call)


def analyse(call: ToolCall) -> tuple[Effects, str]:
    """(effects, command text) of a call, computing the tool name and the shell parse once."""
    name = tool_name(call.name)
    if name in SHELL_TOOLS:
        return _shell(shell_text(call))
    return _structured(name, call.arguments)


def effects(call: ToolCall, command: str = "") -> Effects:
    """The detailed effects of a call; shell commands are parsed once per distinct text.

    `command`, the call's command text when already known (`Action.command`), lets a structured
    call skip its JSON encoding when the same call was seen before.
    """
    name = tool_name(call.name)
    if name in SHELL_TOOLS:
        return _shell(shell_text(call))[0]
    cached = _STRUCTURED_CACHE.get(command) if command else None
    return cached if cached is not None else _structured_effects(name, call.arguments)


# One encoder for every call: json.dumps with options builds a new encoder each time.
_ARGUMENTS_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)


def _structured_command(name: str, arguments: dict[str, Any]) -> str:
    return f"{name} {_ARGUMENTS_JSON.encode(arguments)}"


# Effects of structured calls by command text (which names the tool and every argument): rollouts
# of one task call the same tools on the same files, and the text is needed for the Action anyway.
_STRUCTURED_CACHE: dict[str, Effects] = {}
_STRUCTURED_CACHE_SIZE = 32768


def _structured(name: str, arguments: dict[str, Any]) -> tuple[Effects, str]:
    command = _structured_command(name, arguments)
    eff = _STRUCTURED_CACHE.get(command)
    if eff is None:
        if len(_STRUCTURED_CACHE) >= _STRUCTURED_CACHE_SIZE:
            _STRUCTURED_CACHE.clear()
        eff = _STRUCTURED_CACHE[command] = _structured_effects(name, arguments)
    return eff, command


def tool_name(name: str) -> str:
    """`functions.Read_File` -> `read_file`, `mcp__fs__read_file` -> `read_file`: harnesses prefix
    and capitalise tool names."""
    return name.rsplit(".", 1)[-1].rsplit("__", 1)[-1].strip().lower()


def shell_text(call: ToolCall) -> str:
    """The command a shell tool ran; a list (Codex style `["bash", "-lc", cmd]`) is unwrapped."""
    args = call.arguments
    for key in ("command", "cmd", "script", "code", "input"):
        value = args.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            if len(value) == 3 and value[0].rsplit("/", 1)[-1] in SHELLS and value[1] in ("-c", "-lc"):
                return value[2]
            return " ".join(value)
    return call.raw or ""


def shell_effects(text: str) -> Effects:
    """Effects of a shell command line."""
    return _shell(text)[0]


@lru_cache(maxsize=32768)
def _shell(text: str) -> tuple[Effects, str]:
    """Effects and command text of a shell command line (cached: agents repeat commands)."""
    acc = parse(text)
    eff = make_effects(
        acc.kinds,
        acc.read,
        acc.search,
        acc.listed,
        acc.edit,
        acc.written,
        acc.created,
        acc.deleted,
        acc.opened,
        acc.edits_open_file,
        acc.exit_is_test,
    )
    return eff, " ".join(text.split())


def _unique(items: Sequence[str]) -> tuple[str, ...]:
    """Non-empty items, first occurrence kept, in order."""
    if not items:
        return ()
    if len(items) == 1:
        return (items[0],) if items[0] else ()
    return tuple(dict.fromkeys(i for i in items if i))


# --- structured tools ------------------------------------------------------------------------

SHELL_TOOLS = names("bash shell execute_bash run terminal cmd run_command exec")
STRUCTURED: dict[str, ActionKind] = {
    **dict.fromkeys(names("list_files ls list_dir list_directory find_file glob"), K.LIST),
    **dict.fromkeys(names("read_file open_file view cat read open goto scroll_up scroll_down"), K.READ),
    **dict.fromkeys(names("search grep search_dir search_file search_files ripgrep"), K.SEARCH),
    **dict.fromkeys(names("edit edit_file write_file write str_replace replace insert multiedit"), K.EDIT),
    **dict.fromkeys(names("apply_patch create_file create delete_file"), K.EDIT),
    **dict.fromkeys(names("run_tests pytest run_test test"), K.TEST),
    **dict.fromkeys(names("finish submit stop done task_complete attempt_completion"), K.FINISH),
}
CREATING_TOOLS = names("create_file write_file write create")
PATH_KEYS = names(
    "path file file_path filepath filename paths files target target_file dir directory notebook_path"
)
PATCH_KEYS = ("patch", "input", "diff", "content")


def _argument_paths(args: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for key, value in args.items():
        if key in PATH_KEYS:
            if isinstance(value, str):
                found.append(normalize_path(value.strip()))
            elif isinstance(value, list):
                found.extend(normalize_path(v.strip()) for v in value if isinstance(v, str))
    return found


def _structured_effects(name: str, args: dict[str, Any]) -> Effects:
    paths = _argument_paths(args)
    if name in EDITOR_TOOLS:
        sub = str(args.get("command", "")).lower()
        kind = EDITOR_COMMANDS.get(sub, K.OTHER)
        if kind is K.READ:
            return make_effects((K.READ,), read=paths)
        if kind is K.EDIT:
            new = paths if sub == "create" else ()
            return make_effects((K.EDIT,), edit=paths, written=new, created=new)
        return make_effects((K.OTHER,))
    kind = STRUCTURED.get(name, K.OTHER)
    if kind is K.READ:
        # SWE-agent's function-calling `open`: a later `edit` without a path changes that file.
        return make_effects((kind,), read=paths, opened=paths[0] if name == "open" and paths else None)
    if kind is K.SEARCH:
        return make_effects((kind,), search=paths)
    if kind is K.LIST:
        return make_effects((kind,), listed=paths)
    if kind is not K.EDIT:
        return make_effects((kind,), exit_is_test=kind is K.TEST)  # a test tool's exit code is the run's
    if name == "apply_patch" and not paths:
        text = next((v for k in PATCH_KEYS if isinstance(v := args.get(k), str)), "")
        changed, added, removed = patch_paths(text)
        return make_effects((kind,), edit=changed, created=added, written=added, deleted=removed)
    if name in CREATING_TOOLS:
        opened = paths[0] if name == "create" and paths else None
        return make_effects((kind,), edit=paths, written=paths, created=paths, opened=opened)
    deleted = paths if name == "delete_file" else ()
    return make_effects((kind,), edit=paths, deleted=deleted, edits_open_file=not paths)
