"""Feature flags from environment variables."""
