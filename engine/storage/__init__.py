"""Storage: database engines, the engine's own tables, one table per flow, the live-flow registry and stored revisions, and the write path."""
