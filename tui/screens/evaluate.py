"""Evaluations: failure-mode rates of base vs tuned, a bar chart, and a drill-down to rollouts.

The table says plainly what changed: a verdict per mode (better / worse / unchanged at the
eval's significance level) and the warnings the comparison raises, such as a tuned model that
stopped running tests or finishes early to dodge flags.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import ContentSwitcher, DataTable, Static
from textual_plotext import PlotextPlot

from core.evaluate.result import EvalResult
from core.schema import EvalRun, TrainRun
from core.text import visible
from storage import evals, runs
from storage.jobs import FINISHED, QUEUED, RUNNING
from storage.store import Store
from storage.workspace import Workspace
from tui.screens.job_list import JobListScreen
from tui.widgets.keys_footer import KeysFooter
from tui.widgets.modes_table import PASS_ROWS, fill_modes
from tui.widgets.plain import markup_safe, plain


class EvalScreen(JobListScreen[EvalRun]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "start_eval", "Evaluate latest run"),
        Binding("b", "toggle_chart", "Bars/table"),
        Binding("space", "mark", "Mark to compare"),
        Binding("d", "compare", "Compare with mark"),
        Binding("c", "cancel_eval", "Cancel eval"),
        Binding("escape", "app.pop_screen", "Back", show=False),
    ]

    def __init__(self, workspace: Workspace, store: Store) -> None:
        super().__init__()
        self.workspace, self.store = workspace, store
        self._mode_keys: list[str] = []
        self._shown: tuple[object, ...] = ()
        self.marked: str | None = None
        self.latest_run: TrainRun | None = None  # the run `e` evaluates, read once a refresh

    def compose(self) -> ComposeResult:
        yield Static(id="eval-title")
        yield DataTable(id="evals-table", cursor_type="row")
        yield Static(id="eval-summary")
        with ContentSwitcher(initial="modes-table", id="eval-body"):
            yield DataTable(id="modes-table", cursor_type="row", zebra_stripes=True)
            yield PlotextPlot(id="modes-chart")
        yield KeysFooter()

    @property
    def evals_table(self) -> DataTable[Any]:
        return self.query_one("#evals-table", DataTable)

    @property
    def jobs_table(self) -> DataTable[Any]:
        return self.evals_table

    @property
    def modes_table(self) -> DataTable[Any]:
        return self.query_one("#modes-table", DataTable)

    def on_mount(self) -> None:
        self.evals_table.add_columns("eval", "run", "status", "rollouts", "started")
        self.refresh_evals()
        self.poll_while_shown(1.0, self.refresh_evals)
        self.modes_table.focus()

    def refresh_evals(self) -> None:
        """Read the evaluations again (see JobListScreen.refresh_jobs)."""
        self.refresh_jobs()

    def read_jobs(self) -> tuple[list[EvalRun], object]:
        return evals.list_evals(self.store), (runs.latest_finished(self.store), self.marked)

    def job_cells(self, job: EvalRun) -> tuple[object, ...]:
        return (job.id, job.shown_status, job.done, job.id == self.marked)

    def fill_jobs(self, rows: list[EvalRun]) -> None:
        self.evals_table.clear()
        for r in rows:
            self.evals_table.add_row(
                plain(("● " if r.id == self.marked else "") + r.id),
                plain(r.run_id or ""),
                plain(r.shown_status),
                f"{r.done}/{r.total}" if r.total else "",
                (r.created_at or "")[:16].replace("T", " "),
            )

    def jobs_read(self, extra: Any) -> None:
        finished, _ = extra
        self.latest_run = finished
        hint = f"e: evaluate {markup_safe(finished.id)}" if finished else "train a run first (t)"
        self.query_one("#eval-title", Static).update(
            f"[b]Evaluations[/b] · {len(self._rows)} · {hint} · enter on a mode: its rollouts"
        )
        self._show_selected()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "evals-table":
            self._show_selected()
            self.refresh_bindings()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "evals-table":  # enter on an evaluation: into its modes
            self.modes_table.focus()
        elif self.selected and self._mode_keys:
            from tui.screens.eval_drill import EvalDrillScreen

            mode = self._mode_keys[event.cursor_row]
            if mode not in PASS_ROWS:
                self.app.push_screen(EvalDrillScreen(self.store, self.selected.id, mode))

    def _show_selected(self) -> None:
        row = self.selected
        summary = self.query_one("#eval-summary", Static)
        key = (row.id, row.shown_status, row.done) if row else ()
        if key == self._shown:
            return
        self._shown = key
        if row is None:
            summary.update(
                "No evaluations yet. After a run finishes, press e to evaluate it on held-out tasks."
            )
            self.modes_table.clear(columns=True)
            return
        if row.status == FINISHED:
            row = evals.get_eval(self.store, row.id) or row  # with its result
        if row.status != FINISHED or row.result is None:
            stage = markup_safe(row.stage or "waiting")
            detail = f"{stage} {row.done}/{row.total}" if row.total else ""
            error = f"\n[red]{markup_safe(row.error.strip().splitlines()[-1])}[/]" if row.error else ""
            summary.update(f"[b]{markup_safe(row.id)}[/b] {markup_safe(row.shown_status)} {detail}{error}")
            self.modes_table.clear(columns=True)
            self._mode_keys = []
            return
        result = row.result
        pass_rate, steps = result.pass_rate, result.means.steps
        text = Text.from_markup(
            f"[b]{markup_safe(row.id)}[/b] base vs base + {markup_safe(str(result.run_id))} · "
            f"{len(result.tasks)} tasks × "
            f"{result.n_per_task} · tests pass {pass_rate.before:.0%} → {pass_rate.after:.0%} · "
            f"steps {steps.before or 0:.1f} → {steps.after or 0:.1f}"
        )
        text.no_wrap, text.overflow = True, "ellipsis"
        for warning in result.warnings[:3]:  # the worst first; all of them in `eval` and --markdown
            text.append("\n• " + visible(warning), style="yellow")
        summary.update(text)
        self._mode_keys = fill_modes(self.modes_table, result)
        self._draw_chart(result)

    def _draw_chart(self, result: EvalResult) -> None:
        plot = self.query_one("#modes-chart", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        names = [name for name, entry in result.modes.items() if entry.before or entry.after]
        if names:
            before = [result.modes[n].before * 100 for n in names]
            after = [result.modes[n].after * 100 for n in names]
            plt.multiple_bar(names, [before, after], labels=["before", "after"], orientation="horizontal")  # type: ignore[call-arg]
        plt.title("rollouts with each failure mode (%)")
        plot.refresh()

    def action_toggle_chart(self) -> None:
        """The chart takes the whole screen: thirteen pairs of bars need the rows."""
        switcher = self.query_one("#eval-body", ContentSwitcher)
        switcher.current = "modes-chart" if switcher.current == "modes-table" else "modes-table"
        self.set_class(switcher.current == "modes-chart", "-charting")
        if switcher.current == "modes-table":
            self.modes_table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        row = self.selected
        if action == "start_eval":
            return self.latest_run is not None or None
        if action == "cancel_eval":
            return (row is not None and row.shown_status in (RUNNING, QUEUED)) or None
        if action == "mark":
            return (row is not None and row.status == FINISHED) or None
        if action == "compare":
            return (row is not None and row.status == FINISHED and self.marked not in (None, row.id)) or None
        return True

    def action_start_eval(self) -> None:
        from tui.launch import launch_eval

        finished = self.latest_run
        if finished is not None:
            eval_id = launch_eval(self.workspace, finished.id)
            self.notify(f"evaluation {eval_id} of {finished.id} started in the background")
            self.refresh_evals()

    def action_cancel_eval(self) -> None:
        self.cancel_selected("evaluation", evals.cancel_eval, self.store)

    def action_mark(self) -> None:
        row = self.selected
        if row is not None:
            self.marked = None if self.marked == row.id else row.id
            self.refresh_evals()

    def action_compare(self) -> None:
        row = self.selected
        if row is None or self.marked is None:
            return
        from tui.screens.eval_compare import EvalCompareScreen

        self.app.push_screen(EvalCompareScreen(evals.compare_evals(self.store, self.marked, row.id)))
