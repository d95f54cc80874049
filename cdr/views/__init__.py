"""Plain Django views of the cdr app (the admin has its own package)."""
