"""The measuring engine: runners and a plan in, honest records out."""
