"""What each program does to files: `cat` reads, `sed -i` edits, `grep` searches, `find` lists, ...

A table from program name to a handler that reads the program's arguments and records the kinds
and paths into an `Acc`, the accumulator for one command line. SWE-agent's own commands (`open`,
`create`, `edit`, `find_file`, ...) are programs here too. Wrappers (`timeout`, `uv run`), `cd`,
test runners and nested shells belong to the command line as a whole and live in
`core.actions.shell`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from core.actions.accumulator import Acc
from core.actions.arguments import names, skip_options, writes_file
from core.actions.arguments import operands as _operands
from core.actions.paths import patch_paths
from core.actions.syntax import Segment
from core.schema import ActionKind

K = ActionKind


# Handlers: (arguments, segment, accumulator) -> None; they record into the accumulator.
Handler = Callable[[list[str], Segment, Acc], None]
NUMBER_RE = re.compile(r"[+-]?\d+[kKmMbB]?$")
# Options that take a value, per program, so that the value is not taken for a path.
HEAD_VALUE_OPTS = frozenset({"-n", "-c", "--lines", "--bytes"})
SED_VALUE_OPTS = frozenset({"-e", "-f", "-l", "--expression", "--file"})
AWK_VALUE_OPTS = frozenset({"-i", "-F", "-v", "-f"})
TOUCH_VALUE_OPTS = frozenset({"-m", "--mode", "-d", "-t", "-r"})
MOVE_VALUE_OPTS = frozenset({"-t", "--target-directory", "-S", "--suffix"})  # mv and cp
LIST_VALUE_OPTS = frozenset({"-L", "-I", "-P", "--ignore"})
GIT_VALUE_OPTS = frozenset({"-C", "-c"})
GIT_RESTORE_VALUE_OPTS = frozenset({"-s", "--source"})
GREP_VALUE_OPTS = names(
    "-e -f -m -A -B -C -g -t -j -M --include --exclude --exclude-dir --glob --type --type-not"
    " --max-count --context --after-context --before-context --regexp --file"
)
FINISH_WORDS = frozenset({"COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT", "MINI_SWE_AGENT_FINAL_OUTPUT"})
SEARCHERS = names("grep egrep fgrep rg ag ack ack-grep")
EDITOR_TOOLS = frozenset({"str_replace_editor", "str_replace_based_edit_tool"})
EDITOR_COMMANDS: dict[str, ActionKind] = {
    "view": K.READ,
    "create": K.EDIT,
    "str_replace": K.EDIT,
    "insert": K.EDIT,
    "undo_edit": K.EDIT,
    "edit": K.EDIT,
}


def _reader(value_opts: frozenset[str]) -> Handler:
    """cat/less/...: a read of the named files (`head`/`tail` options `-n N` take a value)."""

    def handler(args: list[str], seg: Segment, acc: Acc) -> None:
        files = [a for a in _operands(args, value_opts) if not NUMBER_RE.match(a)]
        # With no file, `| head` filters a pipe and `cat > f <<EOF` writes: neither reads a file.
        if files or not (seg.redirects or seg.piped or seg.bodies):
            acc.add(K.READ, files)

    return handler


def _open(args: list[str], seg: Segment, acc: Acc) -> None:
    """SWE-agent `open PATH [line]`: a read that also sets the file `edit N:M` changes."""
    opened = acc.add(K.READ, [a for a in _operands(args) if not NUMBER_RE.match(a)][:1])
    if opened:
        acc.opened = opened[0]


def _scroll(args: list[str], seg: Segment, acc: Acc) -> None:
    acc.add(K.READ)


def _create(args: list[str], seg: Segment, acc: Acc) -> None:
    """SWE-agent `create PATH`: a new file, opened for editing."""
    created = acc.add(K.EDIT, _operands(args)[:1])
    acc.written.extend(created)
    acc.created.extend(created)
    if created:
        acc.opened = created[0]


def _swe_edit(args: list[str], seg: Segment, acc: Acc) -> None:
    acc.edit_open_file()


def _in_place(args: list[str]) -> bool:
    """sed/perl `-i`, alone or in a cluster (`-pi`, `-i.bak`, `-Ei`), before any `-e` script."""
    return any(
        a == "--in-place"
        or a.startswith("--in-place=")
        or (a[:1] == "-" and a[1:2] != "-" and "i" in a.split("e")[0])
        for a in args
    )


def _sed(args: list[str], seg: Segment, acc: Acc) -> None:
    operands = [o for o in _operands([a for a in args if not a.startswith("-i")], SED_VALUE_OPTS) if o]
    has_script_opt = any(a in ("-e", "-f", "--expression", "--file") for a in args)
    acc.add(K.EDIT if _in_place(args) else K.READ, operands if has_script_opt else operands[1:])


def _perl(args: list[str], seg: Segment, acc: Acc) -> None:
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


def _awk(args: list[str], seg: Segment, acc: Acc) -> None:
    in_place = "inplace" in args
    files = _operands(args, AWK_VALUE_OPTS)[1:]
    acc.add(K.EDIT if in_place else K.READ, files)


def _tee(args: list[str], seg: Segment, acc: Acc) -> None:
    files = acc.add(K.EDIT, _operands(args))
    if "-a" not in args and "--append" not in args:
        acc.written.extend(files)


def _patch(args: list[str], seg: Segment, acc: Acc) -> None:
    """patch / git apply / apply_patch: the changed files come from a heredoc body when there is one."""
    if any(a in ("--dry-run", "--check", "--stat", "--numstat") for a in args):
        acc.add(K.OTHER)
        return
    acc.add(K.EDIT)
    for body in seg.bodies:
        changed, added, deleted = patch_paths(body)
        acc.edit.extend(acc.norm(changed))
        acc.created.extend(acc.norm(added))
        acc.written.extend(acc.norm(added))
        acc.deleted.extend(acc.norm(deleted))


def _touch(args: list[str], seg: Segment, acc: Acc) -> None:
    """touch/mkdir: new (or untouched) files and directories."""
    acc.written.extend(acc.add(K.EDIT, _operands(args, TOUCH_VALUE_OPTS)))


def _rm(args: list[str], seg: Segment, acc: Acc) -> None:
    acc.deleted.extend(acc.add(K.EDIT, _operands(args)))


def _mv(args: list[str], seg: Segment, acc: Acc) -> None:
    changed = acc.add(K.EDIT, _operands(args, MOVE_VALUE_OPTS))
    if len(changed) >= 2:
        acc.deleted.extend(changed[:-1])
        acc.written.append(changed[-1])


def _cp(args: list[str], seg: Segment, acc: Acc) -> None:
    files = _operands(args, MOVE_VALUE_OPTS)
    if len(files) >= 2:
        acc.add(K.READ, files[:-1])
        acc.written.extend(acc.add(K.EDIT, files[-1:]))
    else:
        acc.add(K.EDIT, files)


def _search(args: list[str], seg: Segment, acc: Acc) -> None:
    has_pattern_opt = any(a in ("-e", "-f", "--regexp", "--file") or a.startswith("--regexp=") for a in args)
    operands = _operands(args, GREP_VALUE_OPTS)
    paths = operands if has_pattern_opt else operands[1:]
    if paths or not seg.piped:  # `pip list | grep torch` filters output; it searches no code
        acc.add(K.SEARCH, paths)


def _find(args: list[str], seg: Segment, acc: Acc) -> None:
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


def _list(args: list[str], seg: Segment, acc: Acc) -> None:
    acc.add(K.LIST, [a for a in _operands(args, LIST_VALUE_OPTS) if not NUMBER_RE.match(a)])


def _second_operand(kind: ActionKind) -> Handler:
    """SWE-agent `find_file NAME [DIR]`, `search_dir TERM [DIR]`: the path is the second operand."""

    def handler(args: list[str], seg: Segment, acc: Acc) -> None:
        acc.add(kind, _operands(args)[1:2])

    return handler


def _echo(args: list[str], seg: Segment, acc: Acc) -> None:
    """mini-swe-agent finishes by echoing a marker: `echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT`."""
    if any(a.strip() in FINISH_WORDS for a in args):
        acc.add(K.FINISH)
    elif not any(writes_file(op, t) for op, t in seg.redirects):
        acc.add(K.OTHER)  # `echo x > f.py` only writes: the redirect made it an edit


def _finish(args: list[str], seg: Segment, acc: Acc) -> None:
    acc.add(K.FINISH)


def _git(args: list[str], seg: Segment, acc: Acc) -> None:
    """git: status/ls-files list, grep searches, apply/checkout --/restore edit; diff/log/show are other."""
    i = skip_options(args, 0, GIT_VALUE_OPTS)
    sub, rest = (args[i], args[i + 1 :]) if i < len(args) else ("", [])
    if sub in ("status", "ls-files", "ls-tree"):
        acc.add(K.LIST)
    elif sub == "grep":
        acc.add(K.SEARCH, rest[rest.index("--") + 1 :] if "--" in rest else [])
    elif sub in ("apply", "am"):
        _patch(rest, seg, acc)
    elif sub == "restore" or (sub == "checkout" and "--" in rest):
        files = rest[rest.index("--") + 1 :] if "--" in rest else _operands(rest, GIT_RESTORE_VALUE_OPTS)
        acc.add(K.EDIT, files)
    elif sub in ("reset", "clean") or (
        sub == "stash" and (not rest or rest[0] in ("push", "pop", "apply", "save"))
    ):
        acc.add(K.EDIT)
    else:
        acc.add(K.OTHER)


def _editor(args: list[str], seg: Segment, acc: Acc) -> None:
    """SWE-agent 1.x runs `str_replace_editor view /testbed/x.py` as a shell-like command."""
    sub = args[0] if args else ""
    paths = acc.add(EDITOR_COMMANDS.get(sub, K.OTHER), args[1:2])
    if sub == "create":
        acc.created.extend(paths)
        acc.written.extend(paths)


PROGRAMS: dict[str, Handler] = {
    **dict.fromkeys(names("cat less more nl bat batcat wc tac view"), _reader(frozenset())),
    **dict.fromkeys(("head", "tail"), _reader(HEAD_VALUE_OPTS)),
    **dict.fromkeys(SEARCHERS, _search),
    **dict.fromkeys(names("ls ll dir tree fd"), _list),
    **dict.fromkeys(("open", "filemap"), _open),
    **dict.fromkeys(("goto", "scroll_up", "scroll_down"), _scroll),
    **dict.fromkeys(("edit", "insert", "append"), _swe_edit),
    **dict.fromkeys(("echo", "printf"), _echo),
    **dict.fromkeys(("sed", "gsed"), _sed),
    **dict.fromkeys(("awk", "gawk"), _awk),
    **dict.fromkeys(("patch", "apply_patch"), _patch),
    **dict.fromkeys(("touch", "mkdir"), _touch),
    **dict.fromkeys(("rm", "rmdir", "unlink"), _rm),
    **dict.fromkeys(EDITOR_TOOLS, _editor),
    "find": _find,
    "find_file": _second_operand(K.LIST),
    "search_dir": _second_operand(K.SEARCH),
    "search_file": _second_operand(K.SEARCH),
    "create": _create,
    "submit": _finish,
    "perl": _perl,
    "tee": _tee,
    "mv": _mv,
    "cp": _cp,
    "git": _git,
}
