"""Keys for comparing records."""


def record_key(record, field):
    """The value compared for `field`: strings are compared case-insensitively."""
    value = record.get(field)
    if isinstance(value, str):
        return value.strip().lower()
    return value
