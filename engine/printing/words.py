"""The words printed around a record's values, in English and Chinese.

A printed document is in its reader's language (their setting, else the flow's `language`). Like
the reminders' texts (engine/delivery/channels/message.py) these live in the engine, since a PDF is
also made by the delivery worker for an e-mail, where the pages' catalogues are not at hand.
"""
from __future__ import annotations

from typing import Any

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "number": "No.", "state": "Status", "created": "Created", "updated": "Last changed", "printed": "Printed",
        "created_by": "Created by", "total": "Total", "carried": "Carried forward", "brought": "Brought forward",
        "approvals": "Approvals and signatures", "stage": "Stage", "action": "Action", "by": "By", "at": "When",
        "comment": "Comment", "approved": "Approved", "rejected": "Rejected", "signature": "Signature",
        "page": "Page", "of": "of", "row": "#", "download": "Download PDF", "print": "Print", "back": "Back to the record",
        "sent_back": "Sent back", "return": "Returned",
        "Yes": "Yes", "No": "No", "a file": "a file", "{n} rows": "{n} rows", "1 row": "1 row", "none": "—",
    },
    "zh": {
        "number": "编号", "state": "状态", "created": "创建时间", "updated": "最后修改", "printed": "打印时间",
        "created_by": "创建人", "total": "合计", "carried": "转下页", "brought": "承上页",
        "approvals": "审批与签字", "stage": "环节", "action": "操作", "by": "经办人", "at": "时间",
        "comment": "意见", "approved": "同意", "rejected": "不同意", "signature": "签字",
        "page": "第", "of": "页 / 共", "row": "序号", "download": "下载 PDF", "print": "打印", "back": "返回记录",
        "sent_back": "退回", "return": "退回",
        "Yes": "是", "No": "否", "a file": "一个文件", "{n} rows": "{n} 行", "1 row": "1 行", "none": "—",
    },
}


def language_of(tag: str | None) -> str:
    """zh for a Chinese tag (zh, zh-CN, zh-Hans), else en."""
    return "zh" if (tag or "").lower().startswith("zh") else "en"


def words(tag: str | None) -> dict[str, str]:
    return dict(_WORDS[language_of(tag)])


def page_footer_css(tag: str | None) -> str:
    """The CSS `content` of the page number: 第 1 页 / 共 3 页, or Page 1 of 3."""
    if language_of(tag) == "zh":
        return '"第 " counter(page) " 页 / 共 " counter(pages) " 页"'
    return '"Page " counter(page) " of " counter(pages)'


class PrintGettext:
    """A gettext for the few words field types print themselves (Yes/No, a file, n rows)."""

    def __init__(self, tag: str | None) -> None:
        self.locale = "zh-CN" if language_of(tag) == "zh" else "en"
        self._words = _WORDS[language_of(tag)]

    def __call__(self, text: str, **params: Any) -> str:
        return self._words.get(text, text).format(**params) if params else self._words.get(text, text)
