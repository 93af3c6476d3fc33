"""Binary search over sorted lists."""
