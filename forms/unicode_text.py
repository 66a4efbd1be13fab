"""One spelling per text: Unicode normalisation form C (NFC) for every stored or compared text.

"Café" can be typed as five code points (é precomposed, NFC, as Windows and most keyboards
send it) or six (e + U+0301, NFD, as macOS file names and some input methods produce). Both
look the same to a person, so they must be the same value: a `unique` field, a user name, a
search and a filter all compare the NFC form, and only the NFC form is stored. NFC (not NFKC)
keeps characters people chose on purpose (full-width digits, ligatures, superscripts).
"""
from __future__ import annotations

import unicodedata
from typing import overload


@overload
def nfc(text: str) -> str: ...
@overload
def nfc(text: None) -> None: ...
def nfc(text: str | None) -> str | None:
    """`text` in NFC (the same object when it already is, which is the common case and cheap to check)."""
    if text is None or text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)
