"""Sliding windows and batches over lists."""
