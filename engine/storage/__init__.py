"""Storage: the database engines, the engine's tables, migrations and the write path (one interface, several executors)."""
