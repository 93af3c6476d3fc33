"""`i`: the task a pair or rollout was asked to do, in full, over the screen that asked.

A labeller judging "did it do the job" needs the job: the instruction, the files it may edit,
the budgets and the test command. An imported rollout's task may be only its id.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from core.schema import Task
from core.text import visible


def task_text(task_id: str, task: Task | None) -> Text:
    text = Text()
    text.append("Task ", style="bold")
    text.append(visible(task_id), style="bold cyan")
    if task is None or not task.instruction:
        text.append("\n\n(no instruction: the rollouts came with a task id only)", style="dim")
    else:
        text.append("\n\n" + visible(task.instruction.strip()))
    if task is not None:
        facts = [
            ("may edit", ", ".join(task.allowed_globs) or "any file"),
            (
                "diff budget",
                "the config's default" if task.diff_budget is None else f"{task.diff_budget} lines",
            ),
            ("step limit", "the config's default" if task.step_limit is None else str(task.step_limit)),
            ("tests", task.test_command or "?"),
            ("split", task.split),
            ("runnable here", "yes" if task.repo_path else "no (a description from an import)"),
        ]
        text.append("\n")
        for name, value in facts:
            text.append(f"\n{name:<14}", style="dim")
            text.append(visible(value))
    return text


class TaskScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,i", "app.pop_screen", "Close")]

    def __init__(self, task_id: str, task: Task | None) -> None:
        super().__init__()
        self.task_id, self.described = task_id, task  # `task` is a MessagePump attribute

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(task_text(self.task_id, self.described))
            yield Static("\nescape closes this.", classes="dim")
