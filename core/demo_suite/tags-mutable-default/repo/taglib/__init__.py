"""Normalised tags for records."""
