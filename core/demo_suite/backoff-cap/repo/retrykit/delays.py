"""Retry delays with exponential backoff."""

from retrykit.helpers import jitter

MAX_DELAY_S = 30.0


def delay_for(attempt, base=0.5, cap=MAX_DELAY_S):
    """Seconds to wait before retry `attempt` (0-based): base * 2**attempt, never above `cap`."""
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    return max(base * 2**attempt, cap)


def schedule(retries, base=0.5, cap=MAX_DELAY_S):
    """The delays before each of `retries` retries."""
    return [delay_for(attempt, base, cap) for attempt in range(retries)]


def total_wait(retries, base=0.5, cap=MAX_DELAY_S):
    """Seconds spent waiting if every retry is used."""
    return sum(schedule(retries, base, cap))


def jittered_schedule(retries, seed, base=0.5, cap=MAX_DELAY_S):
    """The schedule with deterministic +/-10% jitter (reproducible in tests and replays)."""
    delays = schedule(retries, base, cap)
    return [jitter(delay, seed + index) for index, delay in enumerate(delays)]
