"""Shell syntax: a command line split into simple commands, with redirections and heredoc bodies.

Only the grammar lives here (quotes, operators, heredocs); what each program does with its
words is `core.actions.programs`, and `core.actions.shell` ties the two together.

One regex tokenizer rather than `shlex`: it is several times faster (this runs on every step of
every import), never raises on unbalanced quotes (a lone quote is kept as a plain character) and
keeps heredoc bodies apart from the commands around them.
"""

from __future__ import annotations

import re

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
SPECIAL_RE = re.compile(r"[\"'\\<>|&;()\n]")
SEPARATORS = frozenset({"&&", "||", ";", ";;", "|", "|&", "&", "\n", "(", ")"})


def _unquoted_part(m: re.Match[str]) -> str:
    single, double, escaped = m.groups()
    if single is not None:
        return single
    if double is not None:
        return DQ_ESCAPE_RE.sub(r"\1", double)
    return "" if escaped == "\n" else escaped


def _unquote(word: str) -> str:
    if "'" not in word and '"' not in word and "\\" not in word:
        return word
    return QUOTED_RE.sub(_unquoted_part, word)


class Segment:
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
        self.segments: list[Segment] = []
        self.current = Segment()
        self.expect: str | None = None  # the redirect operator waiting for its target word
        self.pending: list[tuple[Segment, str]] = []

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
                self.current = Segment(piped=op in ("|", "|&"))
            return
        # A redirection: `2>&1` and `>&2` are complete; the others take the next word.
        self.expect = None if op[-1].isdigit() or op[-1] == "-" else op

    def finish(self) -> list[Segment]:
        cur = self.current
        if cur.words or cur.redirects:
            self.segments.append(cur)
        if self.segments:
            self.segments[-1].then = ""  # a trailing newline or `;` joins nothing
        return self.segments


def tokenize(text: str) -> list[Segment]:
    """Split a command line into simple commands, keeping redirections and heredoc bodies."""
    if not SPECIAL_RE.search(text):  # the common `cat src/a.py`: plain words, one command
        seg = Segment()
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


def _read_bodies(text: str, pos: int, pending: list[tuple[Segment, str]]) -> int:
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
