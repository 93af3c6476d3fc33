"""Remove duplicates from lists and records."""
