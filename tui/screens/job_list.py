"""What the Train and Eval screens share: a table of background jobs read once a second while
shown, redrawn only when what it shows changed, the cursor kept on its job, and a cancel that
asks twice.

Jobs are separate processes; these screens only read the database, so they can be closed and
reopened (or the SSH link lost) without touching a job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from textual.screen import Screen
from textual.widgets import DataTable

from core.schema import Job
from storage.store import Store
from tui.screens.polling import PollsWhileShown
from tui.widgets.confirm import CONFIRM_S, PressTwice

J = TypeVar("J", bound=Job)


class JobListScreen(PollsWhileShown, Screen[None], Generic[J]):
    """A screen over one job table. A subclass says how to read its jobs (and what else its
    title shows), what of a job its table shows, how to fill the table, and what to redraw after."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[J] = []
        self._seen: object = None  # what the last refresh read (the jobs and the screen's extra)
        self._cancel = PressTwice()

    @property
    def jobs_table(self) -> DataTable[Any]:
        raise NotImplementedError

    def read_jobs(self) -> tuple[list[J], object]:
        """The jobs, newest first, and whatever else a refresh shows (compared for a change)."""
        raise NotImplementedError

    def job_cells(self, job: J) -> tuple[object, ...]:
        """What the table shows of a job: the table is redrawn only when this changed."""
        raise NotImplementedError

    def fill_jobs(self, rows: list[J]) -> None:
        raise NotImplementedError

    def jobs_read(self, extra: Any) -> None:
        """After a refresh that changed something: the title, the selected job's details."""

    @property
    def selected(self) -> J | None:
        row = self.jobs_table.cursor_row
        return self._rows[row] if self._rows and 0 <= row < len(self._rows) else None

    def refresh_jobs(self, select: str | None = None) -> None:
        """Read the jobs again; the cursor stays on its job (one started elsewhere appears above
        it), or goes to `select` (the job this screen just started)."""
        from tui.launch import reap

        reap()
        rows, extra = self.read_jobs()
        if select is None and (rows, extra) == self._seen:
            return  # nothing changed: an idle screen redraws nothing
        self._seen = (rows, extra)
        ids = [r.id for r in rows]
        current = self.selected
        selected = select if select in ids else (current.id if current else None)
        if [self.job_cells(r) for r in rows] != [self.job_cells(r) for r in self._rows]:
            self.fill_jobs(rows)
            if rows:
                self.jobs_table.move_cursor(row=ids.index(selected) if selected in ids else 0)
        elif select in ids:
            self.jobs_table.move_cursor(row=ids.index(select))
        self._rows = rows
        self.jobs_read(extra)
        self.refresh_bindings()

    def cancel_selected(self, noun: str, cancel: Callable[[Store, str], str], store: Store) -> None:
        """Cancel the selected job on a second press within CONFIRM_S; a job that ended in
        between is said so, and nothing changes."""
        job = self.selected
        if job is None:
            return
        if not self._cancel.confirmed(job.id):
            self.notify(
                f"press c again within {CONFIRM_S:.0f} s to cancel {noun} {job.id}", severity="warning"
            )
            return
        try:
            self.notify(cancel(store, job.id))
        except Exception as exc:  # it ended in between: say so, change nothing
            self.notify(str(exc), severity="warning")
