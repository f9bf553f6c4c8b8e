"""What a run produced: the typed result model (one class per document), stored on disk."""
