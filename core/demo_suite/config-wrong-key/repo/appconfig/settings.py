"""Application settings: defaults, user overrides and derived values."""

from appconfig.helpers import parse_duration

DEFAULTS = {
    "host": "localhost",
    "port": 8080,
    "timeout_s": 30,
    "retries": 3,
}


def load_settings(user):
    """Defaults overridden by `user`; durations such as "2m" become seconds."""
    settings = dict(DEFAULTS)
    for key, value in user.items():
        if key not in DEFAULTS:
            raise KeyError(f"unknown setting: {key}")
        settings[key] = value
    settings["timeout_s"] = parse_duration(settings["timeout_s"])
    return settings


def base_url(settings):
    """Where the client connects."""
    return f"http://{settings['host']}:{settings['port']}"


def retry_budget(settings):
    """Seconds the client may spend in total: one timeout per attempt (first try plus retries)."""
    attempts = 1 + settings.get("retry", 0)
    return attempts * settings["timeout_s"]
