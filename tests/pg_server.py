"""A throw-away PostgreSQL server for the test suite.

`start_postgres()` returns a running `PgServer`: a fresh cluster in a temporary
directory, listening on 127.0.0.1 only, on a free port, with trust
authentication and durability switched off for speed. `.stop()` kills it
(`pg_ctl stop -m immediate`) and removes the directory.

* Binaries: the newest `/usr/lib/postgresql/*/bin` (Debian), else `initdb` and
  `pg_ctl` on PATH, else `RELAYFLOW_TEST_PG_BIN` when set (checked first).
* As root: PostgreSQL refuses to run as root, so the directory is owned by the
  `postgres` OS user and initdb/pg_ctl run through `runuser -u postgres --`
  (or `su` when runuser is missing).
* `RELAYFLOW_TEST_PG_URL=postgresql+psycopg://user:pw@host:port/db`: use that
  server instead of starting one; nothing is started or stopped, and test
  databases are created and dropped on it.
* No binaries found: `PostgresUnavailable` is raised; the fixtures skip on it,
  except under CI, where it is an error.

A watchdog process removes the server if the test process dies without
cleaning up (SIGKILL, a crashed xdist worker).
"""
from __future__ import annotations

import atexit
import glob
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

ENV_URL = "RELAYFLOW_TEST_PG_URL"
ENV_BIN = "RELAYFLOW_TEST_PG_BIN"
PG_OS_USER = "postgres"

_SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "200",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "logging_collector": "off",
    "log_min_messages": "warning",
    "timezone": "'UTC'",
}


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (and no RELAYFLOW_TEST_PG_URL)."""


class PostgresStartError(RuntimeError):
    """The binaries are there but the server did not come up."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# --------------------------------------------------------------------------- #
# finding the binaries


def _version_key(bindir: str) -> tuple[int, ...]:
    m = re.search(r"/postgresql/([\d.]+)/bin", bindir)
    return tuple(int(p) for p in m.group(1).split(".")) if m else (0,)


def find_pg_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl, newest version first; None if absent."""
    explicit = os.environ.get(ENV_BIN)
    if explicit:
        return Path(explicit)
    candidates = [
        d
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if os.access(os.path.join(d, "initdb"), os.X_OK)
        and os.access(os.path.join(d, "pg_ctl"), os.X_OK)
    ]
    if candidates:
        return Path(max(candidates, key=_version_key))
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).parent == Path(pg_ctl).parent:
        return Path(initdb).parent
    return None


# --------------------------------------------------------------------------- #
# running commands as the right user


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _as_server_user(argv: list[str]) -> list[str]:
    """Wrap argv so it runs as the postgres OS user when we are root."""
    if not _is_root():
        return argv
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", PG_OS_USER, "--", *argv]
    su = shutil.which("su") or "su"
    return [su, PG_OS_USER, "-s", "/bin/sh", "-c", shlex.join(argv)]


def _run(argv: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        _as_server_user(argv),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        env={**os.environ, "LC_ALL": "C", "LANG": "C"},
    )


def _traversable_by_all(path: Path) -> bool:
    """True when every directory up to path can be entered by any user."""
    p = path.resolve()
    for d in (p, *p.parents):
        try:
            if not os.stat(d).st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- #
# the server


@dataclass
class PgServer:
    """A PostgreSQL server for tests. `url` is an SQLAlchemy URL (psycopg v3)."""

    url: str
    port: int | None = None
    base_dir: Path | None = None
    bindir: Path | None = None
    owned: bool = False  # True when we started it (and so must stop it)
    _watchdog: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def data_dir(self) -> Path | None:
        return self.base_dir / "data" if self.base_dir else None

    @property
    def log_file(self) -> Path | None:
        return self.base_dir / "server.log" if self.base_dir else None

    def admin_conninfo(self) -> str:
        """A libpq URI (for psycopg.connect) for the server's admin database."""
        return _libpq_uri(make_url(self.url))

    def stop(self) -> None:
        """Stop the server (immediately) and remove its directory. Idempotent."""
        if not self.owned or self.base_dir is None:
            return
        base, self.base_dir = self.base_dir, None
        _stop_cluster(self.bindir, base)
        if self._watchdog is not None and self._watchdog.poll() is None:
            self._watchdog.terminate()
            try:
                self._watchdog.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._watchdog.kill()
        self._watchdog = None


def _stop_cluster(bindir: Path | None, base: Path) -> None:
    data = base / "data"
    if bindir is not None and (data / "postmaster.pid").exists():
        try:
            _run(
                [str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "immediate", "-w", "-t", "30"],
                cwd=base,
                timeout=60,
            )
        except (OSError, subprocess.SubprocessError):
            pass
        _kill_postmaster(data)
    shutil.rmtree(base, ignore_errors=True)


def _kill_postmaster(data: Path) -> None:
    """Last resort if pg_ctl did not stop it: SIGKILL the postmaster from its pid file."""
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, 9)
    except OSError:
        pass


def _libpq_uri(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _normalise_url(raw: str) -> str:
    url = make_url(raw)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"{ENV_URL} must be a PostgreSQL URL, got {raw!r}")
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


_WATCHDOG = r"""
import os, shutil, subprocess, sys, time
parent, base, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
data = os.path.join(base, "data")
while os.path.isdir(base):
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        break
    except PermissionError:
        pass
    time.sleep(1)
else:
    sys.exit(0)
if os.path.exists(os.path.join(data, "postmaster.pid")):
    subprocess.run(argv, cwd=base, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
shutil.rmtree(base, ignore_errors=True)
"""


def _start_watchdog(bindir: Path, base: Path) -> subprocess.Popen | None:
    stop_argv = _as_server_user(
        [str(bindir / "pg_ctl"), "stop", "-D", str(base / "data"), "-m", "immediate", "-w"]
    )
    try:
        return subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(base), *stop_argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # survives a Ctrl-C to our process group
        )
    except OSError:
        return None


def start_postgres(label: str = "") -> PgServer:
    """Start a fresh server (or wrap RELAYFLOW_TEST_PG_URL). Caller must `.stop()` it.

    Raises PostgresUnavailable when no binaries are found, PostgresStartError
    when they are found but the server does not start.
    """
    external = os.environ.get(ENV_URL)
    if external:
        return PgServer(url=_normalise_url(external), owned=False)

    bindir = find_pg_bindir()
    if bindir is None:
        raise PostgresUnavailable(
            "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin "
            "or on PATH; install them (`apt-get install postgresql`, or run "
            f"`bash scripts/test.sh`) or set {ENV_URL}"
        )

    root = _is_root()
    if root:
        try:
            import pwd

            pw = pwd.getpwnam(PG_OS_USER)
        except KeyError:
            raise PostgresStartError(
                f"running as root, but there is no {PG_OS_USER!r} OS user to run PostgreSQL as"
            ) from None
        tmp = Path(tempfile.gettempdir())
        parent = tmp if _traversable_by_all(tmp) else Path("/tmp")
    else:
        parent = Path(tempfile.gettempdir())

    prefix = f"relayflow-pg-{label}-" if label else "relayflow-pg-"
    base = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    if root:
        os.chown(base, pw.pw_uid, pw.pw_gid)
    server = PgServer(url="", base_dir=base, bindir=bindir, owned=True)
    atexit.register(server.stop)
    try:
        _init_cluster(server)
        server._watchdog = _start_watchdog(bindir, base)
        _start_cluster(server)
    except BaseException:
        server.stop()
        raise
    return server


def _init_cluster(server: PgServer) -> None:
    assert server.base_dir and server.bindir and server.data_dir
    proc = _run(
        [
            str(server.bindir / "initdb"),
            "-D", str(server.data_dir),
            "-U", "postgres",
            "-A", "trust",
            "-E", "UTF8",
            "--no-locale",
            "--no-sync",
        ],
        cwd=server.base_dir,
    )
    if proc.returncode != 0:
        raise PostgresStartError(f"initdb failed (exit {proc.returncode}):\n{proc.stdout}")
    settings = {**_SERVER_SETTINGS, "unix_socket_directories": f"'{server.base_dir}'"}
    with open(server.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write("\n# relayflow test server\n")
        for key, value in settings.items():
            conf.write(f"{key} = {value}\n")


def _start_cluster(server: PgServer, attempts: int = 3) -> None:
    assert server.base_dir and server.bindir and server.data_dir and server.log_file
    last = ""
    for _ in range(attempts):
        port = _free_port()
        proc = _run(
            [
                str(server.bindir / "pg_ctl"),
                "start",
                "-D", str(server.data_dir),
                "-l", str(server.log_file),
                "-o", f"-p {port}",
                "-w", "-t", "60",
            ],
            cwd=server.base_dir,
            timeout=90,
        )
        if proc.returncode == 0:
            server.port = port
            server.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
            _wait_ready(server)
            return
        try:
            log = server.log_file.read_text(errors="replace")
        except OSError:
            log = ""
        last = f"{proc.stdout}\n--- server log ---\n{log}"
        if "could not bind" not in log and "already in use" not in log:
            break  # not a port clash: retrying will not help
    raise PostgresStartError(f"pg_ctl start failed:\n{last}")


def _wait_ready(server: PgServer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(server.admin_conninfo(), connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# --------------------------------------------------------------------------- #
# test databases

_NAME_OK = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def random_database_name(prefix: str = "t_") -> str:
    return f"{prefix}{secrets.token_hex(6)}"


def create_database(server: PgServer, name: str | None = None) -> str:
    """Create an empty database on the server; return its SQLAlchemy URL."""
    name = name or random_database_name()
    if not _NAME_OK.match(name):
        raise ValueError(f"unsafe test database name {name!r}")
    with psycopg.connect(server.admin_conninfo(), autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(server.url).set(database=name).render_as_string(hide_password=False)


def drop_database(server: PgServer, name_or_url: str) -> None:
    """Drop a test database (given by name or URL), closing its connections."""
    name = make_url(name_or_url).database if "://" in name_or_url else name_or_url
    if not name or not _NAME_OK.match(name):
        raise ValueError(f"unsafe test database name {name!r}")
    with psycopg.connect(server.admin_conninfo(), autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
