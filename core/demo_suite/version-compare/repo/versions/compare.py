"""Compare dotted version strings such as "1.10.2" or "v2.0"."""

from versions.helpers import strip_prefix


def parse(version):
    """The parts of a version: "v1.10.0" -> its major, minor and patch parts."""
    return tuple(strip_prefix(version).split("."))


def compare(a, b):
    """-1, 0 or 1 as version `a` is older than, equal to or newer than `b`."""
    left, right = parse(a), parse(b)
    return (left > right) - (left < right)


def newest(versions):
    """The newest version in a non-empty list."""
    return max(versions, key=parse)


def is_upgrade(current, candidate):
    """Whether `candidate` is newer than `current`."""
    return compare(candidate, current) == 1
