"""Word frequencies for short texts."""
