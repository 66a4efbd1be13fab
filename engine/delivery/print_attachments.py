"""PDFs attached to a reminder's e-mail (`reminders: - {via: [email], attach: order_confirmation}`).

Each PDF is printed for its recipient: in their language, with what they may see. A recipient who may
not see the record (or use the layout on it) gets the e-mail without the file; a PDF that cannot be
made fails the delivery, which is retried like any other (a reminder is not sent without its file).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from engine.delivery.channels.base import DeliveryFailed
from engine.delivery.channels.message import Attachment, Person
from engine.language.print_templates import PrintRenderError
from engine.people.users import load_actor
from engine.printing.service import print_pdf
from engine.records.access import Access
from engine.records.errors import NotFound
from engine.records.records import Records
from engine.storage.registry import FlowRegistry

log = logging.getLogger("relayflow.worker")


def attachments_for(db: Engine, registry: FlowRegistry, row: Mapping[str, Any], person: Person | None) -> tuple[Attachment, ...]:
    """The PDFs the reminder rule of outbox `row` attaches, printed for `person` (none for a team address)."""
    if row["channel"] != "email" or person is None or row["flow"] not in registry:
        return ()
    flow = registry.get(row["flow"]).flow
    rules = flow.spec.reminders
    rule = row.get("rule")
    if not isinstance(rule, int) or not 0 <= rule < len(rules) or not rules[rule].attach:
        return ()
    try:
        actor = load_actor(db, uid=person.id)
    except NotFound:
        return ()
    access = Access(db, registry, Records(db, registry))
    out = []
    for name in rules[rule].attach:
        try:
            pdf = print_pdf(access, flow.name, int(row["record_id"]), actor, name, person.locale)
        except NotFound:
            log.info("reminder %s: %s may not see %s #%s, sent without %s.pdf", row["dedupe_key"], person.name,
                     flow.name, row["record_id"], name)
            continue
        except PrintRenderError as exc:
            raise DeliveryFailed(f"the PDF '{name}' could not be made: {exc}") from None
        out.append(Attachment(f"{flow.name}-{row['record_id']}-{name}.pdf", pdf))
    return tuple(out)
