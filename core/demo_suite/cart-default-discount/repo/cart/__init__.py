"""Shopping cart totals."""
