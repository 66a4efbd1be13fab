"""A reminder e-mail carries the printed record as PDF, printed for each recipient (SQLite and PostgreSQL)."""
from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from pypdf import PdfReader

from engine.delivery.channels import build_channels
from engine.delivery.channels.settings import ChannelSettings
from engine.delivery.outbox import DeliveryPolicy, list_rows
from engine.delivery.worker import Worker
from engine.people.users import create_user, load_actor
from engine.sla.scheduler import run_pass
from tests.print.flows import ORDER, lines
from tests.print.helpers import Desk
from tests.sla.conftest import Mailbox, smtp_server  # noqa: F401 - the fixture: aiosmtpd on 127.0.0.1

REMINDED = ORDER + """\
reminders:
  - {on: enter, states: [review], notify: [role:clerk, role:finance], via: [email], attach: order_confirmation}
"""


@pytest.fixture
def reminded(database_url: str) -> Iterator[Desk]:
    d = Desk(database_url, REMINDED)
    yield d
    d.close()


def test_the_email_reminder_carries_the_pdf_for_its_reader(reminded: Desk, smtp_server: Mailbox) -> None:  # noqa: F811
    d = reminded
    create_user(d.db, "eve", display_name="Eve", roles=["clerk"], email="eve@example.com", locale="en")
    settings = ChannelSettings.from_env({"RELAYFLOW_SMTP_HOST": smtp_server.host, "RELAYFLOW_SMTP_PORT": str(smtp_server.port),
                                         "RELAYFLOW_SMTP_FROM": "relayflow@example.com"})
    worker = Worker(d.db, d.registry, settings=settings, channels=build_channels(d.db, settings),
                    policy=DeliveryPolicy(max_attempts=3, base_backoff=0.0, lease=30))
    rec = d.create({"order_no": "SO-000042", "customer": "苏州工业园", "lines": lines(3), "margin_note": "HIDDEN-IN-REVIEW"})
    d.move(rec, "submit", d.sales)
    run_pass(d.db, d.registry)
    for _ in range(10):
        if worker.deliver_batch() == 0:
            break
    rows = [r for r in list_rows(d.db) if r["channel"] == "email"]
    assert rows and {r["status"] for r in rows} == {"sent"}
    mails: dict[str, Any] = {m["To"]: m for m in smtp_server.messages}
    assert set(mails) == {"cleo@example.com", "eve@example.com", "fay@example.com"}

    def pdf_text(mail: Any) -> str | None:
        files = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
        if not files:
            return None
        assert files[0].get_filename() == f"print_order-{rec.id}-order_confirmation.pdf"
        reader = PdfReader(io.BytesIO(files[0].get_content()))
        return "\n".join(p.extract_text() for p in reader.pages)

    assert mails["cleo@example.com"].is_multipart()
    chinese = pdf_text(mails["cleo@example.com"])  # no language setting: the flow's (zh-CN)
    english = pdf_text(mails["eve@example.com"])  # locale en
    assert chinese is not None and "订单确认书" in chinese and "SO-000042" in chinese and "苏州工业园" in chinese
    assert english is not None and "Order confirmation" in english and "Page 1 of 1" in english
    for text in (chinese, english):
        assert "HIDDEN-IN-REVIEW" not in text  # review hides margin_note
    # finance is told, but may not see the record: the e-mail comes without the PDF
    assert not mails["fay@example.com"].is_multipart() or pdf_text(mails["fay@example.com"]) is None
    assert load_actor(d.db, username="fay").roles == frozenset({"finance"})
