"""Pair labelling: two rollouts side by side, one key decides and moves on.

Sides are randomised per pair (see storage.labelling), so position never says which side
the checks prefer. Every decision is committed before the next pair is drawn.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from core.pairs import name_sides
from core.prefix import divergence
from core.text import visible
from storage.decision_writer import Outcome
from storage.labelling import LabelSession, ShownPair
from tui.screens.note import NoteScreen
from tui.screens.polling import PollsWhileShown
from tui.widgets.badges import badges, own_tests_note
from tui.widgets.diff import diff_text
from tui.widgets.timeline import timeline_text

NARROW = 120  # columns below which the two sides stack
QUEUE_POLL_S = 2.0  # how often an empty labelling queue looks for pairs mined elsewhere


class PairPane(VerticalScroll):
    """One side of the pair: score and flags, the timeline from the divergence, the diff."""

    def compose(self) -> ComposeResult:
        yield Static(classes="pane-head")
        yield Static(classes="pane-timeline")
        yield Static(classes="pane-diff")

    def show(self, side: str, rollout, start: int) -> None:  # type: ignore[no-untyped-def]
        head = Text(f"{side.upper()}  ", style="bold")
        head.append(f"score {rollout.score:g}  ", style="bold")
        outcome = {True: ("tests pass", "green"), False: ("tests fail", "red"), None: ("tests ?", "dim")}
        label, colour = outcome[rollout.tests_passed]
        head.append(
            f"{label}{own_tests_note(rollout.tests_passed, rollout.tests_passed_own)}  ", style=colour
        )
        head.append(f"{len(rollout.steps)} steps  {visible(rollout.exit_status)}\n", style="dim")
        head.append_text(badges(rollout.flag_ids))
        self.query_one(".pane-head", Static).update(head)
        width = max(40, (self.size.width or 80) - 6)
        self.query_one(".pane-timeline", Static).update(timeline_text(rollout, start, width))
        self.query_one(".pane-diff", Static).update(diff_text(rollout.final_diff))
        self.scroll_home(animate=False)


class LabelScreen(PollsWhileShown, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "decide('left')", "Left better", id="label.left"),
        Binding("2", "decide('right')", "Right better", id="label.right"),
        Binding("3", "decide('both_good')", "Both good", id="label.both_good"),
        Binding("4", "decide('both_bad')", "Both bad", id="label.both_bad"),
        Binding("space", "decide('skip')", "Skip", id="label.skip"),
        Binding("backspace", "undo", "Undo", id="label.undo"),
        Binding("n", "note", "Tags/note", id="label.note"),
        Binding("i", "task", "Task", id="label.task"),
        Binding("escape", "app.pop_or_rollouts", "Back", show=False),
    ]

    def __init__(self, session: LabelSession) -> None:
        super().__init__()
        self.session = session
        self.current: ShownPair | None = None
        self.pending_tags: list[str] = []
        self.pending_note = ""
        self._binding_state: tuple[bool, bool] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="progress")
        yield Static(id="reason")
        with Horizontal(id="label-body"):
            with Horizontal(id="panes"):
                yield PairPane(id="left")
                yield PairPane(id="right")
            yield Static(id="history")
        yield Footer()

    def on_mount(self) -> None:
        self.next_pair()
        # Another process may mine (a `mine` in the next pane): an empty queue looks again.
        self.poll_while_shown(QUEUE_POLL_S, self._pick_up_new_pairs)

    def _pick_up_new_pairs(self) -> None:
        if self.current is None and self.session.next_pending() is not None:
            self.next_pair()

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW, "narrow")

    # -- actions ---------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("decide", "note", "task"):
            return self.current is not None or None  # None: shown greyed out
        if action == "undo":
            return bool(self.session.history) or None
        return True

    def action_decide(self, decision: str) -> None:
        if self.current is None:
            return
        if self.session.store.read_only:
            self.notify("this workspace is read-only: decisions cannot be stored", severity="error")
            return
        self.session.decide(self.current, decision, self.pending_tags, self.pending_note)
        self.next_pair()

    def decision_settled(self, outcome: Outcome) -> None:
        """The writer stored (or gave up) a decision: the counts change, and a pair whose
        decision failed is back in the queue."""
        self.session.settled(
            outcome.submitted_pair_id or outcome.pair_id, outcome.pair_id if outcome.stored else None
        )
        if not outcome.stored and self.current is None:
            self.next_pair()
            return
        self.draw_progress()

    def action_undo(self) -> None:
        pair = self.session.undo()
        if pair is not None:
            self.show_pair(self.session.show(pair))

    def action_task(self) -> None:
        from tui.screens.task_info import TaskScreen

        if self.current is not None:
            task_id = self.current.pair.task_id
            self.app.push_screen(TaskScreen(task_id, self.session.store.task(task_id)))

    def action_note(self) -> None:
        def keep(result: tuple[list[str], str] | None) -> None:
            if result is not None:
                self.pending_tags, self.pending_note = result
                self.draw_progress()

        self.app.push_screen(NoteScreen(self.pending_tags, self.pending_note), keep)

    # -- drawing ---------------------------------------------------------------------------
    def next_pair(self) -> None:
        pending = self.session.next_pending()
        if pending is None:
            self.current = None
            self.query_one("#reason", Static).update(
                Text(
                    "Every proposed pair is decided. Mine more (agentpref-tui mine) or train.",
                    style="bold green",
                )
            )
            for pane in self.query(PairPane):
                pane.display = False
            self.draw_progress()
            self._refresh_bindings_if_changed()
            return
        self.show_pair(self.session.show(pending))

    def show_pair(self, shown: ShownPair) -> None:
        self.current = shown
        self.pending_tags, self.pending_note = [], ""
        start = max(0, divergence(shown.left, shown.right) - 1)  # one shared step for context
        for pane in self.query(PairPane):
            pane.display = True
        self.query_one("#left", PairPane).show("left", shown.left, start)
        self.query_one("#right", PairPane).show("right", shown.right, start)
        sides = ("left", "right") if shown.left_is_chosen else ("right", "left")
        reason = visible(name_sides(shown.pair.reason, *sides))
        self.query_one("#reason", Static).update(Text(f"checks: {reason}", style="italic"))
        self.draw_progress()
        self._refresh_bindings_if_changed()

    def _refresh_bindings_if_changed(self) -> None:
        """The footer redraws itself on a bindings refresh: only when a key became (un)available."""
        state = (self.current is not None, bool(self.session.history))
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()

    def draw_progress(self) -> None:
        progress = self.session.progress()
        line = Text(f"done {progress.done} · remaining {progress.remaining}", style="bold")
        if progress.pending:
            line.append(f" · storing {progress.pending}…", style="bold yellow")
        if self.current is not None:
            task = self.current.pair.task_id
            decided, total = progress.by_task.get(task, (0, 0))
            line.append(
                f"   task {visible(task)}: {decided}/{total}   pair #{self.current.pair.id}", style="dim"
            )
        if self.pending_tags or self.pending_note:
            tags = " ".join(self.pending_tags) or "-"
            line.append(visible(f"   tags {tags}  note {self.pending_note[:30]!r}"), style="cyan")
        self.query_one("#progress", Static).update(line, layout=False)  # one line: no relayout
        history = Text("last decisions\n", style="bold")
        for pref in reversed(self.session.history):
            side = "skip" if pref.decision.value == "skip" else pref.decision.value
            if pref.chosen_id is not None:
                side = "left" if pref.chosen_id == pref.left_id else "right"
            history.append(f"#{pref.pair_id:<5} {side}\n")
        if not self.session.history:
            history.append("(none yet)\n", style="dim")
        history.append("\nbackspace: undo", style="dim")
        self.query_one("#history", Static).update(history, layout=False)  # a fixed column
