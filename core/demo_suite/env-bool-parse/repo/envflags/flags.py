"""Feature flags read from environment-style mappings."""

from envflags.helpers import env_key

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def parse_bool(value, default=False):
    """True for "1", "true", "yes", "on" (any case), False otherwise; `default` for None."""
    if value is None:
        return default
    return bool(value.strip())


def flag(env, name, default=False):
    """The flag `name` from `env`, a dict like os.environ: "dark mode" reads DARK_MODE."""
    return parse_bool(env.get(env_key(name)), default)


def enabled_flags(env, names):
    """The names among `names` whose flags are on, sorted."""
    return sorted(name for name in names if flag(env, name))
