"""One rollout in full: a header, the tool-call timeline, the selected step, the diff and flags.

From 120 columns the timeline sits left of the step view (`-wide`); below that everything
stacks (`-narrow`): see rollout_detail.tcss. A step is one OptionList line (rollouts have at
most a few hundred steps), and the step view is rebuilt only when the highlighted step
changes or `f` toggles folding, so megabytes of tool output cost nothing until shown.

`/` searches every step's whole text (thought, call, output): `n`/`N` go to the next and
previous step that holds a match, marked in the timeline and highlighted in the step. Opened
blind (from labelling in blind mode) it shows no score, no flags and no flag marks.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from core.schema import Flag, Rollout, Step
from core.text import one_line
from storage.store import Store
from tui.widgets.badges import badges, own_tests_note, short
from tui.widgets.keys_footer import KeysFooter
from tui.widgets.search_bar import SearchBar
from tui.widgets.step_timeline import StepTimeline, safe
from tui.widgets.step_view import StepView, diff_renderable, foldable, step_renderable
from tui.widgets.timeline import flagged_steps, step_haystack

WIDE = 120  # columns from which the timeline and the step view sit side by side
KEPT = "rollout-detail"  # the name of the detail screen an app keeps (see `open_rollout`)


def header_text(rollout: Rollout, blind: bool = False) -> Text:
    """`blind`: no score and no badges (the flags are hidden too)."""
    outcomes = {True: ("pass", "bold green"), False: ("fail", "bold red"), None: ("unknown", "dim")}
    outcome, outcome_style = outcomes[rollout.tests_passed]
    fields: list[tuple[str, str, str]] = [
        ("task", safe(rollout.task_id), "bold"),
        ("policy", safe(rollout.policy) or "?", ""),
        ("seed", "?" if rollout.seed is None else str(rollout.seed), ""),
        ("steps", str(len(rollout.steps)), ""),
        *([] if blind else [("score", f"{rollout.score:g}", "bold")]),
        ("tests", outcome + own_tests_note(rollout.tests_passed, rollout.tests_passed_own), outcome_style),
        ("exit", safe(rollout.exit_status) or "?", ""),
    ]
    text = Text()
    for name, value, style in fields:
        text.append(f"{name} ", style="dim")
        text.append(value, style=style)
        text.append("  ")
    source = rollout.source
    where = f"{safe(source.path)}:{source.record}" if source.path else "(no source)"
    text.append("\nsource ", style="dim")
    text.append(f"{where} ({safe(source.format) or '?'})  ")
    if rollout.parent_id:
        step = "?" if rollout.branch_step is None else str(rollout.branch_step + 1)
        text.append("branch of ", style="dim")
        text.append(f"{safe(rollout.parent_id, 12)} at step {step}  ", style="bold magenta")
    if blind:
        text.append("blind: score and flags hidden", style="italic")
    else:
        text.append_text(badges(rollout.flag_ids))
    return text


def flag_prompt(flag: Flag) -> Text:
    text = Text()
    text.append(f" {short(flag.check)} ", style="bold white on dark_red")
    text.append(f" {safe(flag.check)}", style="bold")
    text.append(f" ×{flag.weight:g}{' heuristic' if flag.heuristic else ''}", style="dim")
    steps = ", ".join(str(i + 1) for i in flag.steps) or "none"
    text.append(f"  step{'s' if len(flag.steps) != 1 else ''} {steps}", style="cyan")
    if flag.anchor is not None and flag.steps != [flag.anchor]:
        text.append(f"  lesson at {flag.anchor + 1}", style="magenta")  # where mining pairs it
    text.append("  " + safe(flag.message, 2_000))
    return text


class RolloutDetailScreen(Screen[None]):
    """Everything about one rollout; `escape` goes back to the screen below."""

    CSS_PATH = "rollout_detail.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        # The most used first: at 80 columns the footer shows about eight (`?` lists them all).
        Binding("j", "step(1)", "Next", id="detail.next_step"),
        Binding("k", "step(-1)", "Prev", id="detail.prev_step"),
        Binding("slash", "find", "Find", id="detail.find"),
        Binding("f", "toggle_fold", "Fold", id="detail.fold"),
        Binding("g", "next_flagged", "Flagged", id="detail.next_flagged"),
        Binding("i", "task", "Task", id="detail.task"),
        Binding("escape", "back", "Back", id="detail.back"),
        Binding("b", "branch", "Branch", id="detail.branch"),
        Binding("p", "parent", "Parent", id="detail.parent"),
        Binding("n,full_stop", "find_next(1)", "Next match", id="detail.find_next", show=False),
        Binding("N,comma", "find_next(-1)", "Previous match", id="detail.find_previous", show=False),
        Binding("y", "copy_id", "Copy rollout id", id="detail.copy_id", show=False),  # in `?`
        Binding("tab", "app.focus_next", "Pane", id="detail.focus_next", show=False),
        Binding("shift+tab", "app.focus_previous", "Prev pane", show=False),
    ]

    def __init__(
        self,
        store: Store,
        rollout_id: str,
        *,
        rollout: Rollout | None = None,
        blind: bool = False,
        step: int | None = None,
        search: str = "",
    ) -> None:
        """`rollout`: the rollout already loaded (else read from the store); `blind`: no score,
        flags or flag marks; `step`: the position in its steps to show first; `search`: a search
        to start with."""
        super().__init__()
        self.store = store
        self._set_rollout(rollout_id, rollout, blind, step, search)

    def _set_rollout(
        self, rollout_id: str, rollout: Rollout | None, blind: bool, step: int | None, search: str
    ) -> None:
        self.rollout_id = rollout_id
        self.blind = blind
        self.search_text = search
        self._given = rollout if rollout is not None and rollout.id == rollout_id else None
        self._start = step
        self._found: list[int] = []  # positions of the steps holding a match
        self._haystacks: list[str] | None = None  # each step's whole text in lower case
        self.rollout: Rollout | None = None
        self.step_position: int | None = None  # index into rollout.steps of the step shown
        self.unfolded = False  # the shown step's long texts are unfolded (reset on every move)
        self._positions: dict[int, int] = {}  # step.index -> position in rollout.steps
        self._marks: dict[int, list[str]] = {}
        self._flagged: list[int] = []  # positions of the flagged steps
        self._foldable = False
        self._branchable = False  # a train rollout of a task this workspace can run
        self._binding_state: tuple[bool, ...] | None = None

    # -- widgets ----------------------------------------------------------------------------
    @property
    def timeline(self) -> StepTimeline:
        return self.query_one("#detail-timeline", StepTimeline)

    @property
    def step_view(self) -> StepView:
        return self.query_one("#detail-step", StepView)

    @property
    def flag_list(self) -> OptionList:
        return self.query_one("#detail-flags", OptionList)

    @property
    def diff_view(self) -> StepView:
        return self.query_one("#detail-diff", StepView)

    @property
    def selected_step(self) -> Step | None:
        if self.rollout is None or self.step_position is None:
            return None
        return self.rollout.steps[self.step_position]

    def compose(self) -> ComposeResult:
        self._set_layout(self.app.size.width)  # before the children are styled: styled once
        yield Static(id="detail-header")
        with Container(id="detail-body"):
            yield StepTimeline(id="detail-timeline")
            yield StepView(id="detail-step")
            yield OptionList(id="detail-flags")
            yield StepView(id="detail-diff")
        yield SearchBar(id="detail-search")
        yield KeysFooter(compact=True, show_command_palette=False)  # ctrl+p is in `?`

    def on_resize(self, event: events.Resize) -> None:
        self._set_layout(event.size.width)

    def _set_layout(self, width: int) -> None:
        self.set_class(width >= WIDE, "-wide")
        self.set_class(width < WIDE, "-narrow")

    def on_mount(self) -> None:
        self.step_view.border_title = "Step"
        self.diff_view.border_title = "Final diff"
        self._show_rollout()

    def load(
        self,
        rollout_id: str,
        *,
        rollout: Rollout | None = None,
        blind: bool = False,
        step: int | None = None,
        search: str = "",
    ) -> None:
        """Show another rollout in this screen, as a new one would (the options as in the
        constructor). A screen kept (installed) and loaded again costs a redraw; building one
        costs its whole DOM: styles, layout and footer, several times the redraw."""
        self._set_rollout(rollout_id, rollout, blind, step, search)
        if self.is_mounted:
            self._show_rollout()

    def _show_rollout(self) -> None:
        self.timeline.border_title = Text(f"Timeline · rollout {one_line(self.rollout_id)}")
        self.flag_list.border_title = "Flags"
        self.step_view.highlight("")
        self.diff_view.highlight("")
        self.rollout = rollout = self._given or self.store.rollout(self.rollout_id)
        if rollout is None:
            header = Text(f"rollout {safe(self.rollout_id)} not found", style="bold red")
            self.query_one("#detail-header", Static).update(header)
            self.timeline.clear()
            self.flag_list.clear_options()
            self.diff_view.show(Text(""))
            self.step_view.show(Text("(no rollout)", style="dim"))
            self._refresh_bindings_if_changed()
            return
        task = self.store.task(rollout.task_id)
        self._branchable = rollout.eval_id is None and task is not None and bool(task.repo_path)
        self._positions = {step.index: pos for pos, step in enumerate(rollout.steps)}
        self._marks = {} if self.blind else flagged_steps(rollout)
        self._flagged = sorted(self._positions[i] for i in self._marks if i in self._positions)
        self.query_one("#detail-header", Static).update(header_text(rollout, self.blind))
        if self.blind:
            self.flag_list.border_title = "Flags (hidden: blind)"
            hidden = Text("(hidden in blind mode, until the pair is decided)", style="dim")
            self.flag_list.set_options([Option(hidden, disabled=True)])
        else:
            self.flag_list.border_title = f"Flags ({len(rollout.flags)})"
            no_flags = Option(Text("(no flags)", style="dim"), disabled=True)
            self.flag_list.set_options([flag_prompt(flag) for flag in rollout.flags] or [no_flags])
            self.flag_list.highlighted = 0 if rollout.flags else None
        self.diff_view.show(diff_renderable(rollout.final_diff))
        self.timeline.show(rollout, self._marks)
        if rollout.steps:
            start = self._start if self._start is not None and 0 <= self._start < len(rollout.steps) else 0
            self.go_to(start)
        else:
            self.step_view.show(Text("(no steps)", style="dim"))
        self.timeline.focus()
        self._refresh_bindings_if_changed()
        if self.search_text:  # once laid out: the step and the diff know their lines then
            self.call_after_refresh(self.search, self.search_text, False)

    def _refresh_bindings_if_changed(self) -> None:
        """The footer is drawn again only when a key became (un)available, not on every step."""
        state = tuple(
            bool(self.check_action(action, ()))
            for action in ("toggle_fold", "next_flagged", "branch", "parent", "find_next")
        )
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()

    # -- showing a step ---------------------------------------------------------------------
    def show_step(self, position: int, force: bool = False) -> None:
        """Show `rollout.steps[position]` folded; nothing happens if it is already shown."""
        if self.rollout is None or not 0 <= position < len(self.rollout.steps):
            return
        if position == self.step_position and not force:
            return
        self.step_position, self.unfolded = position, False
        self._render_step()

    def _render_step(self, keep_scroll: bool = False) -> None:
        step = self.selected_step
        if self.rollout is None or step is None:
            return
        self._foldable = foldable(step)
        marks = self._marks.get(step.index, [])
        self.step_view.show(step_renderable(step, len(self.rollout.steps), marks, self.unfolded), keep_scroll)
        self.step_view.border_title = f"Step {step.index + 1}" + (" (unfolded)" if self.unfolded else "")
        self._refresh_bindings_if_changed()

    def go_to(self, position: int) -> None:
        """Move the timeline to `position` and show that step."""
        self.timeline.move_to(position)
        self.show_step(position)

    @on(OptionList.OptionHighlighted, "#detail-timeline")
    def _step_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show_step(event.option_index)

    @on(OptionList.OptionSelected, "#detail-timeline")
    def _step_selected(self) -> None:
        self.step_view.focus()

    @on(OptionList.OptionSelected, "#detail-flags")
    def _flag_selected(self, event: OptionList.OptionSelected) -> None:
        self.jump_to_flag(event.option_index)

    def jump_to_flag(self, flag_index: int) -> None:
        """Move the timeline to the first step the flag points at."""
        if self.rollout is None or not 0 <= flag_index < len(self.rollout.flags):
            return
        flag = self.rollout.flags[flag_index]
        positions = sorted(self._positions[i] for i in flag.steps if i in self._positions)
        if not positions:
            self.notify(f"{flag.check} points at no step", severity="warning")
            return
        self.go_to(positions[0])

    # -- actions ----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_fold":
            return True if self._foldable else None
        if action == "next_flagged":
            return True if self._flagged else None
        if action == "branch":
            return True if self._branchable and self.selected_step is not None else None
        if action == "parent":
            return True if self.rollout is not None and self.rollout.parent_id else None
        if action == "find_next":
            return True if self._found else None
        return True

    def action_step(self, delta: int) -> None:
        if self.rollout is None or not self.rollout.steps:
            return
        current = self.step_position
        position = 0 if current is None else current + delta
        self.go_to(max(0, min(len(self.rollout.steps) - 1, position)))

    def action_toggle_fold(self) -> None:
        if not self._foldable:
            return
        self.unfolded = not self.unfolded
        self._render_step(keep_scroll=True)

    def action_next_flagged(self) -> None:
        positions = self._flagged
        if not positions:
            return
        current = -1 if self.step_position is None else self.step_position
        self.go_to(next((p for p in positions if p > current), positions[0]))

    def action_branch(self) -> None:
        """Replay up to the selected step, try other actions there, continue each (in a worker)."""
        step = self.selected_step
        if not self._branchable or step is None or self.rollout is None:
            return
        self.app.branch_rollout(self.rollout.id, step.index)  # type: ignore[attr-defined]

    def action_parent(self) -> None:
        if self.rollout is not None and self.rollout.parent_id:
            self.app.push_screen(RolloutDetailScreen(self.store, self.rollout.parent_id, blind=self.blind))

    def action_task(self) -> None:
        from tui.screens.task_info import TaskScreen

        if self.rollout is not None:
            task_id = self.rollout.task_id
            self.app.push_screen(TaskScreen(task_id, self.store.task(task_id) or self.rollout.task))

    def action_copy_id(self) -> None:
        """The id to the clipboard (OSC 52: works over SSH, where the terminal allows it)."""
        copied = one_line(self.rollout_id)
        self.app.copy_to_clipboard(copied)
        escaped = " (control characters written as escapes)" if copied != self.rollout_id else ""
        self.notify(f"copied rollout id {copied} to the clipboard{escaped}")

    @property
    def search_bar(self) -> SearchBar:
        return self.query_one(SearchBar)

    def action_find(self) -> None:
        self.search_bar.open(self.search_text)

    @on(SearchBar.Done)
    def _search_done(self, event: SearchBar.Done) -> None:
        if event.text is not None:
            self.search(event.text)

    def search(self, text: str, jump: bool = True) -> None:
        """Mark the steps whose whole text holds `text` (any case; "" clears), highlight it in
        the step and the diff, and (`jump`) go to the first such step from the one shown."""
        self.search_text = text
        needle = text.lower()
        steps = self.rollout.steps if self.rollout is not None else []
        if needle and self._haystacks is None:  # each step's text made searchable once per rollout
            self._haystacks = [step_haystack(step) for step in steps]
        self._found = [pos for pos, text in enumerate(self._haystacks or []) if needle and needle in text]
        self.timeline.mark_found(set(self._found))
        self.step_view.highlight(needle)
        self.diff_view.highlight(needle)
        self._refresh_bindings_if_changed()
        if not needle:
            return
        in_diff = " (and in the final diff)" if self.diff_view.match_rows else ""
        if not self._found:
            where = "in the final diff only" if in_diff else "in no step"
            self.notify(f"{text!r}: {where}", severity="information" if in_diff else "warning")
            return
        keys = f"{self._key('find_next(1)')}/{self._key('find_next(-1)')}"
        self.notify(f"{text!r}: {len(self._found)} steps{in_diff}; {keys} next/previous", timeout=4)
        if jump:
            current = self.step_position or 0
            self.go_to(next((p for p in self._found if p >= current), self._found[0]))
        self.step_view.scroll_to_match()

    def _key(self, action: str) -> str:
        binding = next((a.binding for a in self.active_bindings.values() if a.binding.action == action), None)
        return "?" if binding is None else self.app.get_key_display(binding)

    def action_find_next(self, direction: int) -> None:
        if not self._found:
            return
        current = self.step_position if self.step_position is not None else -1
        if direction > 0:
            position = next((p for p in self._found if p > current), self._found[0])
        else:
            position = next((p for p in reversed(self._found) if p < current), self._found[-1])
        self.go_to(position)
        self.step_view.scroll_to_match()

    def action_back(self) -> None:
        self.app.pop_screen()


def open_rollout(
    app: App[object],
    store: Store,
    rollout_id: str,
    *,
    rollout: Rollout | None = None,
    blind: bool = False,
    step: int | None = None,
    search: str = "",
) -> None:
    """Push the detail of `rollout_id` (the options as RolloutDetailScreen takes them). One
    detail screen is kept (installed) per app and loaded again: a new screen builds its whole
    DOM, styles, layout and footer, about four times what loading a kept one costs. While the
    kept one is in the stack (a parent opened from it), a new one is pushed."""
    kept = app.get_screen(KEPT) if app.is_screen_installed(KEPT) else None
    if isinstance(kept, RolloutDetailScreen) and kept not in app.screen_stack and kept.store is store:
        kept.load(rollout_id, rollout=rollout, blind=blind, step=step, search=search)
        app.push_screen(kept)
        return
    screen = RolloutDetailScreen(store, rollout_id, rollout=rollout, blind=blind, step=step, search=search)
    if kept is None:
        app.install_screen(screen, KEPT)
    app.push_screen(screen)
