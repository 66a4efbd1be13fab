"""A database with the print order flow applied, a salesperson, a clerk and a finance clerk."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from engine.evolve import apply_flow
from engine.language.loader import load_flow_file, load_flow_text
from engine.people.users import create_user, load_actor
from engine.records.access import Access
from engine.records.records import Record, Records
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.storage.registry import FlowRegistry
from tests.print.flows import ORDER


class Desk:
    def __init__(self, url: str, text: str = ORDER, folder: Path | None = None) -> None:
        self.db = make_engine(url)
        upgrade_database(self.db)
        self.registry = FlowRegistry()
        self.records = Records(self.db, self.registry)
        self.access = Access(self.db, self.registry, self.records)
        if folder is not None:
            path = folder / "print_order.yaml"
            path.write_text(text, encoding="utf-8")
            apply_flow(self.db, load_flow_file(path))
        else:
            apply_flow(self.db, load_flow_text(text))
        self.registry.refresh(self.db)
        create_user(self.db, "sam", display_name="Sam 王", roles=["sales"], email="sam@example.com")
        create_user(self.db, "cleo", display_name="Cleo", roles=["clerk"], email="cleo@example.com")
        create_user(self.db, "fay", display_name="Fay", roles=["finance"], email="fay@example.com")
        create_user(self.db, "olga", display_name="Olga", roles=["sales"], email="olga@example.com")
        self.sales = load_actor(self.db, username="sam")
        self.clerk = load_actor(self.db, username="cleo")
        self.finance = load_actor(self.db, username="fay")
        self.other = load_actor(self.db, username="olga")

    def create(self, values: dict[str, Any]) -> Record:
        return self.records.create("print_order", self.sales, values)

    def move(self, rec: Record, name: str, actor: Any) -> Record:
        return self.records.transition("print_order", rec.id, name, actor, expected_version=rec.version)

    def close(self) -> None:
        self.db.dispose()


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page of a PDF."""
    assert data.startswith(b"%PDF")
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]
