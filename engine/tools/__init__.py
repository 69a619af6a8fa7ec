"""The officers' tools on top of the engine: lint, diff, test cases and coverage, fork."""
