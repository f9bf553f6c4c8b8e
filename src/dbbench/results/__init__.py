"""What a run produced: the typed result model, building it, storing it."""
