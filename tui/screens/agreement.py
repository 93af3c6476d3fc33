"""`a`: how far the annotators agree, which checks they overrule, and the pairs to adjudicate.

Three tables: Cohen's kappa per pair of annotators (Krippendorff's alpha over everyone above
it), the checks least trusted first, and a queue of pairs. The queue holds the conflicts (pairs
whose annotators disagree and that nobody adjudicated); `d` on a check fills it with the pairs
where people chose the side that check rejects instead, `c` brings the conflicts back. `enter`
on a pair opens the queue from there in the labelling screen, where the usual keys decide and
each decision is recorded as adjudicated; escape comes back here, and the report is read again.

The report (a bootstrap over every shared pair: most of a second at thousands of decisions) is
computed in a worker on its own connection, never on the UI thread. Every string from data
(annotators, checks, task ids) reaches a cell through `plain`.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from core.agreement.report import AgreementReport, shown, shown_interval
from core.text import visible
from storage.agreement import agreement_report
from storage.labelling import AdjudicationSession, LabelSession
from storage.store import Store
from storage.workspace import Workspace
from tui.screens.label import LabelScreen
from tui.screens.worker_errors import ReportsWorkerErrors
from tui.widgets.keys_footer import KeysFooter
from tui.widgets.plain import plain


class AdjudicateScreen(LabelScreen):
    """The labelling screen over an `AdjudicationSession`: escape comes back to the agreement
    screen (a clear search first)."""

    def action_back(self) -> None:
        if any(self.pane(side).search_text for side in ("left", "right")):
            self.search("")
            return
        self.app.pop_screen()


class AgreementScreen(ReportsWorkerErrors, Screen[None]):
    CSS_PATH = "agreement.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "adjudicate", "Adjudicate"),
        Binding("d", "disagreements", "Pairs overruling the check"),
        Binding("c", "conflicts", "Conflicts"),
        Binding("g", "reload", "Refresh"),
        Binding("escape", "back", "Back", show=False),
    ]

    class Loaded(Message):
        def __init__(self, report: AgreementReport) -> None:
            super().__init__()
            self.report = report

    def __init__(self, workspace: Workspace, session: LabelSession) -> None:
        super().__init__()
        self.workspace, self.session = workspace, session
        self.report: AgreementReport | None = None
        self.check: str | None = None  # the queue shows the pairs overruling this check; None: conflicts
        self.queue: list[int] = []  # pair ids, as the queue table lists them

    def compose(self) -> ComposeResult:
        yield Static(id="agreement-title")
        yield DataTable(id="pairwise-table", cursor_type="none", zebra_stripes=True)
        yield DataTable(id="checks-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="queue-title")
        yield DataTable(id="queue-table", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    def table(self, name: str) -> DataTable[Text]:
        return self.query_one(f"#{name}-table", DataTable)

    def on_mount(self) -> None:
        # Intervals at the report's confidence (said in the title); "against": decisions that took
        # the side the check rejects.
        self.table("pairwise").add_columns("annotators", "shared", "agreed", "kappa", "interval")
        self.table("checks").add_columns(
            "check", "decided", "agreed", "precision", "interval", "ties", "against"
        )
        self.table("queue").add_columns("pair", "task", "decisions")
        self._title(Text("computing agreement…", style="italic"))
        self.table("queue").focus()

    def on_screen_resume(self) -> None:
        """Shown first, or back from adjudicating (the queue and the counts moved): computed once
        per showing. (Loading on mount too raced this: when the first report arrived before the
        screen's first resume, it was computed and drawn twice.)"""
        self.load()

    # -- the report, off the UI thread ----------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="agreement", description="agreement")
    def load(self) -> None:
        with Store(self.workspace.db_path) as store:
            report = agreement_report(store)
        if not get_current_worker().is_cancelled:  # a newer load replaced this one: it draws
            self.post_message(self.Loaded(report))

    def on_agreement_screen_loaded(self, message: Loaded) -> None:
        self.report = message.report
        self._draw()

    def _title(self, text: Text) -> None:
        self.query_one("#agreement-title", Static).update(text)

    def _draw(self) -> None:
        report = self.report
        if report is None:
            return
        level = f"{report.confidence:.0%}"
        title = Text()
        title.append(visible(self.session.annotator), style="bold magenta")
        title.append(" · decisions: ", style="dim")
        title.append(
            visible(", ".join(f"{name or '(unnamed)'} {n}" for name, n in report.annotators.items()))
            or "none yet"
        )
        overall = report.overall
        title.append(
            f"\nKrippendorff's alpha {shown(overall.alpha)} {shown_interval(overall.interval)}"
            f" over {overall.items} pairs decided by 2+ annotators ({level} intervals)",
            style="bold",
        )
        self._title(title)
        pairwise = self.table("pairwise")
        pairwise.clear()
        for pair in report.pairwise:
            pairwise.add_row(
                plain(" / ".join(pair.annotators)),
                Text(str(pair.shared)),
                Text(str(pair.agreed)),
                Text(shown(pair.kappa), style="bold"),
                Text(shown_interval(pair.interval)),
            )
        if not report.pairwise:
            pairwise.add_row(Text("no pair decided by two annotators yet ([label] overlap = 2)", style="dim"))
        checks = self.table("checks")
        at = checks.cursor_row
        checks.clear()
        for trust in report.checks:
            checks.add_row(
                plain(trust.check),
                Text(str(trust.decided)),
                Text(str(trust.agreed)),
                Text(shown(trust.precision), style="bold"),
                Text(shown_interval(trust.interval)),
                Text(str(trust.ties)),
                Text(str(len(trust.disagreements))),
                key=trust.check,
            )
        if report.checks:
            checks.move_cursor(row=min(at, len(report.checks) - 1))
        if self.check is not None and self.check not in {t.check for t in report.checks}:
            self.check = None
        self._draw_queue()

    def _draw_queue(self) -> None:
        report = self.report
        if report is None:
            return
        queue = self.table("queue")
        at = queue.cursor_row
        queue.clear()
        enter = "enter adjudicates from the pair under the cursor"
        if self.check is None:
            self.queue = [c.pair_id for c in report.conflicts]
            for conflict in report.conflicts:
                votes = ", ".join(f"{name or '(unnamed)'}: {vote}" for name, vote in conflict.votes.items())
                queue.add_row(Text(f"#{conflict.pair_id}"), plain(conflict.task_id), plain(votes))
            head = f"{len(self.queue)} conflicting pairs, nobody adjudicated yet"
            hint = enter if self.queue else "nothing to adjudicate"
        else:
            trust = next(t for t in report.checks if t.check == self.check)
            by_pair: dict[int, list[str]] = {}
            task_of: dict[int, str] = {}
            for against in trust.disagreements:
                by_pair.setdefault(against.pair_id, []).append(against.annotator or "(unnamed)")
                task_of[against.pair_id] = against.task_id
            self.queue = sorted(by_pair)
            for pair_id in self.queue:
                who = ", ".join(by_pair[pair_id])
                queue.add_row(Text(f"#{pair_id}"), plain(task_of[pair_id]), plain(f"overruled by {who}"))
            head = f"{len(self.queue)} pairs where people chose the side {self.check} rejects"
            hint = f"{enter}; c: the conflicts"
        line = Text(visible(head), style="bold")
        line.append(f"  ({hint})", style="dim")
        self.query_one("#queue-title", Static).update(line)
        if self.queue:
            queue.move_cursor(row=min(at, len(self.queue) - 1))

    # -- actions ---------------------------------------------------------------------------
    def action_disagreements(self) -> None:
        """The queue: the pairs where people overruled the check under the cursor."""
        if self.report is None or not self.report.checks:
            return
        checks = self.table("checks")
        self.check = self.report.checks[min(checks.cursor_row, len(self.report.checks) - 1)].check
        self.table("queue").move_cursor(row=0)
        self._draw_queue()
        self.table("queue").focus()

    def action_conflicts(self) -> None:
        self.check = None
        self.table("queue").move_cursor(row=0)
        self._draw_queue()
        self.table("queue").focus()

    def action_reload(self) -> None:
        self._title(Text("computing agreement…", style="italic"))
        self.load()

    def action_adjudicate(self) -> None:
        """The queue from the pair under its cursor, in the labelling screen; every decision there
        is recorded as adjudicated."""
        if not self.queue:
            self.notify("no pair to adjudicate in this queue")
            return
        start = min(max(self.table("queue").cursor_row, 0), len(self.queue) - 1)
        session = AdjudicationSession(
            self.session.store,
            labeler=self.session.labeler,
            writer=self.session.writer,
            blind=self.session.blind,
            annotator=self.session.annotator,
            queue=[*self.queue[start:], *self.queue[:start]],
        )
        self.app.push_screen(AdjudicateScreen(session))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """enter: on a check, its pairs in the queue; on a pair, adjudicate."""
        if event.data_table.id == "checks-table":
            self.action_disagreements()
        elif event.data_table.id == "queue-table":
            self.action_adjudicate()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.action_rollouts()  # type: ignore[attr-defined]
