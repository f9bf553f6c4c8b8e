"""One library entry point per command: run and sweep, stale, explain."""
