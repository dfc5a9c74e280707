"""Products: create, read (cached), change price."""
