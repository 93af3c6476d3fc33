"""Retry delays with exponential backoff."""
