"""retention_kit."""
