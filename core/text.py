"""Making harness output safe to store and show.

Tool outputs carry NUL bytes, lone surrogates and megabytes of logs. They are stored as
text with NULs replaced (SQLite and terminals both choke on them) and cut to a size cap
that keeps the head and the tail, where test summaries and tracebacks live. ANSI escape
codes are kept in storage (they are the truth) and stripped only for display.
"""

from __future__ import annotations

import re

ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
NUL_REPLACEMENT = "\N{SYMBOL FOR NULL}"


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


def strip_ansi(value: str) -> str:
    """Text for display: escape sequences removed, other control characters made visible."""
    value = ANSI_RE.sub("", value)
    return "".join(
        ch if ch in "\n\t" or (ch >= " " and ch != "\x7f") else f"\\x{ord(ch):02x}" for ch in value
    )
