"""Naming environment variables."""

PREFIX = ""


def env_key(name):
    """The variable for a flag: "dark mode" and "dark-mode" give "DARK_MODE" (after PREFIX)."""
    key = name.strip().upper().replace(" ", "_").replace("-", "_")
    return PREFIX + key
