"""A unified diff coloured line by line: as readable as a lexer's output at a fraction of the
cost, which matters when every decision redraws two diffs."""

from __future__ import annotations

from rich.text import Text

from core.text import strip_ansi

MAX_LINES = 400


def line_style(line: str) -> str:
    if line.startswith(("+++", "---", "diff ", "index ")):
        return "bold"
    if line.startswith("+"):
        return "green"
    if line.startswith("-"):
        return "red"
    if line.startswith("@@"):
        return "cyan"
    return ""


def diff_lines(diff: str, max_lines: int = MAX_LINES) -> list[Text]:
    """One display-safe Text per line (tabs expanded, so a line's width is its length in
    cells), and a last line saying how many were left out."""
    if not diff.strip():
        return [Text("(no diff)", style="dim")]
    lines = strip_ansi(diff).splitlines()
    out = [Text(line.expandtabs(4), style=line_style(line)) for line in lines[:max_lines]]
    if len(lines) > max_lines:
        out.append(Text(f"… {len(lines) - max_lines} more lines of diff", style="dim italic"))
    return out


def diff_text(diff: str, max_lines: int = MAX_LINES) -> Text:
    return Text("\n").join(diff_lines(diff, max_lines))
