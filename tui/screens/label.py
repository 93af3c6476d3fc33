"""Pair labelling: two rollouts side by side, one key decides and moves on.

Sides are randomised per pair (see storage.labelling), so position never says which side
the checks prefer. Every decision is committed before the next pair is drawn. In blind mode
(`[label] blind`, or `b`) the scores, the checks' reason and every flag mark are not drawn at
all, so the label is the person's own; a decision counts as blind only when the pair was blind
the whole time it was shown. The pair id is in the progress line, each side's rollout id on its
border; `y` copies the pair id (OSC 52, so it works over SSH).

Everything needed to decide is reached from the keyboard without moving focus: nothing on this
screen takes focus (but the search input while it is open), so every key does the same thing
at all times. The task's instruction is one line (`e` unfolds it); each side scrolls on its own
keys (`j`/`k` the left, `J`/`K` the right), jumps to its diff (`d`/`D`), opens full-screen in
the rollout detail (`o`/`O`, blind when labelling is; escape comes back to the same pair at the
same place), and `/` searches both sides (`.`/`,` next and previous match).

A key that decides should cost less than a frame: while a pair is read, the next one is loaded
and drawn in a worker (tui.screens.next_pair), and the key only swaps it in; the checks' reason
always takes two rows, so a new pair never moves the panes (a relayout redraws everything).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import get_current_worker

from core.pairs import name_sides
from core.schema import Task
from core.text import one_line, visible
from storage.decision_writer import Outcome
from storage.labelling import LabelSession, ShownPair
from tui.screens.next_pair import NextPair, NextPairReady, PaneSize, first_step_shown, prepare_next
from tui.screens.note import NoteScreen
from tui.screens.polling import PollsWhileShown
from tui.widgets.keys_footer import KeysFooter
from tui.widgets.pair_pane import PairPane
from tui.widgets.search_bar import SearchBar

NARROW = 120  # columns below which the two sides stack
QUEUE_POLL_S = 2.0  # how often an empty labelling queue looks for pairs mined elsewhere
NO_INSTRUCTION = "(no instruction: the rollouts came with a task id only)"
REASON_ROWS = 2  # the checks' reason (the CSS cuts a longer one)
# The next pair is prepared this long after one is shown: while it is read, never in the way of
# drawing it (a faster key finds nothing prepared and builds the pair as it comes).
PREPARE_AFTER_S = 0.3
SIDES = ("left", "right")


class LabelScreen(PollsWhileShown, Screen[None]):
    AUTO_FOCUS = ""  # nothing takes focus, so a key never depends on where focus was left
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "decide('left')", "Left better", id="label.left"),
        Binding("2", "decide('right')", "Right better", id="label.right"),
        Binding("3", "decide('both_good')", "Both good", id="label.both_good"),
        Binding("4", "decide('both_bad')", "Both bad", id="label.both_bad"),
        Binding("space", "decide('skip')", "Skip", id="label.skip", key_display="␣"),  # a remap shows its key
        Binding("backspace", "undo", "Undo", id="label.undo"),
        Binding("slash", "find", "Find", id="label.find"),
        Binding("question_mark", "app.help", "Keys"),
        # The rest is listed by `?`; each side's keys are also on its border.
        Binding("j", "page('left', 1)", "Left side down", id="label.left_down", show=False),
        Binding("k", "page('left', -1)", "Left side up", id="label.left_up", show=False),
        Binding("J", "page('right', 1)", "Right side down", id="label.right_down", show=False),
        Binding("K", "page('right', -1)", "Right side up", id="label.right_up", show=False),
        Binding("d", "diff('left')", "Left side: its diff / top", id="label.left_diff", show=False),
        Binding("D", "diff('right')", "Right side: its diff / top", id="label.right_diff", show=False),
        Binding("o", "open('left')", "Left side full-screen", id="label.left_open", show=False),
        Binding("O", "open('right')", "Right side full-screen", id="label.right_open", show=False),
        Binding("full_stop", "find_next(1)", "Next match", id="label.find_next", show=False),
        Binding("comma", "find_next(-1)", "Previous match", id="label.find_previous", show=False),
        Binding("n", "note", "Tags/note", id="label.note", show=False),
        Binding("e", "expand", "Instruction: unfold/fold", id="label.expand", show=False),
        Binding("i", "task", "Task", id="label.task", show=False),
        Binding("b", "toggle_blind", "Blind", id="label.blind", show=False),
        Binding("y", "copy_id", "Copy pair id", id="label.copy", show=False),
        Binding("escape", "back", "Clear search / back", show=False),
    ]

    def __init__(self, session: LabelSession) -> None:
        super().__init__()
        self.session = session
        self.current: ShownPair | None = None
        self.pending_tags: list[str] = []
        self.pending_note = ""
        self.seen_checks = False  # the current pair was shown with its scores and checks
        self.instruction_open = False  # the instruction unfolded (kept from pair to pair)
        self.last_search = ""
        self.found: tuple[str, int] | None = None  # the current match: (side, index in its pane)
        self._binding_state: tuple[bool, bool, bool] | None = None
        self._keys_shown: dict[str, str] = {}  # action -> its key as shown
        self._tasks: dict[str, Task | None] = {}
        self._rows: dict[str | None, int] = {}  # rows of the lines drawn (by widget id)
        self._texts: dict[str | None, tuple[object, ...]] = {}  # what each line shows (by widget id)
        self._next: NextPair | None = None  # the pair after this one, prepared while it is read
        self._prepare_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="progress")
        yield Static(id="instruction")
        yield Static(id="reason")
        with Horizontal(id="label-body"):
            yield PairPane(id="left")
            yield PairPane(id="right")
            yield Static(id="history")
        yield KeysFooter(compact=True, show_command_palette=False)  # ctrl+p is in `?`

    def pane(self, side: str) -> PairPane:
        return self.query_one(f"#{side}", PairPane)

    @property
    def searching(self) -> bool:
        """The search bar is open (it is mounted on the first `/`: most pairs are decided
        without it, and an input costs the first screen more than any other widget)."""
        bars = self.query(SearchBar)
        return bool(bars) and bars.first().display

    def on_mount(self) -> None:
        self.next_pair()
        # Another process may mine (a `mine` in the next pane): an empty queue looks again.
        self.poll_while_shown(QUEUE_POLL_S, self._pick_up_new_pairs)

    def _pick_up_new_pairs(self) -> None:
        if self.current is None and self.session.next_pending() is not None:
            self.next_pair()

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW, "narrow")
        if self.instruction_open:
            self._draw_instruction()  # wrapped at the width

    # -- actions ---------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("decide", "note", "task", "copy_id", "page", "diff", "open", "find", "expand"):
            return self.current is not None or None  # None: shown greyed out
        if action == "undo":
            return bool(self.session.history) or None
        if action == "find_next":
            return (self.current is not None and self.found is not None) or None
        return True

    def action_decide(self, decision: str) -> None:
        if self.current is None:
            return
        if self.session.store.read_only:
            self.notify("this workspace is read-only: decisions cannot be stored", severity="error")
            return
        self.session.decide(
            self.current, decision, self.pending_tags, self.pending_note, blind=not self.seen_checks
        )
        self.next_pair()

    def decision_settled(self, outcome: Outcome) -> None:
        """The writer stored (or gave up) a decision: the counts change, and a pair whose
        decision failed is back in the queue."""
        self.session.settled(
            outcome.submitted_pair_id or outcome.pair_id, outcome.pair_id if outcome.stored else None
        )
        if self.current is None:  # a decision given up, or a skip stored: a pair to show again
            self.next_pair()
            return
        self.draw_progress()

    def action_undo(self) -> None:
        pair = self.session.undo()
        if pair is not None:
            self.show_pair(self.session.show(pair))

    def action_toggle_blind(self) -> None:
        """Hide or show the scores, the checks' reason and the badges, for this pair and on."""
        self.session.blind = not self.session.blind
        if self.current is not None:
            self.seen_checks = self.seen_checks or not self.session.blind
            self._draw_pair(self.current)
        self.draw_progress()
        if self.session.blind:
            self.notify("blind: scores, the checks' reason and badges hidden until you decide")
        else:
            self.notify("scores, the checks' reason and badges shown (this pair is no longer blind)")

    def action_copy_id(self) -> None:
        if self.current is not None:
            pair_id = str(self.current.pair.id)
            self.app.copy_to_clipboard(pair_id)
            self.notify(f"copied pair id {pair_id} to the clipboard")

    def action_page(self, side: str, direction: int) -> None:
        self.pane(side).page(direction)

    def action_diff(self, side: str) -> None:
        self.pane(side).toggle_diff()

    def action_open(self, side: str) -> None:
        """The side full-screen in the rollout detail, at the step in view (or the current
        match's), blind when labelling is; escape comes back to this pair as it was."""
        from tui.screens.rollout_detail import open_rollout

        pane = self.pane(side)
        if self.current is None or pane.rollout is None:
            return
        rollout = pane.rollout
        open_rollout(
            self.app,
            self.session.store,
            rollout.id,
            rollout=rollout,
            blind=self.session.blind,
            step=pane.step_to_open(),
            search=pane.search_text,
        )

    def action_expand(self) -> None:
        self.instruction_open = not self.instruction_open
        self._draw_instruction()

    async def action_find(self) -> None:
        if self.current is None:
            return
        if not self.query(SearchBar):
            await self.mount(SearchBar(id="label-search"), before=self.query_one(KeysFooter))
        self.query_one(SearchBar).open(self.last_search)

    @on(SearchBar.Done)
    def _search_done(self, event: SearchBar.Done) -> None:
        if event.text is None:  # cancelled: the search shown stays
            return
        self.last_search = event.text
        self.search(event.text)

    def search(self, text: str) -> None:
        """Mark `text` on both sides ("" clears); each side scrolls to its first match, and the
        first of all (the left's, if it has one) is the current one."""
        counts = {side: self.pane(side).search(text) for side in SIDES}
        first = next((side for side in SIDES if counts[side]), None)
        self.found = None if first is None else (first, 0)
        for side in SIDES:
            if counts[side]:
                self.pane(side).go_to_match(0, current=side == first)
        if text and first is None:
            self.notify(f"no match for {text!r} on either side", severity="warning")
        self._refresh_bindings_if_changed()

    def action_find_next(self, step: int) -> None:
        """Through the matches of both sides in turn: the left's top to bottom, then the right's."""
        if self.found is None:
            return
        order = [(side, n) for side in SIDES for n in range(len(self.pane(side).matches))]
        if not order:
            return
        at = order.index(self.found) if self.found in order else -1
        side, number = order[(at + step) % len(order)]
        if side != self.found[0]:
            self.pane(self.found[0]).go_to_match(None)
        self.found = (side, number)
        self.pane(side).go_to_match(number)

    def action_back(self) -> None:
        """Escape clears a search first; else it leaves labelling."""
        if any(self.pane(side).search_text for side in SIDES):
            self.search("")
            return
        self.app.action_pop_or_rollouts()  # type: ignore[attr-defined]

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
        ready, self._next = self._next, None
        if pending is None:
            self.current = None
            self._rows.pop("reason", None)
            self._texts.pop("reason", None)
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
        if ready is not None and ready.shown.pair == pending:  # prepared while this one was read
            self.show_pair(ready.shown, ready)
        else:
            self.show_pair(self.session.show(pending))

    def show_pair(self, shown: ShownPair, ready: NextPair | None = None) -> None:
        self.current = shown
        self.pending_tags, self.pending_note = [], ""
        self.seen_checks = not self.session.blind
        for pane in self.query(PairPane):
            pane.display = True
        self._draw_pair(shown, ready)
        self.draw_progress()
        self._refresh_bindings_if_changed()
        if not self.searching:
            self.set_focus(None)  # whatever happened before, no widget holds the keys
        if self._prepare_timer is not None:
            self._prepare_timer.stop()
        self._prepare_timer = self.set_timer(PREPARE_AFTER_S, self._prepare_next)

    def _prepare_next(self) -> None:
        """Prepare the pair after this one in a worker, for the panes as they are now."""
        self._next = None
        if self.current is None or self.current.pair.id is None:
            return
        panes = [
            PaneSize(
                side,
                self.pane(side).lines_width,
                self.pane(side).scrollable_content_region.height,
                self.pane(side).rich_style,
            )
            for side in SIDES
        ]
        if all(pane.width > 0 for pane in panes):
            self._prepare_worker(self.current.pair.id, self.session.blind, panes)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="next-pair",
        description="preparing the next pair",
    )
    def _prepare_worker(self, after: int, blind: bool, panes: list[PaneSize]) -> None:
        ready = prepare_next(self.session, after, blind, panes, self.app.console)
        if ready is not None and not get_current_worker().is_cancelled:
            self.post_message(NextPairReady(after, ready))

    @on(NextPairReady)
    def _next_ready(self, event: NextPairReady) -> None:
        if self.current is not None and self.current.pair.id == event.after:
            self._next = event.ready

    def _draw_pair(self, shown: ShownPair, ready: NextPair | None = None) -> None:
        """`ready`: the sides as prepared in the background (used where they still fit)."""
        blind = self.session.blind
        start = ready.start if ready is not None else first_step_shown(shown)
        self.found = None  # a new pair, or the same redrawn: no search marked
        for side, rollout in zip(SIDES, (shown.left, shown.right), strict=True):
            pane = self.pane(side)
            pane.hint = self._side_keys(side)
            pane.show(side, rollout, start, blind, ready.sides.get(side) if ready else None)
        self._draw_instruction()
        if blind:
            key = self._key_of("toggle_blind")
            reason = Text(f"blind: scores, the checks' reason and badges hidden ({key} shows them)")
            reason.stylize("italic")
        else:
            sides = ("left", "right") if shown.left_is_chosen else ("right", "left")
            reason = Text(f"checks: {visible(name_sides(shown.pair.reason, *sides))}", style="italic")
        # Always two rows (one when blind), a short reason padded: the panes never move by a row
        # from pair to pair, and a relayout redraws the whole screen.
        rows = 1 if blind else REASON_ROWS
        widget = self.query_one("#reason", Static)
        width = widget.content_region.width or self.size.width
        if len(reason.wrap(self.app.console, max(1, width))) < rows:
            reason.append("\n")
        self._update_line(widget, reason, rows)

    def _update_line(self, widget: Static, text: Text, rows: int) -> None:
        """`widget.update(text)` of `rows` rows: a relayout (which redraws every widget of the
        screen) only when its height changes."""
        layout = self._rows.get(widget.id) != rows
        self._rows[widget.id] = rows
        self._update(widget, text, layout)

    def _update(self, widget: Static, text: Text, layout: bool = False) -> None:
        """`widget.update(text)` unless it shows that already (the next pair of the same task,
        the progress when a decision is stored): a widget updated is drawn again."""
        shown = (text.plain, str(text.style), tuple(text.spans))
        if not layout and self._texts.get(widget.id) == shown:
            return
        self._texts[widget.id] = shown
        widget.update(text, layout=layout)

    def _draw_instruction(self) -> None:
        """The task's instruction on one line cut with an ellipsis, or unfolded (`e`) to at most
        a third of the screen; `i` shows the whole task."""
        widget = self.query_one("#instruction", Static)
        if self.current is None:
            widget.display = False
            return
        widget.display = True
        task_id = self.current.pair.task_id
        if task_id not in self._tasks:
            self._tasks[task_id] = self.session.store.task(task_id) or self.current.left.task
        task = self._tasks[task_id]
        instruction = task.instruction.strip() if task is not None else ""
        text = Text.assemble(("task ", "dim"), (one_line(task_id), "bold"))
        if not self.instruction_open:
            text.append(" · ", style="dim")
            text.append(visible(" ".join(instruction.split())) or NO_INSTRUCTION)
            self._update_line(widget, text, 1)  # one line: the CSS cuts it with an ellipsis
            return
        width = max(20, self.size.width - 2)
        text.append(f"  ({self._key_of('expand')} folds it)\n", style="dim")
        text.append(visible(instruction) or NO_INSTRUCTION)
        lines = list(text.wrap(self.app.console, width))
        most = max(3, self.size.height // 3)
        if len(lines) > most:
            more = len(lines) - most + 1
            note = f"… {more} more lines: {self._key_of('task')} shows the whole task"
            lines = [*lines[: most - 1], Text(note, style="dim italic")]
        self._update_line(widget, Text("\n").join(lines), len(lines))

    def _side_keys(self, side: str) -> str:
        """The keys of one side, for its border: scroll, diff, full-screen."""
        down, up = self._key_of(f"page('{side}', 1)"), self._key_of(f"page('{side}', -1)")
        diff, full = self._key_of(f"diff('{side}')"), self._key_of(f"open('{side}')")
        return f"{down}/{up} scroll · {diff} diff · {full} full"

    def _key_of(self, action: str) -> str:
        """The key bound to `action` as shown, after the `[keys]` remapping (fixed while the
        app runs, so looked up once)."""
        if action not in self._keys_shown:
            # Every action's at once: the active bindings are worked out anew on each call.
            for active in self.active_bindings.values():
                self._keys_shown.setdefault(active.binding.action, self.app.get_key_display(active.binding))
        return self._keys_shown.get(action, "?")

    def _refresh_bindings_if_changed(self) -> None:
        """The footer redraws itself on a bindings refresh: only when a key became (un)available."""
        state = (self.current is not None, bool(self.session.history), self.found is not None)
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()

    def draw_progress(self) -> None:
        progress = self.session.progress()
        # One line, the most needed first: at 80 columns the end may be cut (with an ellipsis).
        line = Text()
        if self.session.blind:
            line.append(" BLIND ", style="bold reverse")
            line.append(" ")
        line.append(visible(self.session.who), style="bold magenta")  # who is labelling
        line.append(" · ", style="dim")
        if self.current is not None:
            line.append(f"pair #{self.current.pair.id}", style="bold cyan")
            line.append(" · ", style="dim")
        line.append(f"done {progress.done}, {progress.remaining} left", style="bold")
        if progress.skipped:
            line.append(f" ({progress.skipped} skipped)", style="bold")
        if progress.pending:
            line.append(f" · storing {progress.pending}…", style="bold yellow")
        if self.pending_tags or self.pending_note:
            tags = " ".join(self.pending_tags) or "-"
            line.append(visible(f" · tags {tags}  note {self.pending_note[:30]!r}"), style="cyan")
        if self.current is not None:
            task = self.current.pair.task_id
            decided, total = progress.by_task.get(task, (0, 0))
            line.append(f" · task {visible(task)} {decided}/{total}", style="dim")
        self._update(self.query_one("#progress", Static), line)  # one line: no relayout
        history = Text("last decisions\n", style="bold")
        for pref in reversed(self.session.history):
            side = "skip" if pref.decision.value == "skip" else pref.decision.value
            if pref.chosen_id is not None:
                side = "left" if pref.chosen_id == pref.left_id else "right"
            history.append(f"#{pref.pair_id:<5} {side}\n")
        if not self.session.history:
            history.append("(none yet)\n", style="dim")
        history.append(f"\n{self._key_of('undo')}: undo", style="dim")
        # Relaid out only when its number of lines changes (a few times a session)
        self._update_line(self.query_one("#history", Static), history, history.plain.count("\n") + 1)
