"""Input conversion."""


def as_floats(values):
    """The values as a list of floats; strings such as "2.5" are accepted."""
    return [float(value) for value in values]
