"""Worker failures, shown once, from whichever screen started the worker.

Textual posts `Worker.StateChanged` to the node that owns the worker and does not bubble it,
so a failure in a screen's worker would reach no one. Screens that start workers take this
mixin; the app's own handler covers the app's workers.
"""

from __future__ import annotations

from textual.worker import Worker, WorkerState


def report_failure(event: Worker.StateChanged, notify_app: object) -> None:
    """Notify through the app when `event` says a worker failed."""
    if event.state is WorkerState.ERROR:
        notify = getattr(notify_app, "notify")  # noqa: B009 - the app or a screen
        notify(f"{event.worker.description} failed: {event.worker.error}", severity="error", timeout=10)


class ReportsWorkerErrors:
    """Mixed into a Screen: its workers' failures are shown, not dropped."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_failure(event, self.app)  # type: ignore[attr-defined]
