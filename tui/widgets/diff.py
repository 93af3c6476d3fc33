"""A unified diff coloured line by line: as readable as a lexer's output at a fraction of the
cost, which matters when every decision redraws two diffs."""

from __future__ import annotations

from rich.text import Text

from core.text import strip_ansi

MAX_LINES = 400


def diff_text(diff: str, max_lines: int = MAX_LINES) -> Text:
    if not diff.strip():
        return Text("(no diff)", style="dim")
    lines = strip_ansi(diff).splitlines()
    text = Text()
    for line in lines[:max_lines]:
        if line.startswith(("+++", "---", "diff ", "index ")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        else:
            style = ""
        text.append(line + "\n", style=style)
    if len(lines) > max_lines:
        text.append(f"… {len(lines) - max_lines} more lines of diff\n", style="dim italic")
    return text
