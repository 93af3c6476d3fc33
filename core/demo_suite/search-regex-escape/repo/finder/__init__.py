"""Find lines that mention a term."""
