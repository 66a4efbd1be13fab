"""The REST API's routers (mounted by api/setup.py)."""
