"""Data in and out of a flow as spreadsheets: export of a list to CSV/XLSX, import from CSV/XLSX (docs/import-export.md)."""
