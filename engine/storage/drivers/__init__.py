"""Database-driver adapters (psycopg pipelining); imported only by the write machinery, never by the engine core."""
