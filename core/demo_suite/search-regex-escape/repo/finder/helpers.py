"""Reading text into lines."""


def read_lines(text):
    """The lines of `text` without their line endings."""
    return text.splitlines()


def read_file_lines(path, encoding="utf-8"):
    """The lines of the file at `path`."""
    with open(path, encoding=encoding) as handle:
        return read_lines(handle.read())
