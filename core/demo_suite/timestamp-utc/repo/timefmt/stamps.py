"""Format Unix timestamps for logs and APIs."""

from datetime import datetime, timezone

from timefmt.helpers import ensure_seconds


def to_iso(ts):
    """ISO 8601 in UTC with an explicit offset, e.g. "1970-01-01T00:00:00+00:00"."""
    seconds = ensure_seconds(ts)
    return datetime.fromtimestamp(seconds).isoformat()


def to_log_stamp(ts):
    """A compact UTC stamp for log lines: "19700101-000000Z"."""
    seconds = ensure_seconds(ts)
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y%m%d-%H%M%SZ")


def from_iso(text):
    """Seconds since the epoch from an ISO 8601 string that carries an offset."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("timestamp has no UTC offset")
    return moment.timestamp()
