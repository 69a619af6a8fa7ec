"""Award forms: one class per file."""
