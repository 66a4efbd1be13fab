"""Storage: database engines, the engine's own tables, one table per flow, the live-flow registry,
stored revisions, backups, and the write path (executor.py)."""
