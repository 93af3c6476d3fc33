"""Small summary statistics for lists of numbers."""

__version__ = "0.3.1"
