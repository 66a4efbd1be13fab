"""Settings: one typed object read where a program is assembled; a bad value stops the start with a
message that names the variable."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.entry import main
from engine.delivery.channels.settings import ChannelSettings
from engine.delivery.outbox import DeliveryPolicy
from engine.settings import Settings, SettingsError


def test_values_and_defaults() -> None:
    s = Settings.from_mapping({"RELAYFLOW_WORKER": "Off", "RELAYFLOW_WORKER_INTERVAL": "2.5",
                               "RELAYFLOW_GROUP_COMMIT": "0", "RELAYFLOW_ALLOWED_ORIGINS": "https://a.example, ,https://b",
                               "RELAYFLOW_FLOWS_DIR": "/srv/flows", "RELAYFLOW_API_DB_CALLS": "thread",
                               "OTHER": "ignored"})
    assert (s.worker, s.worker_interval, s.group_commit, s.write_ahead) == (False, 2.5, False, True)
    assert s.origins == ["https://a.example", "https://b"]
    assert s.flows_dir == Path("/srv/flows") and s.api_db_calls == "thread"
    assert Settings.from_mapping({}).database_url == "sqlite:///relayflow.db"
    assert Settings.from_mapping({"RELAYFLOW_WORKER": ""}).worker is True  # empty: the default


@pytest.mark.parametrize(("name", "value", "says"), [
    ("RELAYFLOW_WORKER_INTERVAL", "abc", "RELAYFLOW_WORKER_INTERVAL='abc'"),
    ("RELAYFLOW_WORKER_INTERVAL", "-1", "RELAYFLOW_WORKER_INTERVAL='-1'"),
    ("RELAYFLOW_GROUP_COMMIT", "maybe", "must be on or off"),
    ("RELAYFLOW_OUTBOX_MAX_ATTEMPTS", "0", "RELAYFLOW_OUTBOX_MAX_ATTEMPTS"),
    ("RELAYFLOW_SMTP_PORT", "99999", "RELAYFLOW_SMTP_PORT"),
    ("RELAYFLOW_API_DB_CALLS", "sometimes", "RELAYFLOW_API_DB_CALLS"),
])
def test_a_bad_value_names_its_variable(name: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError, match="invalid setting") as info:
        Settings.from_mapping({name: value})
    assert says in str(info.value)


def test_the_cli_refuses_to_start_with_a_bad_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAYFLOW_WORKER_INTERVAL", "abc")
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 2
    assert "RELAYFLOW_WORKER_INTERVAL='abc'" in result.output and "Traceback" not in result.output


def test_channels_and_delivery_read_the_same_object() -> None:
    env = {"RELAYFLOW_SMTP_HOST": "mail.example", "RELAYFLOW_SMTP_STARTTLS": "yes", "RELAYFLOW_BASE_URL": "https://x/",
           "RELAYFLOW_WEBHOOK_URL": "https://hook", "RELAYFLOW_WEBHOOK_URL_SALES_ORDER": "https://hook/so",
           "RELAYFLOW_OUTBOX_MAX_ATTEMPTS": "3"}
    channels = ChannelSettings.from_settings(Settings.from_mapping(env))
    assert (channels.smtp.host, channels.smtp.port, channels.base_url) == ("mail.example", 587, "https://x")
    so, other = channels.endpoint("webhook", "sales_order"), channels.endpoint("webhook", "ticket")
    assert so is not None and other is not None and (so.url, other.url) == ("https://hook/so", "https://hook")
    assert DeliveryPolicy.from_env(env).max_attempts == 3
