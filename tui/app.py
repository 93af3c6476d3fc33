"""The Textual app. Built through `make_app` so tests hand it a temporary workspace.

It opens on labelling when proposals are pending, on the rollout list otherwise, and on a
getting-started page for an empty workspace. The database is opened once, in the UI thread;
every decision is committed there, at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import ActiveBinding, Binding, BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker

from core.text import strip_ansi, visible
from storage.decision_writer import DecisionWriter, Outcome
from storage.labelling import LabelSession, annotator_name
from storage.store import Store
from storage.workspace import Workspace
from tui.idle_gc import IDLE_S, IdleCollector
from tui.keys import keymap
from tui.screens.label import LabelScreen  # the screen the app mostly opens on: loaded with it
from tui.screens.worker_errors import report_failure

STORE_ON_EXIT_S = 300.0  # on quit, how long to keep retrying decisions another process holds up
PROBE_AFTER_S = 0.5  # the sandbox is probed once the first screen is up


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
        Binding("a", "agreement", "Agreement"),
    ]

    def __init__(self, workspace: Workspace, labeler: str = "human", annotator: str | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.store = Store(workspace.db_path)
        self.collector = IdleCollector()
        self.sandbox: str | None = None  # how test runs are confined here, once probed
        # Decisions are written off the event loop: a held write lock never stalls a key.
        self.decisions = DecisionWriter(workspace.db_path, self._post_decided)
        config = workspace.config()
        # One annotator's session (`--annotator`, else $AGENTPREF_ANNOTATOR, else the login):
        # their queue, undo and progress; another process may label the same file as someone else.
        self.session = LabelSession(
            self.store,
            labeler=labeler,
            writer=self.decisions,
            blind=config.label.blind,
            annotator=annotator_name(annotator),
            overlap=config.label.overlap,
            overlap_fraction=config.label.overlap_fraction,
        )
        self.set_keymap(keymap(config))

    def on_mount(self) -> None:
        self.collector.hold()
        if not self.store.scalar("SELECT count(*) FROM rollouts"):
            from tui.screens.empty import EmptyScreen

            self.push_screen(EmptyScreen(str(self.workspace.root)))
        elif self.session.next_pending() is not None:
            self.action_label()
        else:
            self.action_rollouts()
        # After the first screen: the probe imports the sandbox code and runs a process, about a
        # tenth of the first screen's CPU, taken from the first paint when run beside it.
        self.set_timer(PROBE_AFTER_S, self.warn_if_unconfined, name="sandbox probe")
        self.call_after_refresh(self._start_collecting)

    def _start_collecting(self) -> None:
        """What start-up built (modules, styles, the first screen) lives as long as the app: out
        of the collector's sight; the rest is collected between keys (`tui.idle_gc`)."""
        self.collector.start()
        self.set_interval(IDLE_S, self.collector.collect_if_idle, name="idle gc")

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.collector.saw_input()
        await super().on_event(event)

    @work(thread=True, exit_on_error=False, group="sandbox", description="probing the sandbox")
    def warn_if_unconfined(self) -> None:
        """A banner that stays until dismissed when test runs would be confined by rlimits only
        (the probe runs a process: off the event loop)."""
        from core.agent.confinement import HOW_TO_CONFINE, RLIMITS, UNCONFINED, isolation

        self.sandbox = isolation()
        if self.sandbox == RLIMITS:
            message = f"{UNCONFINED}. For a sandbox, {HOW_TO_CONFINE}."
            self.call_from_thread(self.notify, message, title="unconfined", severity="warning", timeout=86400)

    def on_unmount(self) -> None:
        self.collector.stop()
        self.decisions.close(timeout_s=STORE_ON_EXIT_S)  # what was decided reaches the database
        self.store.close()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification is plain text made `visible`: messages carry ids, paths and error
        texts from data, which must neither drive the terminal nor be read as markup."""
        super().notify(
            visible(message), title=visible(title), severity=severity, timeout=timeout, markup=False
        )

    def action_rollouts(self) -> None:
        from tui.screens.rollouts import RolloutsScreen

        self._switch(RolloutsScreen, lambda: RolloutsScreen(self.store))

    def action_label(self) -> None:
        self._switch(LabelScreen, lambda: LabelScreen(self.session))

    def action_train(self) -> None:
        from tui.screens.train import TrainScreen

        self._switch(TrainScreen, lambda: TrainScreen(self.workspace, self.store))

    def action_evaluate(self) -> None:
        from tui.screens.evaluate import EvalScreen

        self._switch(EvalScreen, lambda: EvalScreen(self.workspace, self.store))

    def action_agreement(self) -> None:
        from tui.screens.agreement import AgreementScreen

        self._switch(AgreementScreen, lambda: AgreementScreen(self.workspace, self.session))

    def _switch(self, kind: type[Screen[None]], make: Callable[[], Screen[None]]) -> None:
        """Go to the screen of that kind already in the stack, else push a new one (of that
        kind exactly: adjudication is a labelling screen, but `l` means the queue)."""
        for index, screen in enumerate(self.screen_stack):
            if type(screen) is kind:
                while len(self.screen_stack) > index + 1:
                    self.pop_screen()
                return
        self.push_screen(make())

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        # The screen's own keys first, then the app's, then the rest (focus, copy, scrolling).
        own = {b.action for b in type(self.screen).BINDINGS if isinstance(b, Binding)}

        def rank(active: ActiveBinding) -> int:
            if active.node is self.screen and active.binding.action in own:
                return 0
            return 1 if active.node is self else 2

        ordered = sorted(self.active_bindings.values(), key=rank)
        keys = [
            (self.get_key_display(active.binding), active.binding.description)
            for active in ordered
            if active.binding.description
        ]
        self.push_screen(HelpScreen(type(self.screen).__name__.removesuffix("Screen"), keys))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Label pairs", "Decide the proposed pairs", self.action_label)
        yield SystemCommand("Rollouts", "Browse every rollout", self.action_rollouts)
        yield SystemCommand("Help", "Every key of this screen", self.action_help)
        yield SystemCommand("Training runs", "Start, follow, cancel and resume DPO runs", self.action_train)
        yield SystemCommand("Evaluations", "Failure-mode rates before and after a run", self.action_evaluate)
        yield SystemCommand(
            "Agreement", "How far annotators agree; conflicts to adjudicate", self.action_agreement
        )
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
                    "toggle_blind",
                    "copy_id",
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
        from tui.rollout_jobs import run_branch_job

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
            self.notify(strip_ansi("; ".join(message.refused)), severity="error", timeout=10)
            return
        if not message.stored:
            self.notify(f"step {message.step + 1} was branched before: its branches are stored already")
            return
        self.notify(f"{message.stored} new branches of step {message.step + 1}: press m to mine their pairs")

    class Decided(Message):
        """The writer committed a decision or undo, or gave it up (posted from its thread)."""

        def __init__(self, outcome: Outcome) -> None:
            super().__init__()
            self.outcome = outcome

    def _post_decided(self, outcome: Outcome) -> None:
        self.post_message(self.Decided(outcome))  # thread-safe: the writer's thread calls this

    def on_agent_pref_app_decided(self, message: Decided) -> None:
        outcome = message.outcome
        if not outcome.stored:
            self.notify(
                f"the decision on pair #{outcome.pair_id} was not stored: {outcome.error}",
                severity="error",
                timeout=10,
            )
        for screen in self.screen_stack:  # also under a detail, a note or the help opened from it
            if isinstance(screen, LabelScreen):
                screen.decision_settled(outcome)

    class Mined(Message):
        def __init__(self, proposals: int, added: int) -> None:
            super().__init__()
            self.proposals, self.added = proposals, added

    def on_agent_pref_app_mined(self, message: Mined) -> None:
        self.notify(f"{message.proposals} proposals mined, {message.added} new")
        if isinstance(self.screen, LabelScreen) and self.screen.current is None:
            self.screen.next_pair()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The app's own workers; screens report theirs (see tui.screens.worker_errors)."""
        report_failure(event, self)

    def action_pop_or_rollouts(self) -> None:
        self.action_rollouts()


def make_app(workspace: Path, labeler: str = "human", annotator: str | None = None) -> AgentPrefApp:
    return AgentPrefApp(Workspace.open(workspace), labeler=labeler, annotator=annotator)


def run_app(workspace: Path, annotator: str | None = None) -> int:
    """Exit status 1 when the app died of an error (Textual has printed the traceback)."""
    app = make_app(workspace, annotator=annotator)
    app.run()
    return app.return_code or 0
