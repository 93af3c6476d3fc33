"""Canonical actions: every tool call mapped to list/read/search/edit/test/finish/other, with paths.

The package's API is `core.actions.canonical`'s, re-exported here. Underneath, one job a module:
- `canonical`: `Effects` and `classify`; structured tool calls are mapped there directly;
- `shell`: a shell command line's simple commands classified in order (`cd`, wrappers, test
  runners, nested shells), in an `Acc` (`accumulator`);
- `syntax`: the shell grammar (quotes, operators, redirections, heredocs);
- `programs`: what each program (`cat`, `sed -i`, `grep`, `git`, SWE-agent's commands) does;
- `arguments`: options, operands and redirections of a program's words;
- `paths`: textual path normalisation and the files a patch names.
"""

from core.actions.canonical import (
    SHELL_TOOLS,
    Effects,
    action_from,
    analyse,
    classify,
    classify_steps,
    effects,
    normalize_path,
    shell_effects,
    shell_text,
    tool_name,
)

__all__ = [
    "SHELL_TOOLS",
    "Effects",
    "action_from",
    "analyse",
    "classify",
    "classify_steps",
    "effects",
    "normalize_path",
    "shell_effects",
    "shell_text",
    "tool_name",
]
