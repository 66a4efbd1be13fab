"""Records and access: create, edit and move records, who may see and do what, assignment, claims, lists and the inbox."""
