"""Attachments: the file stores, uploads checked by content, attaching files to records, serving them."""
