"""People: users and role grants, browser sessions, API tokens."""
