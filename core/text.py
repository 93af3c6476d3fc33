"""Making harness output safe to store and show.

Tool outputs carry NUL bytes, lone surrogates and megabytes of logs. They are stored as
text with NULs replaced (SQLite and terminals both choke on them) and cut to a size cap
that keeps the head and the tail, where test summaries and tracebacks live. ANSI escape
codes are kept in storage (they are the truth) and stripped only for display.

`visible` is the one boundary between data and a terminal: every string that came from a
file, a model or a harness passes it before a widget, a Rich console or an error message
shows it, so no data can set the window title (OSC 0/2), write the clipboard (OSC 52), plant
a link (OSC 8), clear the screen (CSI) or reorder what is read (bidi overrides).
"""

from __future__ import annotations

import re

ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
NUL_REPLACEMENT = "\N{SYMBOL FOR NULL}"
# C0 controls but tab and newline (CR rewrites a line), DEL, C1 (a terminal reads U+009B as CSI),
# and the bidi embeddings, overrides and isolates of "Trojan Source".
_UNSAFE = "".join(map(chr, [*range(0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]))
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
UNSAFE_RE = re.compile(f"[{re.escape(_UNSAFE + _BIDI)}]")
_VISIBLE = {ord(c): f"\\x{ord(c):02x}" for c in _UNSAFE} | {ord(c): f"\\u{ord(c):04x}" for c in _BIDI}


def clean_text(value: str, max_bytes: int = 0) -> tuple[str, int]:
    """Return `value` with NULs replaced and, if over `max_bytes`, its middle cut.

    The second item is the number of bytes cut (0 when nothing was).
    """
    if "\x00" in value:
        value = value.replace("\x00", NUL_REPLACEMENT)
    if max_bytes <= 0 or len(value) * 4 <= max_bytes:
        return value, 0
    data = value.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return value, 0
    half = max_bytes // 2
    cut = len(data) - 2 * half
    head = data[:half].decode("utf-8", "ignore")
    tail = data[-half:].decode("utf-8", "ignore")
    return f"{head}\n[… {cut} bytes cut by agentpref on import …]\n{tail}", cut


def visible(value: str) -> str:
    """`value` safe for a terminal: each control character written as its escape (ESC as
    `\\x1b`, U+202E as `\\u202e`), so it is seen, never obeyed. Newline and tab are kept.

    One regex search when nothing needs changing (the common case: it runs on every table row).
    """
    return value.translate(_VISIBLE) if UNSAFE_RE.search(value) else value


def one_line(value: str) -> str:
    """An id from data for a title or the clipboard: `visible`, and its newlines and tabs
    written as escapes too (a pasted id must not run a command or split a title)."""
    return visible(value).replace("\n", "\\n").replace("\t", "\\t")


def strip_ansi(value: str) -> str:
    """Tool output for display: well-formed escape sequences (colours) dropped, the rest `visible`."""
    return visible(ANSI_RE.sub("", value))
