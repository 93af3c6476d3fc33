"""Training runs: start one, follow it live (curves and log), cancel, resume, read its summary.

Runs are separate processes; this screen only reads the database and the run's log file,
once a second, so it can be closed and reopened (or the SSH link lost) without touching the
run. A run whose process stopped beating is shown as lost. On a short terminal (`-short`, below
SHORT_BELOW rows) the curves take the room the log would have, and `o` swaps the two.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, RichLog, Static

from core.schema import TrainRun
from core.text import visible
from storage import runs
from storage.jobs import CANCELLED, FAILED, FINISHED, LOST, QUEUED, RUNNING
from storage.store import Store
from storage.workspace import Workspace
from tui.screens.job_list import JobListScreen
from tui.screens.worker_errors import ReportsWorkerErrors
from tui.widgets.curves import Curves
from tui.widgets.keys_footer import KeysFooter
from tui.widgets.plain import markup_safe, plain

LOG_TAIL_BYTES = 32_000
RESUMABLE = (CANCELLED, LOST, FAILED)
CURVE_METRICS = ("loss", "rewards/accuracies", "rewards/margins")
SHORT_BELOW = 36  # rows: below this the curves and the log share the room by turns (`o`)
RUN_COLUMNS = ("run", "status", "step", "val acc", "started")
# The status column is as wide as its longest word, whatever the runs shown: never `runnin`.
STATUS_WIDTH = max(len(s) for s in (QUEUED, RUNNING, FINISHED, FAILED, CANCELLED, LOST))
RUN_ID_WIDTH = 24  # a longer (named) run id is cut with an ellipsis


def log_tail(path: str | None, lines: int = 200) -> list[str]:
    if not path or not Path(path).exists():
        return []
    with Path(path).open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - LOG_TAIL_BYTES))
        text = handle.read().decode("utf-8", errors="replace")
    return text.splitlines()[-lines:]


def summary_text(row: TrainRun) -> str:
    status = row.shown_status
    colour = {FINISHED: "green", FAILED: "red", LOST: "red", CANCELLED: "yellow", RUNNING: "cyan"}.get(
        status, ""
    )
    run_id, shown = markup_safe(row.id), markup_safe(status)
    parts = [f"[b]{run_id}[/b] [{colour}]{shown}[/]" if colour else f"[b]{run_id}[/b] {shown}"]
    if row.max_steps:
        parts.append(f"step {row.step}/{row.max_steps}")
    if row.stage and status == RUNNING:
        parts.append(markup_safe(row.stage))
    data = row.dataset
    if data:
        parts.append(f"{data.get('train_pairs', 0)} train / {data.get('validation_pairs', 0)} val pairs")
    settings = row.config.train
    if settings:
        parts.append(
            f"lr {settings.get('learning_rate')} β {settings.get('beta')} {settings.get('granularity')}"
        )
    options = row.options
    if options:
        on = [k for k in ("precompute_ref_log_probs", "liger", "bf16") if options.get(k)]
        parts.append(f"{options.get('device')} ({', '.join(on) or 'no speed options'})")
    final = row.final_metrics
    if "eval_rewards/accuracies" in final:
        margin = final.get("eval_rewards/margins", 0.0)
        parts.append(f"val acc {final['eval_rewards/accuracies']:.2f} margin {margin:.3f}")
    line = " · ".join(parts)
    if row.adapter_path and status == FINISHED:
        line += f"\nadapter: {markup_safe(row.adapter_path)}"
    if row.error and status in (FAILED, LOST, QUEUED):
        line += f"\n[red]{markup_safe(row.error.strip().splitlines()[-1])}[/]"
    return line


def run_cells(row: TrainRun) -> tuple[str, ...]:
    """A run's cells in the runs table, in RUN_COLUMNS order."""
    accuracy = row.final_metrics.get("eval_rewards/accuracies")
    return (
        row.id,
        row.shown_status,
        f"{row.step}/{row.max_steps}" if row.max_steps else str(row.step or ""),
        f"{accuracy:.2f}" if accuracy is not None else "",
        (row.created_at or "")[:16].replace("T", " "),
    )


def column_widths(cells: list[tuple[str, ...]]) -> list[int]:
    """Each column as wide as its widest cell (run ids up to RUN_ID_WIDTH), status as wide as
    its longest word: set before the rows are drawn, so no frame shows a cell cut bare."""
    widths = [
        max([len(name), *(cell_len(plain(row[i]).plain) for row in cells)])
        for i, name in enumerate(RUN_COLUMNS)
    ]
    widths[0] = min(widths[0], RUN_ID_WIDTH)
    widths[1] = max(widths[1], STATUS_WIDTH)
    return widths


def fitted(value: str, width: int) -> Text:
    text = plain(value)
    text.truncate(width, overflow="ellipsis")
    return text


class TrainScreen(ReportsWorkerErrors, JobListScreen[TrainRun]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_run", "New run"),
        Binding("c", "cancel_run", "Cancel run"),
        Binding("R", "resume_run", "Resume"),
        Binding("enter", "summary", "Summary"),
        Binding("e", "evaluate_run", "Evaluate"),
        Binding("o", "swap_log", "Log/curves"),
        Binding("escape", "app.pop_screen", "Back", show=False),
    ]

    def __init__(self, workspace: Workspace, store: Store) -> None:
        super().__init__()
        self.workspace, self.store = workspace, store
        self._log_key: tuple[str | None, int] = (None, -1)
        self._curves_key: tuple[object, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static(id="train-title")
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="run-summary")
        with Horizontal(id="curves"):
            yield Curves(["loss"], id="loss-curve")
            yield Curves(["rewards/accuracies", "rewards/margins"], id="reward-curve")
        yield RichLog(id="run-log", max_lines=2000, wrap=True, markup=False, highlight=False)
        yield KeysFooter()

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#runs-table", DataTable)

    @property
    def jobs_table(self) -> DataTable[Any]:
        return self.table

    def on_mount(self) -> None:
        self.refresh_runs()
        self.poll_while_shown(1.0, self.refresh_runs)
        self.table.focus()

    def refresh_runs(self, select: str | None = None) -> None:
        """Read the runs again (see JobListScreen.refresh_jobs)."""
        self.refresh_jobs(select)

    def read_jobs(self) -> tuple[list[TrainRun], object]:
        decided = self.store.scalar("SELECT count(*) FROM preferences WHERE decision = 'prefer'")
        return runs.list_runs(self.store), decided

    def job_cells(self, job: TrainRun) -> tuple[object, ...]:
        """What the table shows of a run: redraw only when it changed (keeps the cursor still)."""
        return (
            job.id,
            job.shown_status,
            job.step,
            job.max_steps,
            job.final_metrics.get("eval_rewards/accuracies"),
        )

    def jobs_read(self, extra: Any) -> None:
        self._update_title(extra)
        self._show_selected()

    def fill_jobs(self, rows: list[TrainRun]) -> None:
        cells = [run_cells(r) for r in rows]
        widths = column_widths(cells)
        self.table.clear(columns=True)
        for name, width in zip(RUN_COLUMNS, widths, strict=True):
            self.table.add_column(name, width=width)
        for row in cells:
            self.table.add_row(*(fitted(value, width) for value, width in zip(row, widths, strict=True)))

    def _update_title(self, decided: int) -> None:
        running = sum(r.shown_status == RUNNING for r in self._rows)
        self.query_one("#train-title", Static).update(
            f"[b]Training runs[/b] · {len(self._rows)} runs, {running} running · "
            f"{decided} pairs decided · n: new run"
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a run (the table takes the key first): its summary when it finished."""
        if self.check_action("summary", ()):
            self.action_summary()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._log_key = (None, -1)
        self._show_selected()
        self.refresh_bindings()

    def _show_selected(self) -> None:
        row = self.selected
        summary = self.query_one("#run-summary", Static)
        if row is None:
            summary.update("No runs yet. Press n to start one on the decided pairs.")
            return
        summary.update(summary_text(row))
        key = (row.id, row.step, row.shown_status)
        if key != self._curves_key:  # a long run has many metrics: read them when they changed
            self._curves_key = key
            train = runs.metric_series(self.store, row.id, "train", CURVE_METRICS)
            validation = runs.metric_series(self.store, row.id, "eval", CURVE_METRICS)
            self.query_one("#loss-curve", Curves).show(row.id, train, validation)
            self.query_one("#reward-curve", Curves).show(row.id, train, validation)
        self._show_log(row)

    def _show_log(self, row: TrainRun) -> None:
        path = str(self.workspace.from_stored(row.log_path)) if row.log_path else None
        size = Path(path).stat().st_size if path and Path(path).exists() else 0
        if (path, size) == self._log_key:
            return
        self._log_key = (path, size)
        log = self.query_one("#run-log", RichLog)
        log.clear()
        lines = log_tail(path)
        if not lines and row.error:
            lines = row.error.splitlines()
        for line in lines or ["(no log yet)"]:
            log.write(visible(line))
        log.scroll_end(animate=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        row = self.selected
        status = row.shown_status if row else None
        if action == "cancel_run":
            return status in (RUNNING, QUEUED) or None
        if action == "resume_run":
            return (status in RESUMABLE and bool(row and row.config.train)) or None
        if action in ("summary", "evaluate_run"):
            return status == FINISHED or None
        if action == "swap_log":
            return self.has_class("-short")  # on a tall screen both are shown: no key
        return True

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.height < SHORT_BELOW, "-short")
        self.refresh_bindings()  # `o` is shown on a short screen only

    def action_swap_log(self) -> None:
        """On a short screen: the log in the curves' place, or back."""
        self.toggle_class("-log")

    def action_new_run(self) -> None:
        from tui.screens.new_run import NewRunScreen

        def start(overrides: list[str] | None) -> None:
            if overrides is not None:
                self.start_run(overrides, None)

        self.app.push_screen(NewRunScreen(self.workspace, self.workspace.config()), start)

    @work(thread=True, exclusive=True, exit_on_error=False, group="launch", description="starting the run")
    def start_run(self, overrides: list[str], resume: str | None) -> None:
        """Check first (a refusal shows here, at once), then start the detached process."""
        from core.config import apply_overrides
        from storage.training import plan_run
        from tui.launch import launch_training

        if resume is None:
            config = apply_overrides(self.workspace.config(), overrides)
            with Store(self.workspace.db_path) as store:
                plan_run(self.workspace, config, store)
        run_id = launch_training(self.workspace, overrides, resume)
        self.app.call_from_thread(self.notify, f"run {run_id} started in the background")
        self.app.call_from_thread(self.refresh_runs, run_id)

    def action_cancel_run(self) -> None:
        self.cancel_selected("run", runs.cancel_run, self.store)

    def action_resume_run(self) -> None:
        row = self.selected
        if row is not None:
            self.start_run([], row.id)

    def action_summary(self) -> None:
        row = self.selected
        if row is None or not row.adapter_path:
            return
        from tui.screens.run_summary import RunSummaryScreen

        card = self.workspace.from_stored(row.adapter_path) / "README.md"
        text = card.read_text(encoding="utf-8") if card.exists() else summary_text(row)
        self.app.push_screen(RunSummaryScreen(row.id, text))

    def action_evaluate_run(self) -> None:
        """Evaluate this run on held-out tasks, detached like a run; follow it on `v`."""
        from tui.launch import launch_eval

        row = self.selected
        if row is not None and row.status == FINISHED:
            eval_id = launch_eval(self.workspace, row.id)
            self.notify(f"evaluation {eval_id} of {row.id} started in the background (v to follow)")
