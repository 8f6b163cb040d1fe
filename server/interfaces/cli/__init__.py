"""The `flask` command groups."""
