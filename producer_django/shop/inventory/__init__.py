"""Stock levels: authoritative in the database, changed only under a row lock."""
