"""One library entry point per command (run and sweep, stale, explain), the Backend they
reach the world through, and a live run summarised into the result model."""
