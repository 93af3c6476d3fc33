"""Small grids as lists of rows."""
