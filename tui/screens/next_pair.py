"""The next pair, prepared while the person reads this one.

A worker thread asks the queue what would come after the pair shown (as if it were decided),
loads both rollouts through its own connection (SQLite connections stay in their thread) and
builds both sides with `tui.widgets.pair_pane.prepare`, their first screen of rows drawn. The
key that decides then only checks that the queue still starts with that pair and swaps it in;
anything else (another pair first, a resize, a theme change) is built on the key as before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.console import Console
from rich.style import Style
from textual.message import Message

from core.prefix import divergence
from storage.labelling import LabelSession, ShownPair
from storage.store import Store
from tui.widgets.pair_pane import Prepared, prepare


@dataclass(frozen=True, slots=True)
class PaneSize:
    """One side's pane as it is now: what its lines are built and drawn for."""

    side: str
    width: int
    height: int
    style: Style


@dataclass(frozen=True, slots=True)
class NextPair:
    shown: ShownPair
    start: int  # first_step_shown(shown): found here, not on the key
    sides: dict[str, Prepared]  # side -> its lines and first rows


class NextPairReady(Message):
    """A worker prepared the pair to show after pair `after`."""

    def __init__(self, after: int, ready: NextPair) -> None:
        super().__init__()
        self.after = after
        self.ready = ready


def first_step_shown(shown: ShownPair) -> int:
    """Where both panes begin: one shared step before the sides part, for context. The screen
    and the worker that prepares the next pair must agree, or every prepared pair is rebuilt."""
    return max(0, divergence(shown.left, shown.right) - 1)


def prepare_next(
    session: LabelSession, after: int, blind: bool, panes: list[PaneSize], console: Console
) -> NextPair | None:
    """The pair after pair `after`, both sides built; None when the queue holds no other."""
    store = Store(session.store.path)
    try:
        peek = replace(session, store=store, history=list(session.history))
        pair = peek.next_pending(after=after)
        if pair is None or pair.id == after:
            return None
        shown = peek.show(pair)
    finally:
        store.close()
    start = first_step_shown(shown)
    rollouts = {"left": shown.left, "right": shown.right}
    sides = {
        pane.side: prepare(
            pane.side, rollouts[pane.side], start, blind, pane.width, pane.height, console, pane.style
        )
        for pane in panes
    }
    return NextPair(shown, start, sides)
