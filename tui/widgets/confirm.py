"""Destructive keys ask first: the first press arms, a second on the same thing within a few
seconds does it. A stray `c` at two in the morning must not stop a twelve-hour run."""

from __future__ import annotations

import time

CONFIRM_S = 3.0


class PressTwice:
    def __init__(self) -> None:
        self._armed: tuple[str, float] | None = None  # (what, when the key was first pressed)

    def confirmed(self, target: str) -> bool:
        """True on the second press for `target` within CONFIRM_S; else arm and return False."""
        now, armed = time.monotonic(), self._armed
        if armed is not None and armed[0] == target and now - armed[1] <= CONFIRM_S:
            self._armed = None
            return True
        self._armed = (target, now)
        return False
