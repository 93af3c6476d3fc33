"""The Textual app. Built through `make_app` so tests hand it a temporary workspace.

It opens on labelling when proposals are pending, on the rollout list otherwise, and on a
getting-started page for an empty workspace. The database is opened once, in the UI thread;
every decision is committed there, at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from core.text import strip_ansi
from storage.labelling import LabelSession
from storage.store import Store
from storage.workspace import Workspace
from tui.keys import keymap


class AgentPrefApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "agentpref"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("r", "rollouts", "Rollouts"),
        Binding("l", "label", "Label"),
        Binding("m", "mine", "Mine"),
        Binding("t", "train", "Train"),
        Binding("v", "evaluate", "Eval"),
    ]

    def __init__(self, workspace: Workspace, labeler: str = "human") -> None:
        super().__init__()
        self.workspace = workspace
        self.store = Store(workspace.db_path)
        self.session = LabelSession(self.store, labeler=labeler)
        self.set_keymap(keymap(workspace.config()))

    def on_mount(self) -> None:
        if not self.store.scalar("SELECT count(*) FROM rollouts"):
            from tui.screens.empty import EmptyScreen

            self.push_screen(EmptyScreen(str(self.workspace.root)))
        elif self.session.next_pending() is not None:
            self.action_label()
        else:
            self.action_rollouts()

    def on_unmount(self) -> None:
        self.store.close()

    def action_rollouts(self) -> None:
        from tui.screens.rollouts import RolloutsScreen

        self._switch(RolloutsScreen, lambda: RolloutsScreen(self.store))

    def action_label(self) -> None:
        from tui.screens.label import LabelScreen

        self._switch(LabelScreen, lambda: LabelScreen(self.session))

    def action_train(self) -> None:
        from tui.screens.train import TrainScreen

        self._switch(TrainScreen, lambda: TrainScreen(self.workspace, self.store))

    def action_evaluate(self) -> None:
        from tui.screens.evaluate import EvalScreen

        self._switch(EvalScreen, lambda: EvalScreen(self.workspace, self.store))

    def _switch(self, kind: type[Screen[None]], make: Callable[[], Screen[None]]) -> None:
        """Go to the screen of that kind already in the stack, else push a new one."""
        for index, screen in enumerate(self.screen_stack):
            if isinstance(screen, kind):
                while len(self.screen_stack) > index + 1:
                    self.pop_screen()
                return
        self.push_screen(make())

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        keys = []
        for active in self.active_bindings.values():
            if active.binding.description:
                keys.append((self.get_key_display(active.binding), active.binding.description))
        self.push_screen(HelpScreen(type(self.screen).__name__.removesuffix("Screen"), keys))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Label pairs", "Decide the proposed pairs", self.action_label)
        yield SystemCommand("Rollouts", "Browse every rollout", self.action_rollouts)
        yield SystemCommand("Help", "Every key of this screen", self.action_help)
        yield SystemCommand("Training runs", "Start, follow, cancel and resume DPO runs", self.action_train)
        yield SystemCommand("Evaluations", "Failure-mode rates before and after a run", self.action_evaluate)
        yield SystemCommand(
            "Mine pairs", "Re-score with the config's weights and propose pairs", self.action_mine
        )
        for active in self.active_bindings.values():
            binding = active.binding
            if binding.description and binding.action.startswith(
                (
                    "decide",
                    "undo",
                    "note",
                    "filter",
                    "sort",
                    "new_run",
                    "cancel_run",
                    "resume_run",
                    "start_eval",
                )
            ):
                node = active.node

                def run(node=node, action=binding.action) -> None:  # type: ignore[no-untyped-def]
                    self.call_later(self.run_action, action, node)

                yield SystemCommand(binding.description, f"key: {self.get_key_display(binding)}", run)

    @work(thread=True, exclusive=True, exit_on_error=False, group="mine", description="mining pairs")
    def action_mine(self) -> None:
        """Re-score and mine in a worker thread, with its own connection; the UI stays live."""
        from storage.service import mine_proposals

        self.call_from_thread(self.notify, "mining pairs…", timeout=2)
        with Store(self.workspace.db_path) as store:
            result = mine_proposals(store, self.workspace.config())
        self.post_message(self.Mined(result.proposals, result.added))

    @work(thread=True, exit_on_error=False, group="branch", description="branching")
    def branch_rollout(self, rollout_id: str, step: int) -> None:
        """Branch one step in a worker thread (its own connection): replay, try others, continue."""
        from storage.service import branch_points
        from tui.jobs import run_branch_job

        config = self.workspace.config()
        self.call_from_thread(
            self.notify, f"branching at step {step + 1}: trying {config.branch.n} other actions…", timeout=4
        )
        with Store(self.workspace.db_path) as store:
            points = branch_points(store, config, rollout_id=rollout_id, step=step)
        summary = run_branch_job(self.workspace, points)
        self.post_message(self.Branched(step, summary.stored, summary.refused))

    class Branched(Message):
        def __init__(self, step: int, stored: int, refused: list[str]) -> None:
            super().__init__()
            self.step, self.stored, self.refused = step, stored, refused

    def on_agent_pref_app_branched(self, message: Branched) -> None:
        if message.refused:
            self.notify(strip_ansi("; ".join(message.refused)), severity="error", timeout=10, markup=False)
            return
        if not message.stored:
            self.notify(f"step {message.step + 1} was branched before: its branches are stored already")
            return
        self.notify(f"{message.stored} new branches of step {message.step + 1}: press m to mine their pairs")

    class Mined(Message):
        def __init__(self, proposals: int, added: int) -> None:
            super().__init__()
            self.proposals, self.added = proposals, added

    def on_agent_pref_app_mined(self, message: Mined) -> None:
        self.notify(f"{message.proposals} proposals mined, {message.added} new")
        from tui.screens.label import LabelScreen

        if isinstance(self.screen, LabelScreen) and self.screen.current is None:
            self.screen.next_pair()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures are shown."""
        if event.state is WorkerState.ERROR:
            self.notify(
                f"{event.worker.description} failed: {event.worker.error}", severity="error", timeout=10
            )

    def action_pop_or_rollouts(self) -> None:
        self.action_rollouts()


def make_app(workspace: Path, labeler: str = "human") -> AgentPrefApp:
    return AgentPrefApp(Workspace.open(workspace), labeler=labeler)


def run_app(workspace: Path) -> int:
    make_app(workspace).run()
    return 0
