"""Compare dotted version strings."""
