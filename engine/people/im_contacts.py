"""A user's phone number and office-IM id: how IM robot messages @-mention them.

Group robots of WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书) can mention people
in the group: by their id in that IM (WeCom userid, DingTalk userId, Feishu
open_id) or, on WeCom and DingTalk, by the mobile number they registered. An
administrator sets them (API `PATCH /api/users/{name}`, `relayflow user contact`),
usually copied from the company's address book.
"""
from __future__ import annotations

import re

from sqlalchemy import Engine, update

from engine.people.users import user_id
from engine.records.errors import ValidationFailed
from engine.storage.executor import WriteExecutor
from engine.storage.plain import executor_for
from engine.storage.schema import users
from forms.unicode_text import nfc

_PHONE = re.compile(r"^\+?[0-9]{5,20}$")
_IM_ID = re.compile(r"^[A-Za-z0-9_.@:\-]{1,128}$")


def clean_phone(raw: str) -> str | None:
    """A phone number as the IM wants it (digits, perhaps a leading +; spaces and dashes dropped); '' → None."""
    text = re.sub(r"[\s\-()]", "", nfc(raw) or "")
    if not text:
        return None
    if not _PHONE.match(text):
        raise ValidationFailed({"phone": "a phone number is 5 to 20 digits, perhaps with a leading +"})
    return text


def clean_im_id(raw: str) -> str | None:
    text = (nfc(raw) or "").strip()
    if not text:
        return None
    if not _IM_ID.match(text):
        raise ValidationFailed({"im_id": "an IM id is 1 to 128 letters, digits or . _ - @ :"})
    return text


def set_im_contact(db: Engine | WriteExecutor, username: str, *, phone: str | None = None,
                   im_id: str | None = None) -> None:
    """Set a user's phone and/or IM id ('' clears one; None leaves it as it is)."""
    values: dict[str, str | None] = {}
    if phone is not None:
        values["phone"] = clean_phone(phone)
    if im_id is not None:
        values["im_id"] = clean_im_id(im_id)
    if not values:
        return
    uid = user_id(db, username)
    with executor_for(db).transaction() as tx:
        tx.execute(update(users).where(users.c.id == uid).values(**values))
