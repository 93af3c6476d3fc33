"""What each headless command does: take parsed arguments, print results, return an exit code."""
