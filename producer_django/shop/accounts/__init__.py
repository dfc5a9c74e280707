"""Shop customers (`POST /api/users/`) and the local dev API token."""
