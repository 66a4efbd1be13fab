"""Every setting of Relayflow, read from `RELAYFLOW_*` environment variables into one typed object.

The rule: the environment is read where a program is assembled — `create_app`,
the `relayflow` command, a `Worker` — with `Settings.from_env()`, and the
object is handed down from there. Nothing below reads `os.environ`. (So a
test that sets a variable and then builds an app or a worker sees it; a
running server never changes its mind half-way.) `Settings.from_mapping(env)`
reads a given mapping instead, for tests and for the per-flow channel
variables (`RELAYFLOW_<CHANNEL>_URL_<FLOW>`), whose names depend on the flows.

An invalid value stops the start with `SettingsError`, whose message names the
variable and says what it must be.
"""
from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_DB = "sqlite:///relayflow.db"
PREFIX = "RELAYFLOW_"
_OFF = frozenset({"off", "0", "false", "no"})
_ON = frozenset({"on", "1", "true", "yes"})


def _switch(value: Any) -> Any:
    """on/off, 1/0, true/false, yes/no in any case; an empty value keeps the default (None here)."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _OFF:
            return False
        if text in _ON:
            return True
        if text == "":
            return None
        raise ValueError("must be on or off")
    return value


Switch = Annotated[bool, BeforeValidator(_switch)]
Seconds = Annotated[float, Field(gt=0)]


class SettingsError(ValueError):
    """A setting with an invalid value; the message names the environment variable."""


class Settings(BaseSettings):
    """Relayflow's settings; each field is the environment variable `RELAYFLOW_<FIELD NAME>`."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", frozen=True)

    database_url: str = Field(DEFAULT_DB, description="SQLAlchemy URL of the database")
    flows_dir: Path = Field(Path("flows"), description="Folder of the flow files the server loads")
    reload_flows: Switch = Field(False, description="Development mode: apply flow files as they change on disk")
    timezone: str = Field("", description="IANA zone for times that belong to no flow (default UTC)")
    worker: Switch = Field(True, description="Run the SLA worker thread inside the server")
    worker_interval: Seconds = Field(15.0, description="Seconds between worker cycles")
    group_commit: Switch = Field(True, description="Concurrent writes share one COMMIT")
    write_ahead: Switch = Field(True, description="PostgreSQL groups read ahead and send their writes together")
    api_hot_routes: Switch = Field(True, description="Lean routes for plain creates and transitions")
    api_db_calls: Literal["inline", "thread"] | None = Field(
        None, description="Where the API runs database work (default: inline on SQLite, thread on PostgreSQL)")
    cookie_secure: Switch = Field(False, description="Session cookies only over https, whatever the request says")
    allowed_origins: str = Field("", description="Other origins this site is reached under, comma-separated")
    base_url: str = Field("", description="Public address of the site; messages link to records under it")
    file_store: Literal["folder", "database"] = Field(
        "folder", description="Where attached files are kept: a folder (one server) or the database (several servers)")
    files_dir: Path = Field(Path("files"), description="The folder of the folder file store")
    unattached_upload_hours: float = Field(
        24.0, gt=0, description="Hours an upload may wait to be attached to a record before the worker deletes it")
    list_scan_limit: int = Field(100_000, ge=0, description="Records a list may read in full to filter or sort by a "
                                 "field without an index; above it such a list is refused (engine/records/data_view.py)")
    smtp_host: str = ""
    smtp_port: int | None = Field(None, gt=0, lt=65536)
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "relayflow@localhost"
    smtp_starttls: Switch = False
    outbox_max_attempts: int = Field(8, ge=1, description="Deliveries tried before a message is dead-lettered")
    outbox_backoff: Seconds = Field(30.0, description="Seconds before the second try; doubles each time")
    outbox_max_backoff: Seconds = Field(6 * 3600.0, description="Longest wait between tries")
    outbox_lease: Seconds = Field(120.0, description="Seconds a worker's claim on a message lasts")
    # Dashboards and the daily digest (engine/records/dashboards.py, engine/delivery/digest.py)
    dashboard_ttl: Seconds = Field(60.0, description="Seconds a dashboard's figures are kept before they are computed again")
    dashboard_keep: Seconds = Field(3600.0, description="Seconds a worker keeps a dashboard's figures fresh after "
                                    "somebody last read them (computing them again before they are older than the ttl)")
    digest_at: str = Field("", description="Local time (HH:MM, in each flow's zone) the worker e-mails the daily digest; empty: none")
    # Operations (docs/operations.md, docs/deployment.md)
    trusted_proxies: str = Field("", description="Addresses or networks (CIDR) of the reverse proxies whose "
                                                 "X-Forwarded-For / X-Forwarded-Proto are believed, comma-separated")
    log_format: Literal["json", "text"] = Field("json", description="Log lines as JSON objects or as plain text")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Least level logged")
    access_log: Switch = Field(True, description="One log line per HTTP request (with its request id)")
    metrics: Switch = Field(True, description="Serve Prometheus metrics at /metrics")
    metrics_token: str = Field("", description="Bearer token that may read /metrics from anywhere; without "
                                               "it only a direct client on this machine may")
    max_header_bytes: int = Field(65536, ge=4096, le=1 << 24, description="Largest request head (request line "
                                                                          "and headers) the server accepts")

    # The RELAYFLOW_* variables as read, for settings whose names depend on the flows (channel URLs).
    variables: dict[str, str] = Field(default_factory=dict, exclude=True)

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """The settings of this process's environment (`overrides` win: a command's own options)."""
        return cls.from_mapping(os.environ, **overrides)

    @classmethod
    def from_mapping(cls, env: Mapping[str, str], **overrides: Any) -> Settings:
        """The settings of `env` (a mapping of environment variable names to values)."""
        ours = {k: v for k, v in env.items() if k.startswith(PREFIX)}
        if isinstance(ours.get(PREFIX + "LOG_LEVEL"), str):
            ours[PREFIX + "LOG_LEVEL"] = ours[PREFIX + "LOG_LEVEL"].strip().upper()
        values: dict[str, Any] = {k[len(PREFIX):].lower(): v for k, v in ours.items()
                                  if k[len(PREFIX):].lower() in cls.model_fields and v.strip() != ""}
        values.update(overrides)
        values["variables"] = ours
        try:
            return _MappingOnly(**values)
        except ValidationError as exc:
            raise SettingsError(_explain(exc)) from None

    @field_validator("digest_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("must be a time of day as HH:MM, such as 08:00")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in (p.strip() for p in value.split(",")):
            if item and item != "*":
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(f"{item!r} is not an IP address or network (CIDR)") from None
        return value

    @property
    def proxies(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def origins(self) -> list[str]:
        return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]

    def variable(self, name: str) -> str | None:
        """A RELAYFLOW_* variable by its full name, empty values as None (per-flow channel settings)."""
        return self.variables.get(name) or None


class _MappingOnly(Settings):
    """Settings read from the mapping given to `from_mapping` alone (not also from os.environ)."""

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def _explain(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        given = error.get("input")
        lines.append(f"{PREFIX}{field.upper()}={given!r}: {error['msg']}")
    return "invalid setting: " + "; ".join(lines)
