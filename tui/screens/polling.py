"""Screens that poll the database do so only while shown.

Every screen a person visits stays in the stack; a timer left running under another screen
would keep reading the database every tick for as long as the app runs.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.timer import Timer


class PollsWhileShown:
    """Mixed into a Screen: `poll_while_shown` starts a timer that pauses out of sight and,
    back in sight, polls at once and resumes."""

    _poll: Timer | None = None
    _poll_callback: Callable[[], object] | None = None

    def poll_while_shown(self, every_s: float, callback: Callable[[], object]) -> None:
        self._poll_callback = callback
        self._poll = self.set_interval(every_s, callback)  # type: ignore[attr-defined]

    def on_screen_suspend(self) -> None:
        if self._poll is not None:
            self._poll.pause()

    def on_screen_resume(self) -> None:
        if self._poll is not None and self._poll_callback is not None:  # not before on_mount
            self._poll_callback()
            self._poll.resume()
