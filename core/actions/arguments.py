"""Reading a program's words: which are options, which are operands, which redirections write.

And `names`, the notation of the long vocabularies (programs, tools, options) used throughout.
"""

from __future__ import annotations

from core.actions.paths import NULL_TARGETS


def names(text: str) -> frozenset[str]:
    """A set of names written as one string: long vocabularies stay readable in a few lines."""
    return frozenset(text.split())


def writes_file(op: str, target: str) -> bool:
    """A redirection into a file: not `2>&1`, `>/dev/null` or an input redirection."""
    return ">" in op and target not in NULL_TARGETS and not target.startswith("&")


def skip_options(words: list[str], i: int, takes_value: frozenset[str], stop: str = "") -> int:
    """The index of the first word from `i` on that is not an option (or the value of one)."""
    while i < len(words) and words[i].startswith("-") and words[i] != stop:
        i += 2 if words[i] in takes_value else 1
    return i


def operands(args: list[str], value_opts: frozenset[str] = frozenset()) -> list[str]:
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
