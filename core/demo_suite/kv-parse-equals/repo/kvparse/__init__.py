"""Parse key=value settings strings."""
