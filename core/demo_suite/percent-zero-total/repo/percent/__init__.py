"""Percentages for reports and progress bars."""
