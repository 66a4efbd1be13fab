"""Where the database and the flow files are, from the environment."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DB = "sqlite:///relayflow.db"


@dataclass(frozen=True)
class Settings:
    database_url: str
    flows_dir: Path
    # Development mode: apply flow files as they change on disk (RELAYFLOW_RELOAD_FLOWS=1).
    reload_flows: bool = False

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            database_url=os.environ.get("RELAYFLOW_DATABASE_URL", DEFAULT_DB),
            flows_dir=Path(os.environ.get("RELAYFLOW_FLOWS_DIR", "flows")),
            reload_flows=os.environ.get("RELAYFLOW_RELOAD_FLOWS", "").strip().lower() in ("1", "true", "yes", "on"),
        )


def switched_on(name: str, env: Mapping[str, str] | None = None) -> bool:
    """An on/off setting that is on unless the environment says off, 0, false or no."""
    return (os.environ if env is None else env).get(name, "on").strip().lower() not in ("off", "0", "false", "no")
