"""Human-readable durations."""

from durations.helpers import split_seconds


def format_clock(total_seconds):
    """Clock style: "M:SS" under an hour, "H:MM:SS" from an hour on (65 -> "1:05")."""
    hours, minutes, seconds = split_seconds(total_seconds)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds}"


def format_words(total_seconds):
    """Word style: "1h 2m 5s"; zero parts are left out and 0 gives "0s"."""
    hours, minutes, seconds = split_seconds(total_seconds)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if seconds or not parts:
        parts.append(f"{seconds}s")
    return " ".join(parts)
