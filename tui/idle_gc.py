"""Python's cycle collector, run while nobody presses a key.

A Textual screen is a graph of widgets, styles and callbacks full of reference cycles; opening
a rollout builds and drops thousands of objects, and with CPython's default thresholds a full
collection — a walk over every object the app keeps, 80-100 ms with a thousand rollouts listed
— landed on about every other "open a rollout". So: what start-up built is frozen (never walked
again), young collections run thirty times less often, and full ones run only once input has
stopped for `IDLE_S` and something happened since the last: between keys, where a person is
reading and nothing waits for the processor. An app left alone does not collect at all.
"""

from __future__ import annotations

import gc
import time

IDLE_S = 1.0
# Young generation every 20,000 net allocations (700 by default); automatic full collections
# effectively never: `collect_if_idle` does them.
THRESHOLDS = (20_000, 50, 1_000_000)


class IdleCollector:
    """`hold` when the app mounts; `start` once the first screen is drawn; `saw_input` on every
    input event; `collect_if_idle` from a timer; `stop` when the app ends (the process may go
    on: tests, an embedding)."""

    def __init__(self) -> None:
        self.last_input = time.monotonic()
        self.pending = False  # input since the last full collection
        self.collections = 0
        self._before: tuple[int, int, int] | None = None

    def hold(self) -> None:
        """Young collections thirty times less often from now on: start-up builds mostly what
        the app keeps, and walking it again every 700 allocations cost the first screen about a
        twentieth."""
        if self._before is None:
            self._before = gc.get_threshold()
        gc.set_threshold(*THRESHOLDS)

    def start(self) -> None:
        self.hold()
        gc.freeze()

    def stop(self) -> None:
        if self._before is not None:
            gc.set_threshold(*self._before)
            gc.unfreeze()
            self._before = None

    def saw_input(self) -> None:
        self.last_input = time.monotonic()
        self.pending = True

    def collect_if_idle(self) -> bool:
        """A full collection if input stopped `IDLE_S` ago and anything ran since the last one
        (a key, or enough allocation for a middle-aged collection: a polling screen)."""
        if time.monotonic() - self.last_input < IDLE_S:
            return False
        if not self.pending and gc.get_count()[2] == 0:
            return False
        gc.collect()
        self.pending = False
        self.collections += 1
        return True
