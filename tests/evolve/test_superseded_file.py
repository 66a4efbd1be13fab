"""A flows/ file that an admin has since superseded is not re-applied when the server starts."""
from __future__ import annotations

from pathlib import Path

from engine.evolve import apply_flow
from engine.language.loader import load_flow_text
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.storage.registry import FlowRegistry, install_folder

REFERENCE = (Path(__file__).parents[1] / "acceptance" / "sales_order.yaml").read_text(encoding="utf-8")


def test_start_keeps_the_admins_newer_revision(tmp_path: Path, database_url: str) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "sales_order.yaml").write_text(REFERENCE, encoding="utf-8")
    db = make_engine(database_url)
    try:
        upgrade_database(db)
        install_folder(db, FlowRegistry(), folder)
        newer = REFERENCE.replace("title: 销售订单跟单", "title: 销售订单跟单（新）")
        apply_flow(db, load_flow_text(newer), applied_by=None)  # e.g. from the admin pages
        registry = FlowRegistry()
        install_folder(db, registry, folder)  # the server restarts with the old file on disk
        assert registry.get("sales_order").revision == 2
        assert registry.get("sales_order").flow.spec.title == "销售订单跟单（新）"
        # A file changed on disk (never applied before) is still applied at start.
        (folder / "sales_order.yaml").write_text(newer.replace("（新）", "（再新）"), encoding="utf-8")
        registry = FlowRegistry()
        install_folder(db, registry, folder)
        assert registry.get("sales_order").revision == 3
    finally:
        db.dispose()
