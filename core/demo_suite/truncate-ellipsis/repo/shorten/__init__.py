"""Shorten text for narrow displays."""
