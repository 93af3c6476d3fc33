"""Canonical actions: every harness's tool call mapped to list/read/search/edit/test/finish/other.

Checks, loop detection and the timeline compare these instead of raw tool calls, so a rollout
imported from SWE-agent (`open x.py`), mini-swe-agent (`cat x.py`) or an OpenAI tool-calling
agent (`read_file(path="x.py")`) is judged the same way.

Shell commands are parsed with one regex tokenizer rather than `shlex`: it is several times
faster (this runs on every step of every import), never raises on unbalanced quotes (a lone
quote is kept as a plain character) and keeps heredoc bodies apart from the commands around them.

`effects(call)` is the detailed result (paths per kind, whole-file writes, SWE-agent's open
file) that checks need; `classify(call)` folds it into the schema's `Action`. Paths are
normalised textually only: the filesystem is never touched, and paths outside the repository
stay absolute or `../...` so that a check can see the escape.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from core.schema import Action, ActionKind, Rollout, ToolCall

K = ActionKind
PRIORITY: tuple[ActionKind, ...] = (K.EDIT, K.TEST, K.FINISH, K.READ, K.SEARCH, K.LIST, K.OTHER)
REPO_ROOTS: tuple[str, ...] = ("/testbed", "/repo", "/workspace", "/app")
NULL_TARGETS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "-"})


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


def action_from(eff: Effects, command: str) -> Action:
    """The schema's Action for already-computed effects (what classify returns)."""
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


def command_text(call: ToolCall) -> str:
    """Text two calls share exactly when they do the same thing (no ids, whitespace collapsed)."""
    name = tool_name(call.name)
    if name in SHELL_TOOLS:
        return _shell(shell_text(call))[1]
    return _structured_command(name, call.arguments)


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


def normalize_path(path: str, cwd: str = "") -> str:
    """Repo-relative when inside a well-known repo root (`/testbed/a.py` -> `a.py`); textual only."""
    if not path:
        return path
    if cwd and path[0] not in "/~$":
        path = f"{cwd}/{path}"
    if path.startswith("./") or "/." in path or "//" in path or (len(path) > 1 and path[-1] == "/"):
        path = posixpath.normpath(path)
    if path[0] == "/":
        for root in REPO_ROOTS:
            if path.startswith(root):
                if len(path) == len(root):
                    return "."
                if path[len(root)] == "/":
                    return path[len(root) + 1 :]
    return path


def _words(text: str) -> frozenset[str]:
    """A set of names written as one string: long vocabularies stay readable in a few lines."""
    return frozenset(text.split())


def _unique(items: Sequence[str]) -> tuple[str, ...]:
    """Non-empty items, first occurrence kept, in order."""
    if not items:
        return ()
    if len(items) == 1:
        return (items[0],) if items[0] else ()
    return tuple(dict.fromkeys(i for i in items if i))


# --- structured tools ------------------------------------------------------------------------

SHELL_TOOLS = _words("bash shell execute_bash run terminal cmd run_command exec")
SHELLS = _words("bash sh zsh dash")
EDITOR_TOOLS = _words("str_replace_editor str_replace_based_edit_tool")
STRUCTURED: dict[str, ActionKind] = {
    **dict.fromkeys(_words("list_files ls list_dir list_directory find_file glob"), K.LIST),
    **dict.fromkeys(_words("read_file open_file view cat read open goto scroll_up scroll_down"), K.READ),
    **dict.fromkeys(_words("search grep search_dir search_file search_files ripgrep"), K.SEARCH),
    **dict.fromkeys(_words("edit edit_file write_file write str_replace replace insert multiedit"), K.EDIT),
    **dict.fromkeys(_words("apply_patch create_file create delete_file"), K.EDIT),
    **dict.fromkeys(_words("run_tests pytest run_test test"), K.TEST),
    **dict.fromkeys(_words("finish submit stop done task_complete attempt_completion"), K.FINISH),
}
CREATING_TOOLS = _words("create_file write_file write create")
EDITOR_COMMANDS: dict[str, ActionKind] = {
    "view": K.READ,
    "create": K.EDIT,
    "str_replace": K.EDIT,
    "insert": K.EDIT,
    "undo_edit": K.EDIT,
    "edit": K.EDIT,
}
PATH_KEYS = _words(
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
        changed, added, removed = _patch_paths(text)
        return make_effects((kind,), edit=changed, created=added, written=added, deleted=removed)
    if name in CREATING_TOOLS:
        opened = paths[0] if name == "create" and paths else None
        return make_effects((kind,), edit=paths, written=paths, created=paths, opened=opened)
    deleted = paths if name == "delete_file" else ()
    return make_effects((kind,), edit=paths, deleted=deleted, edits_open_file=not paths)


# --- patches ---------------------------------------------------------------------------------

PATCH_FILE_RE = re.compile(
    r"^(?:\*\*\* (Add|Update|Delete) File: (.+?)\s*$|\+\+\+ (?:b/)?(\S+)|--- (?:a/)?(\S+))", re.M
)


def _patch_paths(text: str) -> tuple[list[str], list[str], list[str]]:
    """(changed, added, deleted) paths named by a unified diff or a Codex `*** Begin Patch`."""
    changed: list[str] = []
    added: list[str] = []
    deleted: list[str] = []
    old: str | None = None
    for m in PATCH_FILE_RE.finditer(text):
        verb, codex_path, new_path, old_path = m.groups()
        if codex_path:
            changed.append(normalize_path(codex_path))
            if verb == "Add":
                added.append(changed[-1])
            elif verb == "Delete":
                deleted.append(changed[-1])
        elif old_path is not None:
            old = old_path
        elif new_path == "/dev/null":
            if old and old != "/dev/null":
                changed.append(normalize_path(old))
                deleted.append(changed[-1])
        elif new_path is not None:
            changed.append(normalize_path(new_path))
            if old == "/dev/null":
                added.append(changed[-1])
    return changed, added, deleted


# --- shell tokenizer -------------------------------------------------------------------------

# One token: an operator, or a word made of unquoted runs, quoted strings and escapes. A quote
# with no partner falls through to the last word alternative and is kept as a plain character.
TOKEN_RE = re.compile(
    r"""(?:[ \t\r\f\v]|\\\n)*
    (?:
      (?=[;&|\n()<>\d])
      (?P<op>&&|\|\||;;|\|&|&>>?|\d*>>?&(?:\d+|-)?|\d*>>|\d*>\|?|<<<|<<-?|\d*<&?(?:\d+|-)?|[;&|\n()])
     |(?P<word>(?:[^\s'"\\;&|<>()]+|'[^']*'|"(?:[^"\\]|\\.)*+"|\\.|\\$|['"])+)
     |$
    )""",
    re.X | re.S,
)
QUOTED_RE = re.compile(r"""'([^']*)'|"((?:[^"\\]|\\.)*)"|\\(.)""", re.S)
DQ_ESCAPE_RE = re.compile(r"""\\([\\"$`\n])""")
SWE_EDIT_RE = re.compile(
    r"\A\s*(?:edit|insert|append)\b[^\n]*\n.*?^(?:end_of_edit|end_of_insert|end_of_append)\b", re.S | re.M
)
SPECIAL_RE = re.compile(r"[\"'\\<>|&;()\n]")
SEPARATORS = frozenset({"&&", "||", ";", ";;", "|", "|&", "&", "\n", "(", ")"})


def _unquote(word: str) -> str:
    if "'" not in word and '"' not in word and "\\" not in word:
        return word

    def repl(m: re.Match[str]) -> str:
        single, double, escaped = m.groups()
        if single is not None:
            return single
        if double is not None:
            return DQ_ESCAPE_RE.sub(r"\1", double)
        return "" if escaped == "\n" else escaped

    return QUOTED_RE.sub(repl, word)


class _Segment:
    """One simple command: its words, redirections and heredoc bodies, and what joins it on."""

    __slots__ = ("bodies", "piped", "redirects", "then", "words")

    def __init__(self, piped: bool = False) -> None:
        self.words: list[str] = []
        self.redirects: list[tuple[str, str]] = []  # (operator, target)
        self.bodies: list[str] = []  # heredoc bodies, in order
        self.then = ""  # the separator after it ("|", "&&", ...), "" for the last
        self.piped = piped  # reads the previous command's output (`... | head`)


class _Builder:
    """Turns a token stream into segments; heredoc delimiters wait in `pending` for their body."""

    __slots__ = ("current", "expect", "pending", "segments")

    def __init__(self) -> None:
        self.segments: list[_Segment] = []
        self.current = _Segment()
        self.expect: str | None = None  # the redirect operator waiting for its target word
        self.pending: list[tuple[_Segment, str]] = []

    def word(self, raw: str) -> None:
        value = _unquote(raw)
        expect = self.expect
        if expect is None:
            self.current.words.append(value)
            return
        if expect == "<<" or expect == "<<-":
            self.pending.append((self.current, value))
        else:
            self.current.redirects.append((expect, value))
        self.expect = None

    def op(self, op: str) -> None:
        if op in SEPARATORS:
            cur = self.current
            if cur.words or cur.redirects:
                cur.then = op
                self.segments.append(cur)
                self.current = _Segment(piped=op in ("|", "|&"))
            return
        # A redirection: `2>&1` and `>&2` are complete; the others take the next word.
        self.expect = None if op[-1].isdigit() or op[-1] == "-" else op

    def finish(self) -> list[_Segment]:
        cur = self.current
        if cur.words or cur.redirects:
            self.segments.append(cur)
        if self.segments:
            self.segments[-1].then = ""  # a trailing newline or `;` joins nothing
        return self.segments


def _tokenize(text: str) -> list[_Segment]:
    """Split a command line into simple commands, keeping redirections and heredoc bodies."""
    if not SPECIAL_RE.search(text):  # the common `cat src/a.py`: plain words, one command
        seg = _Segment()
        seg.words = text.split()
        return [seg] if seg.words else []
    b = _Builder()
    if "<<" not in text:
        for op, word in TOKEN_RE.findall(text):
            if word:
                b.word(word)
            elif op:
                b.op(op)
        return b.finish()
    pos, end = 0, len(text)
    while pos < end:
        m = TOKEN_RE.match(text, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        op, word = m.group("op"), m.group("word")
        if word:
            b.word(word)
        elif op:
            b.op(op)
            if op == "\n" and b.pending:
                pos = _read_bodies(text, pos, b.pending)
    if b.pending:
        _read_bodies(text, pos, b.pending)
    return b.finish()


def _read_bodies(text: str, pos: int, pending: list[tuple[_Segment, str]]) -> int:
    """Attach each pending heredoc body to the command that opened it; returns where to resume."""
    for segment, delim in pending:
        start = pos
        while True:
            line_end = text.find("\n", pos)
            stop = len(text) if line_end == -1 else line_end
            if text[pos:stop].strip() == delim:
                segment.bodies.append(text[start:pos])
                pos = stop + 1
                break
            if line_end == -1:  # no closing line: like bash, the body runs to the end
                segment.bodies.append(text[start:])
                pos = stop
                break
            pos = line_end + 1
    pending.clear()
    return min(pos, len(text))


# --- shell classification --------------------------------------------------------------------


UNKNOWN_PATH_RE = re.compile(r"[$`]")


class _Acc:
    """Collects what the segments of one command do, and the directory they run in."""

    __slots__ = (
        "created",
        "cwd",
        "deleted",
        "depth",
        "edit",
        "edits_open_file",
        "kinds",
        "listed",
        "opened",
        "read",
        "search",
        "written",
    )

    def __init__(self) -> None:
        self.kinds: list[ActionKind] = []
        self.read: list[str] = []
        self.search: list[str] = []
        self.listed: list[str] = []
        self.edit: list[str] = []
        self.written: list[str] = []
        self.created: list[str] = []
        self.deleted: list[str] = []
        self.opened: str | None = None
        self.edits_open_file = False
        self.cwd = ""  # repo-relative directory after `cd`, "" for the root
        self.depth = 0  # nesting of `bash -c`

    def norm(self, paths: Iterable[str]) -> list[str]:
        cwd = self.cwd
        # `$f`, `$(...)` and backticks are only known when the shell runs: no path to judge.
        return [
            normalize_path(p, cwd)
            for p in paths
            if p and p not in NULL_TARGETS and not UNKNOWN_PATH_RE.search(p)
        ]

    def add(self, kind: ActionKind, paths: Iterable[str] = ()) -> list[str]:
        """Record a kind and its paths; returns the normalised paths."""
        self.kinds.append(kind)
        if not paths:
            return []
        normal = self.norm(paths)
        if kind is K.READ:
            self.read.extend(normal)
        elif kind is K.EDIT:
            self.edit.extend(normal)
        elif kind is K.SEARCH:
            self.search.extend(normal)
        elif kind is K.LIST:
            self.listed.extend(normal)
        return normal

    def effects(self, exit_is_test: bool) -> Effects:
        return make_effects(
            self.kinds,
            self.read,
            self.search,
            self.listed,
            self.edit,
            self.written,
            self.created,
            self.deleted,
            self.opened,
            self.edits_open_file,
            exit_is_test,
        )


def shell_effects(text: str) -> Effects:
    """Effects of a shell command line."""
    return _shell(text)[0]


@lru_cache(maxsize=32768)
def _shell(text: str) -> tuple[Effects, str]:
    """Effects and command text of a shell command line (cached: agents repeat commands)."""
    command = " ".join(text.split())
    acc = _Acc()
    if SWE_EDIT_RE.match(text):
        acc.add(K.EDIT)
        acc.edits_open_file = True
        return acc.effects(False), command
    return acc.effects(_run_segments(_tokenize(text), acc)), command


def _run_segments(segments: list[_Segment], acc: _Acc) -> bool:
    """Classify each simple command; True when the last one runs the tests (its exit code counts)."""
    last_test = False
    for seg in segments:
        last_test = _classify_segment(seg, acc) and seg.then == ""
    return last_test


ASSIGNMENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
PREFIXES = _words("time sudo nohup command exec builtin nice then do else elif if while until ! { stdbuf")
SKIPPED = _words("cd pushd popd export set unset source . true : done fi esac } { then else do")
SKIPPED |= _words("alias shopt ulimit umask")
RUNNERS = frozenset(
    {
        ("uv", "run"),
        ("poetry", "run"),
        ("pipenv", "run"),
        ("pdm", "run"),
        ("hatch", "run"),
        ("bundle", "exec"),
    }
    | {("conda", "run"), ("coverage", "run")}
)
OPTION_VALUES: dict[str, frozenset[str]] = {
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "xargs": frozenset({"-I", "-n", "-P", "-d", "-L", "-a", "-E", "-s"}),
    "runner": frozenset({"-n", "--name", "-p", "--prefix", "--with"}),
}


def _skip_options(words: list[str], i: int, takes_value: frozenset[str], stop: str = "") -> int:
    while i < len(words) and words[i].startswith("-") and words[i] != stop:
        i += 2 if words[i] in takes_value else 1
    return i


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
            i = _skip_options(words, i + 1, OPTION_VALUES["timeout"]) + 1  # + the duration
        elif w == "xargs":
            i = _skip_options(words, i + 1, OPTION_VALUES["xargs"])
        elif i + 1 < n and (w, words[i + 1]) in RUNNERS:
            i = _skip_options(words, i + 2, OPTION_VALUES["runner"], stop="-m")
        else:
            break
    return words[i:] if i else words


def _operands(args: list[str], value_opts: frozenset[str] = frozenset()) -> list[str]:
    """Non-option arguments, skipping the values of options that take one."""
    out: list[str] = []
    skip = after_dashes = False
    for a in args:
        if skip:
            skip = False
        elif after_dashes or not a.startswith("-") or a == "-":
            out.append(a)
        elif a == "--":
            after_dashes = True
        else:
            skip = a in value_opts
    return out


def _classify_segment(seg: _Segment, acc: _Acc) -> bool:
    """Add one simple command's kinds and paths; True when it runs the tests."""
    for op, target in seg.redirects:
        if ">" in op and target not in NULL_TARGETS and not target.startswith("&"):
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
    handler = COMMANDS.get(cmd)
    if handler is not None:
        return handler(words[1:], seg, acc)
    return _run_program(cmd, word0, words[1:], acc)


PYTHON_RE = re.compile(r"(?:python|pypy)[\d.]*$")
TEST_MODULES = _words("pytest unittest nose nose2 tox nox py.test")
TEST_BINARIES = _words("pytest py.test tox nox nosetests nose2 jest mocha vitest rspec phpunit ctest trial")
TEST_SCRIPTS = _words(
    "run_tests.sh run_tests runtests.py run_tests.py runtests.sh runtests run-tests.sh test.sh"
)
TEST_SUBCOMMANDS: dict[str, frozenset[str]] = {
    "make": frozenset({"test", "tests", "check"}),
    "npm": frozenset({"test", "t"}),
    **dict.fromkeys(_words("yarn pnpm go cargo mvn gradle gradlew dotnet mix"), frozenset({"test"})),
}


def _run_program(cmd: str, word0: str, args: list[str], acc: _Acc) -> bool:
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


def _python(args: list[str], acc: _Acc) -> bool:
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


# Command handlers: (arguments, segment, accumulator) -> whether the command ran the tests.
Handler = Callable[[list[str], _Segment, _Acc], bool]
NUMBER_RE = re.compile(r"[+-]?\d+[kKmMbB]?$")
HEAD_VALUE_OPTS = frozenset({"-n", "-c", "--lines", "--bytes"})
SED_VALUE_OPTS = frozenset({"-e", "-f", "-l", "--expression", "--file"})
GREP_VALUE_OPTS = _words(
    "-e -f -m -A -B -C -g -t -j -M --include --exclude --exclude-dir --glob --type --type-not"
)
GREP_VALUE_OPTS |= _words("--max-count --context --after-context --before-context --regexp --file")
FINISH_WORDS = frozenset({"COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT", "MINI_SWE_AGENT_FINAL_OUTPUT"})


def _reader(value_opts: frozenset[str]) -> Handler:
    """cat/less/...: a read of the named files (`head`/`tail` options `-n N` take a value)."""

    def handler(args: list[str], seg: _Segment, acc: _Acc) -> bool:
        files = [a for a in _operands(args, value_opts) if not NUMBER_RE.match(a)]
        # With no file, `| head` filters a pipe and `cat > f <<EOF` writes: neither reads a file.
        if files or not (seg.redirects or seg.piped or seg.bodies):
            acc.add(K.READ, files)
        return False

    return handler


def _open(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    """SWE-agent `open PATH [line]`: a read that also sets the file `edit N:M` changes."""
    opened = acc.add(K.READ, [a for a in _operands(args) if not NUMBER_RE.match(a)][:1])
    if opened:
        acc.opened = opened[0]
    return False


def _scroll(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    acc.add(K.READ)
    return False


def _create(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    """SWE-agent `create PATH`: a new file, opened for editing."""
    created = acc.add(K.EDIT, _operands(args)[:1])
    acc.written.extend(created)
    acc.created.extend(created)
    if created:
        acc.opened = created[0]
    return False


def _swe_edit(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    acc.add(K.EDIT)
    acc.edits_open_file = True
    return False


def _in_place(args: list[str]) -> bool:
    """sed/perl `-i`, alone or in a cluster (`-pi`, `-i.bak`, `-Ei`), before any `-e` script."""
    return any(
        a == "--in-place"
        or a.startswith("--in-place=")
        or (a[:1] == "-" and a[1:2] != "-" and "i" in a.split("e")[0])
        for a in args
    )


def _sed(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    operands = [o for o in _operands([a for a in args if not a.startswith("-i")], SED_VALUE_OPTS) if o]
    has_script_opt = any(a in ("-e", "-f", "--expression", "--file") for a in args)
    acc.add(K.EDIT if _in_place(args) else K.READ, operands if has_script_opt else operands[1:])
    return False


def _perl(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    """perl edits only with `-i`; in an option cluster `i` takes the rest as a backup suffix and
    `e` takes the next argument as the script."""
    in_place = script_given = skip = False
    operands: list[str] = []
    for a in args:
        if skip:
            skip = False
        elif a[:1] == "-" and a[1:2] not in ("", "-"):
            for j, ch in enumerate(a[1:], 1):
                if ch == "i":
                    in_place = True
                    break
                if ch in "eE":
                    script_given, skip = True, j == len(a) - 1
                    break
        else:
            operands.append(a)
    if not in_place:
        acc.add(K.OTHER)
    else:
        acc.add(K.EDIT, operands if script_given else operands[1:])
    return False


def _awk(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    in_place = "inplace" in args
    files = _operands(args, frozenset({"-i", "-F", "-v", "-f"}))[1:]
    acc.add(K.EDIT if in_place else K.READ, files)
    return False


def _tee(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    files = acc.add(K.EDIT, _operands(args))
    if "-a" not in args and "--append" not in args:
        acc.written.extend(files)
    return False


def _patch(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    """patch / git apply / apply_patch: the changed files come from a heredoc body when there is one."""
    if any(a in ("--dry-run", "--check", "--stat", "--numstat") for a in args):
        acc.add(K.OTHER)
        return False
    acc.add(K.EDIT)
    for body in seg.bodies:
        changed, added, deleted = _patch_paths(body)
        acc.edit.extend(acc.norm(changed))
        acc.created.extend(acc.norm(added))
        acc.written.extend(acc.norm(added))
        acc.deleted.extend(acc.norm(deleted))
    return False


def _touch(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    """touch/mkdir: new (or untouched) files and directories."""
    acc.written.extend(acc.add(K.EDIT, _operands(args, frozenset({"-m", "--mode", "-d", "-t", "-r"}))))
    return False


def _rm(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    acc.deleted.extend(acc.add(K.EDIT, _operands(args)))
    return False


def _mv(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    files = _operands(args, frozenset({"-t", "--target-directory", "-S", "--suffix"}))
    changed = acc.add(K.EDIT, files)
    if len(changed) >= 2:
        acc.deleted.extend(changed[:-1])
        acc.written.append(changed[-1])
    return False


def _cp(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    files = _operands(args, frozenset({"-t", "--target-directory", "-S", "--suffix"}))
    if len(files) >= 2:
        acc.add(K.READ, files[:-1])
        acc.written.extend(acc.add(K.EDIT, files[-1:]))
    else:
        acc.add(K.EDIT, files)
    return False


def _search(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    has_pattern_opt = any(a in ("-e", "-f", "--regexp", "--file") or a.startswith("--regexp=") for a in args)
    operands = _operands(args, GREP_VALUE_OPTS)
    paths = operands if has_pattern_opt else operands[1:]
    if paths or not seg.piped:  # `pip list | grep torch` filters output; it searches no code
        acc.add(K.SEARCH, paths)
    return False


def _find(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    """find: a listing of its start directories, a search with `-exec grep`, an edit with `-delete`."""
    starts: list[str] = []
    for a in args:
        if a[:1] in ("-", "(", "!", "\\"):
            break
        starts.append(a)
    exec_tool = ""
    for flag in ("-exec", "-execdir"):
        if flag in args and args.index(flag) + 1 < len(args):
            exec_tool = args[args.index(flag) + 1].rsplit("/", 1)[-1]
    if exec_tool in SEARCHERS:
        acc.add(K.SEARCH, starts)
    elif exec_tool in ("rm", "sed", "perl") or "-delete" in args:
        acc.add(K.LIST, starts)
        acc.add(K.EDIT)  # which files change depends on what find matches: unknown here
    else:
        acc.add(K.LIST, starts)
    return False


def _list(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    operands = _operands(args, frozenset({"-L", "-I", "-P", "--ignore"}))
    acc.add(K.LIST, [a for a in operands if not NUMBER_RE.match(a)])
    return False


def _nth_operand(kind: ActionKind, n: int) -> Handler:
    """SWE-agent `find_file NAME [DIR]`, `search_dir TERM [DIR]`: the path is the second operand."""

    def handler(args: list[str], seg: _Segment, acc: _Acc) -> bool:
        acc.add(kind, _operands(args)[n : n + 1])
        return False

    return handler


def _echo(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    """mini-swe-agent finishes by echoing a marker: `echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT`."""
    if any(a.strip() in FINISH_WORDS for a in args):
        acc.add(K.FINISH)
    elif not _writes_file(seg):  # `echo x > f.py` only writes: the redirect made it an edit
        acc.add(K.OTHER)
    return False


def _writes_file(seg: _Segment) -> bool:
    return any(">" in op and t not in NULL_TARGETS and not t.startswith("&") for op, t in seg.redirects)


def _finish(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    acc.add(K.FINISH)
    return False


def _git(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    """git: status/ls-files list, grep searches, apply/checkout --/restore edit; diff/log/show are other."""
    i = _skip_options(args, 0, frozenset({"-C", "-c"}))
    sub, rest = (args[i], args[i + 1 :]) if i < len(args) else ("", [])
    if sub in ("status", "ls-files", "ls-tree"):
        acc.add(K.LIST)
    elif sub == "grep":
        acc.add(K.SEARCH, rest[rest.index("--") + 1 :] if "--" in rest else [])
    elif sub in ("apply", "am"):
        return _patch(rest, seg, acc)
    elif sub == "restore" or (sub == "checkout" and "--" in rest):
        files = (
            rest[rest.index("--") + 1 :] if "--" in rest else _operands(rest, frozenset({"-s", "--source"}))
        )
        acc.add(K.EDIT, files)
    elif sub in ("reset", "clean") or (
        sub == "stash" and (not rest or rest[0] in ("push", "pop", "apply", "save"))
    ):
        acc.add(K.EDIT)
    else:
        acc.add(K.OTHER)
    return False


def _run_shell(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    """`bash -c "..."` runs another command line: classify that one (two levels at most)."""
    if "-c" in args and acc.depth < 2:
        idx = args.index("-c") + 1
        if idx < len(args):
            acc.depth += 1
            last_test = _run_segments(_tokenize(args[idx]), acc)
            acc.depth -= 1
            return last_test
    script = next((a for a in args if not a.startswith("-")), "")
    is_test = script.rsplit("/", 1)[-1] in TEST_SCRIPTS
    acc.add(K.TEST if is_test else K.OTHER)
    return is_test


def _eval(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    return _run_shell(["-c", " ".join(args)], seg, acc)


def _editor(args: list[str], seg: _Segment, acc: _Acc) -> bool:
    """SWE-agent 1.x runs `str_replace_editor view /testbed/x.py` as a shell-like command."""
    sub = args[0] if args else ""
    paths = acc.add(EDITOR_COMMANDS.get(sub, K.OTHER), args[1:2])
    if sub == "create":
        acc.created.extend(paths)
        acc.written.extend(paths)
    return False


READERS = _words("cat head tail less more nl bat batcat wc tac view")
SEARCHERS = _words("grep egrep fgrep rg ag ack ack-grep")
COMMANDS: dict[str, Handler] = {
    **dict.fromkeys(READERS, _reader(frozenset())),
    **dict.fromkeys(("head", "tail"), _reader(HEAD_VALUE_OPTS)),
    **dict.fromkeys(SEARCHERS, _search),
    **dict.fromkeys(_words("ls ll dir tree fd"), _list),
    **dict.fromkeys(("open", "filemap"), _open),
    **dict.fromkeys(("goto", "scroll_up", "scroll_down"), _scroll),
    **dict.fromkeys(("edit", "insert", "append"), _swe_edit),
    **dict.fromkeys(("echo", "printf"), _echo),
    **dict.fromkeys(("sed", "gsed"), _sed),
    **dict.fromkeys(("awk", "gawk"), _awk),
    **dict.fromkeys(("patch", "apply_patch"), _patch),
    **dict.fromkeys(("touch", "mkdir"), _touch),
    **dict.fromkeys(("rm", "rmdir", "unlink"), _rm),
    **dict.fromkeys(SHELLS, _run_shell),
    **dict.fromkeys(EDITOR_TOOLS, _editor),
    "find": _find,
    "find_file": _nth_operand(K.LIST, 1),
    "search_dir": _nth_operand(K.SEARCH, 1),
    "search_file": _nth_operand(K.SEARCH, 1),
    "create": _create,
    "submit": _finish,
    "perl": _perl,
    "tee": _tee,
    "mv": _mv,
    "cp": _cp,
    "git": _git,
    "eval": _eval,
}
