"""URL slugs from titles."""

__version__ = "1.2.0"
