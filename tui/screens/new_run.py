"""The form that starts a training run: the main settings, and the pairs it will train on."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from core.config import Config, ConfigError, apply_overrides
from storage.store import Store
from storage.workspace import Workspace
from tui.screens.worker_errors import ReportsWorkerErrors
from tui.widgets.plain import markup_safe

FIELDS = ("epochs", "learning_rate", "beta", "max_steps", "lora_r", "batch_size")


class NewRunScreen(ReportsWorkerErrors, ModalScreen[list[str] | None]):
    """Returns the `--set` overrides to start with, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_form", "Cancel"),
        Binding("ctrl+s", "start", "Start"),
    ]

    def __init__(self, workspace: Workspace, config: Config) -> None:
        super().__init__()
        self.workspace, self.config = workspace, config

    def compose(self) -> ComposeResult:
        settings = self.config.train
        with Vertical(id="new-run-box"):
            yield Static("[b]New training run[/b]  (defaults from agentpref.toml \\[train])")
            with Grid(id="new-run-grid"):
                for name in FIELDS:
                    yield Label(name)
                    yield Input(str(getattr(settings, name)), id=f"field-{name}", compact=True)
                yield Label("granularity")
                yield Select(
                    [("step", "step"), ("trajectory", "trajectory")],
                    value=settings.granularity,
                    allow_blank=False,
                    id="field-granularity",
                    compact=True,
                )
            yield Checkbox(
                "human-confirmed pairs only", settings.human_only, id="field-human_only", compact=True
            )
            yield Static("counting pairs…", id="new-run-counts")
            yield Static("", id="new-run-error")
            with Horizontal(id="new-run-buttons"):
                yield Button("Start (ctrl+s)", variant="primary", id="start", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.count_pairs(self._overrides(validate=False))

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.count_pairs(self._overrides(validate=False))

    def on_select_changed(self, event: Select.Changed) -> None:
        self.count_pairs(self._overrides(validate=False))

    @work(thread=True, exclusive=True, exit_on_error=False, group="count", description="counting pairs")
    def count_pairs(self, overrides: list[str]) -> None:
        """Off the UI thread: exporting every decided pair reads each rollout."""
        from core.chat import Rendering
        from storage.training import dataset_split

        try:
            settings = apply_overrides(self.config, overrides).train
        except ConfigError as exc:
            self.app.call_from_thread(self._counts, f"[red]{markup_safe(exc)}[/]")
            return
        with Store(self.workspace.db_path) as store:
            split, skipped = dataset_split(store, settings, Rendering.of(self.config.policy))
        counts = split.counts()
        text = (
            f"will train on {counts['train_pairs']} pairs from {counts['train_tasks']} tasks, "
            f"validate on {counts['validation_pairs']} from {counts['validation_tasks']} "
            f"({counts['human']} human, {counts['auto']} auto"
            + (f"; {len(skipped)} not exportable" if skipped else "")
            + ")"
        )
        if not split.train:
            text = "[red]no pairs to train on: label some first (or `agentpref-tui label --auto`)[/]"
        self.app.call_from_thread(self._counts, text)

    def _counts(self, text: str) -> None:
        self.query_one("#new-run-counts", Static).update(text)

    def _overrides(self, validate: bool = True) -> list[str]:
        out = []
        for name in FIELDS:
            value = self.query_one(f"#field-{name}", Input).value.strip()
            if not value and validate:
                raise ConfigError(
                    f"{name} is empty: give a value "
                    f"(the [train] default is {getattr(self.config.train, name)})"
                )
            if value and value != str(getattr(self.config.train, name)):
                out.append(f"{name}={value}")
        granularity = self.query_one("#field-granularity", Select).value
        if granularity != self.config.train.granularity:
            out.append(f'granularity="{granularity}"')
        if self.query_one("#field-human_only", Checkbox).value != self.config.train.human_only:
            out.append(
                f"human_only={'true' if self.query_one('#field-human_only', Checkbox).value else 'false'}"
            )
        if validate:
            apply_overrides(self.config, out)  # raises ConfigError with the key and the problem
        return out

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()
        else:
            self.dismiss(None)

    def action_start(self) -> None:
        try:
            overrides = self._overrides()
        except ConfigError as exc:
            self.query_one("#new-run-error", Static).update(f"[red]{markup_safe(exc)}[/]")
            return
        self.dismiss(overrides)

    def action_dismiss_form(self) -> None:
        self.dismiss(None)
