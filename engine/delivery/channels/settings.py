"""Channel settings from the environment.

E-mail: ``RELAYFLOW_SMTP_HOST``, ``_PORT`` (default 25, or 587 with STARTTLS),
``_USER``, ``_PASSWORD``, ``_FROM``, ``_STARTTLS`` (true/false).

Webhooks (``webhook``, ``dingtalk``, ``wecom``, ``feishu``):
``RELAYFLOW_<CHANNEL>_URL`` and ``RELAYFLOW_<CHANNEL>_SECRET`` for every flow,
overridden per flow by ``RELAYFLOW_<CHANNEL>_URL_<FLOW>`` /
``RELAYFLOW_<CHANNEL>_SECRET_<FLOW>`` (flow name upper-cased), e.g.
``RELAYFLOW_DINGTALK_URL_SALES_ORDER``. Secrets stay out of flow files.

``RELAYFLOW_BASE_URL`` (e.g. https://flows.example.com) makes messages carry a
link to the record.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.settings import Settings




@dataclass(frozen=True)
class Endpoint:
    url: str
    secret: str | None = None


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None = None
    port: int = 25
    user: str | None = None
    password: str | None = None
    sender: str = "relayflow@localhost"
    starttls: bool = False
    timeout: float = 15.0


@dataclass(frozen=True)
class ChannelSettings:
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    env: Mapping[str, str] = field(default_factory=dict)
    base_url: str | None = None
    http_timeout: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ChannelSettings:
        """From this process's environment, or from `env` (tests)."""
        return cls.from_settings(Settings.from_env() if env is None else Settings.from_mapping(env))

    @classmethod
    def from_settings(cls, settings: Settings) -> ChannelSettings:
        starttls = settings.smtp_starttls
        smtp = SmtpSettings(
            host=settings.smtp_host or None,
            port=settings.smtp_port or (587 if starttls else 25),
            user=settings.smtp_user or None,
            password=settings.smtp_password or None,
            sender=settings.smtp_from or "relayflow@localhost",
            starttls=starttls,
        )
        base = settings.base_url.rstrip("/") or None
        return cls(smtp=smtp, env=settings.variables, base_url=base)

    def endpoint(self, channel: str, flow: str) -> Endpoint | None:
        """The URL (and signing secret) of a webhook-like channel for a flow, or None if not configured."""
        prefix = f"RELAYFLOW_{channel.upper()}"
        suffix = f"_{flow.upper()}"
        url = self.env.get(f"{prefix}_URL{suffix}") or self.env.get(f"{prefix}_URL")
        if not url:
            return None
        secret = self.env.get(f"{prefix}_SECRET{suffix}") or self.env.get(f"{prefix}_SECRET") or None
        return Endpoint(url, secret)
