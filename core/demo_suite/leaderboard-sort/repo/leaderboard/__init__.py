"""Rank players by score."""
