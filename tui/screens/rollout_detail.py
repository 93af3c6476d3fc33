"""One rollout in full: a header, the tool-call timeline, the selected step, the diff and flags.

From 120 columns the timeline sits left of the step view (`-wide`); below that everything
stacks (`-narrow`): see rollout_detail.tcss. A step is one OptionList line (rollouts have at
most a few hundred steps), and the step view is rebuilt only when the highlighted step
changes or `f` toggles folding, so megabytes of tool output cost nothing until shown.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from core.schema import Flag, Rollout, Step
from core.text import visible
from storage.store import Store
from tui.widgets.badges import badges, own_tests_note, short
from tui.widgets.step_view import StepView, diff_renderable, foldable, step_renderable
from tui.widgets.timeline import flagged_steps, step_line

WIDE = 120  # columns from which the timeline and the step view sit side by side
PREVIEW_CHARS = 4_000  # of an observation or argument, enough for a timeline line


def safe(value: object, width: int = 200) -> str:
    """A field of the rollout (an id, a path, a flag's message), cut and made `visible`."""
    return visible(str(value)[:width])


def preview(step: Step) -> Step:
    """The step cut to what a timeline line shows: `step_line` would otherwise pass a 10 MB
    observation through `strip_ansi` whole, and prints call arguments unstripped."""
    update: dict[str, object] = {}
    if step.observation is not None and len(step.observation.content) > PREVIEW_CHARS:
        content = step.observation.content[:PREVIEW_CHARS]
        update["observation"] = step.observation.model_copy(update={"content": content})
    if step.tool_call is not None:
        arguments = {
            k: safe(v, PREVIEW_CHARS) if isinstance(v, str) else v
            for k, v in step.tool_call.arguments.items()
        }
        update["tool_call"] = step.tool_call.model_copy(
            update={"name": safe(step.tool_call.name), "arguments": arguments}
        )
    if len(step.thought) > PREVIEW_CHARS:
        update["thought"] = step.thought[:PREVIEW_CHARS]
    return step.model_copy(update=update) if update else step


def header_text(rollout: Rollout) -> Text:
    outcomes = {True: ("pass", "bold green"), False: ("fail", "bold red"), None: ("unknown", "dim")}
    outcome, outcome_style = outcomes[rollout.tests_passed]
    fields: list[tuple[str, str, str]] = [
        ("task", safe(rollout.task_id), "bold"),
        ("policy", safe(rollout.policy) or "?", ""),
        ("seed", "?" if rollout.seed is None else str(rollout.seed), ""),
        ("steps", str(len(rollout.steps)), ""),
        ("score", f"{rollout.score:g}", "bold"),
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


class StepTimeline(OptionList):
    """One line per step, rebuilt at the widget's width so the summaries use the room there is."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rollout: Rollout | None = None
        self._previews: list[Step] = []
        self._width = 0

    def show(self, rollout: Rollout) -> None:
        self.rollout = rollout
        self._previews = [preview(step) for step in rollout.steps]
        self._rebuild()
        self.highlighted = 0 if rollout.steps else None

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self._rebuild()

    def _rebuild(self) -> None:
        if self.rollout is None:
            return
        self._width = self.size.width
        width = max(40, self.scrollable_content_region.width or 100)
        marks = flagged_steps(self.rollout)
        prompts = [step_line(step, marks.get(step.index, []), width) for step in self._previews]
        highlighted = self.highlighted
        with self.prevent(OptionList.OptionHighlighted):
            self.set_options(prompts)
            self.highlighted = highlighted


class RolloutDetailScreen(Screen[None]):
    """Everything about one rollout; `escape` goes back to the screen below."""

    CSS_PATH = "rollout_detail.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "step(1)", "Next", id="detail.next_step"),
        Binding("k", "step(-1)", "Prev", id="detail.prev_step"),
        Binding("f", "toggle_fold", "Fold", id="detail.fold"),
        Binding("g", "next_flagged", "Flagged", id="detail.next_flagged"),
        Binding("b", "branch", "Branch", id="detail.branch"),
        Binding("p", "parent", "Parent", id="detail.parent"),
        Binding("i", "task", "Task", id="detail.task"),
        Binding("tab", "app.focus_next", "Pane", id="detail.focus_next"),
        Binding("shift+tab", "app.focus_previous", "Prev pane", show=False),
        Binding("escape", "back", "Back", id="detail.back"),
    ]

    def __init__(self, store: Store, rollout_id: str) -> None:
        super().__init__()
        self.store = store
        self.rollout_id = rollout_id
        self.rollout: Rollout | None = None
        self.step_position: int | None = None  # index into rollout.steps of the step shown
        self.unfolded = False  # the shown step's long texts are unfolded (reset on every move)
        self._positions: dict[int, int] = {}  # step.index -> position in rollout.steps
        self._marks: dict[int, list[str]] = {}
        self._foldable = False
        self._branchable = False  # a train rollout of a task this workspace can run

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
        yield Static(id="detail-header")
        with Container(id="detail-body"):
            yield StepTimeline(id="detail-timeline")
            yield StepView(id="detail-step")
            yield OptionList(id="detail-flags")
            yield StepView(id="detail-diff")
        yield Footer()

    def on_resize(self, event: events.Resize) -> None:
        self._set_layout(event.size.width)

    def _set_layout(self, width: int) -> None:
        self.set_class(width >= WIDE, "-wide")
        self.set_class(width < WIDE, "-narrow")

    def on_mount(self) -> None:
        self._set_layout(self.app.size.width)
        self.timeline.border_title = "Timeline"
        self.step_view.border_title = "Step"
        self.diff_view.border_title = "Final diff"
        self.flag_list.border_title = "Flags"
        self.rollout = rollout = self.store.rollout(self.rollout_id)
        if rollout is None:
            header = Text(f"rollout {safe(self.rollout_id)} not found", style="bold red")
            self.query_one("#detail-header", Static).update(header)
            self.step_view.show(Text("(no rollout)", style="dim"))
            return
        task = self.store.task(rollout.task_id)
        self._branchable = rollout.eval_id is None and task is not None and bool(task.repo_path)
        self._positions = {step.index: pos for pos, step in enumerate(rollout.steps)}
        self._marks = flagged_steps(rollout)
        self.query_one("#detail-header", Static).update(header_text(rollout))
        self.flag_list.border_title = f"Flags ({len(rollout.flags)})"
        no_flags = Option(Text("(no flags)", style="dim"), disabled=True)
        self.flag_list.set_options([flag_prompt(flag) for flag in rollout.flags] or [no_flags])
        self.flag_list.highlighted = 0 if rollout.flags else None
        self.diff_view.show(diff_renderable(rollout.final_diff))
        self.timeline.show(rollout)
        if rollout.steps:
            self.show_step(0)
        else:
            self.step_view.show(Text("(no steps)", style="dim"))
        self.timeline.focus()

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
        self.refresh_bindings()

    def go_to(self, position: int) -> None:
        """Move the timeline to `position` and show that step."""
        self.timeline.highlighted = position
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
            return True if self._flagged_positions() else None
        if action == "branch":
            return True if self._branchable and self.selected_step is not None else None
        if action == "parent":
            return True if self.rollout is not None and self.rollout.parent_id else None
        return True

    def _flagged_positions(self) -> list[int]:
        return sorted(self._positions[i] for i in self._marks if i in self._positions)

    def action_step(self, delta: int) -> None:
        if self.rollout is None or not self.rollout.steps:
            return
        current = self.timeline.highlighted
        position = 0 if current is None else current + delta
        self.go_to(max(0, min(len(self.rollout.steps) - 1, position)))

    def action_toggle_fold(self) -> None:
        if not self._foldable:
            return
        self.unfolded = not self.unfolded
        self._render_step(keep_scroll=True)

    def action_next_flagged(self) -> None:
        positions = self._flagged_positions()
        if not positions:
            return
        current = -1 if self.timeline.highlighted is None else self.timeline.highlighted
        self.go_to(next((p for p in positions if p > current), positions[0]))

    def action_branch(self) -> None:
        """Replay up to the selected step, try other actions there, continue each (in a worker)."""
        step = self.selected_step
        if not self._branchable or step is None or self.rollout is None:
            return
        self.app.branch_rollout(self.rollout.id, step.index)  # type: ignore[attr-defined]

    def action_parent(self) -> None:
        if self.rollout is not None and self.rollout.parent_id:
            self.app.push_screen(RolloutDetailScreen(self.store, self.rollout.parent_id))

    def action_task(self) -> None:
        from tui.screens.task_info import TaskScreen

        if self.rollout is not None:
            task_id = self.rollout.task_id
            self.app.push_screen(TaskScreen(task_id, self.store.task(task_id) or self.rollout.task))

    def action_back(self) -> None:
        self.app.pop_screen()
