"""Medians and quartiles."""
