"""What the user asked for: the settings table, its loader, TLS, credentials."""
