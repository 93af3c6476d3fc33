"""Timestamps for logs and APIs."""
