"""The HTTP POST shared by the webhook channels (httpx), with failures sorted into retry or give up."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from engine.delivery.channels.base import DeliveryFailed

#: Client errors that are worth retrying (timeouts, rate limits); other 4xx are permanent.
RETRYABLE_4XX = frozenset({408, 409, 425, 429})


def post_json(url: str, body: Any, *, headers: Mapping[str, str] | None = None, timeout: float = 10.0,
              raw: bytes | None = None) -> httpx.Response:
    """POST a JSON body (or the exact bytes given in ``raw``); raise DeliveryFailed unless 2xx."""
    content = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    try:
        response = httpx.post(url, content=content, timeout=timeout,
                              headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"POST failed: {type(exc).__name__}: {exc}") from None
    if not response.is_success:
        permanent = 400 <= response.status_code < 500 and response.status_code not in RETRYABLE_4XX
        raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:200]}", permanent=permanent)
    return response


def robot_errcode(response: httpx.Response, *keys: str) -> tuple[int, str]:
    """The (code, message) that IM robots put in a 200 response (0 means delivered)."""
    try:
        data = response.json()
    except ValueError:
        return 0, ""
    if not isinstance(data, dict):
        return 0, ""
    for key in keys:
        if key in data:
            try:
                return int(data[key]), str(data.get("errmsg") or data.get("msg") or data.get("StatusMessage") or "")
            except (TypeError, ValueError):
                return -1, str(data)
    return 0, ""
