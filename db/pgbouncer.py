"""PgBouncer in transaction mode in front of a PostgreSQL server: the configuration, and a process to run it.

The tests, `bench/serve.py --via-pgbouncer` and anyone trying transaction pooling locally start it from here
(like db/embedded.py, development tooling, not a runtime dependency). Clients authenticate with SCRAM against
the auth file's plain-text passwords; PgBouncer presents the same password to the server when the server asks.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from psycopg.conninfo import conninfo_to_dict

from db.location import PREPARE_THRESHOLD, SIDE_DATABASE, driver_dsn

ADMIN_DATABASE = "pgbouncer"  # PgBouncer's console: SHOW POOLS, SHOW SERVERS, …


class PgBouncerFailed(RuntimeError):
    """PgBouncer could not start, or its configuration would be ambiguous."""


@dataclass(frozen=True)
class Upstream:
    """The server PgBouncer connects to: a host name, or the folder of its Unix socket."""

    host: str
    port: int
    dbname: str

    @classmethod
    def from_url(cls, url: str) -> Upstream:
        parts = conninfo_to_dict(driver_dsn(url).conninfo)
        host, port = str(parts.get("host") or "localhost"), int(parts.get("port") or 5432)
        return cls(host=host, port=port, dbname=str(parts["dbname"]))


@dataclass(frozen=True)
class PoolConfig:
    """One PgBouncer: each alias is a database name clients use, with its own server pool of `pool_size`."""

    upstream: Upstream
    users: Mapping[str, str]  # role → the password clients present (and PgBouncer presents to the server)
    listen_port: int
    aliases: tuple[str, ...] = ()  # empty: the upstream's database name only
    pool_size: int = 2
    max_client_conn: int = 200
    pool_mode: str = "transaction"
    admin_user: str | None = None  # may open the console; must be one of `users`
    extra: Mapping[str, str] = field(default_factory=dict)  # more [pgbouncer] settings, verbatim

    def databases(self) -> tuple[str, ...]:
        return self.aliases or (self.upstream.dbname,)


def _quoted_value(value: str) -> str:
    if any(c in value for c in "'\\\n\r"):
        raise PgBouncerFailed("a connection value holds a quote, backslash or newline")
    return f"'{value}'"


def render_ini(config: PoolConfig, folder: Path) -> str:
    upstream = config.upstream
    server = f"host={_quoted_value(upstream.host)} port={upstream.port} dbname={_quoted_value(upstream.dbname)}"
    settings = {
        "listen_addr": "127.0.0.1",
        "listen_port": str(config.listen_port),
        "unix_socket_dir": "",
        "auth_type": "scram-sha-256",
        "auth_file": str(folder / "userlist.txt"),
        "pool_mode": config.pool_mode,
        "default_pool_size": str(config.pool_size),
        "min_pool_size": "0",
        "reserve_pool_size": "0",
        "max_client_conn": str(config.max_client_conn),
        # Sent at start-up by some drivers (PostGraphile's, JDBC); PgBouncer refuses unknown parameters.
        "ignore_startup_parameters": "extra_float_digits",
        "pidfile": str(folder / "pgbouncer.pid"),
        **({"admin_users": config.admin_user} if config.admin_user else {}),
        **config.extra,
    }
    lines = ["[databases]", *(f"{alias} = {server}" for alias in config.databases()), "", "[pgbouncer]"]
    lines += [f"{key} = {value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def render_auth_file(users: Mapping[str, str]) -> str:
    def quoted(value: str) -> str:
        if "\n" in value or "\r" in value:
            raise PgBouncerFailed("a user name or password holds a newline")
        return '"' + value.replace('"', '""') + '"'

    return "".join(f"{quoted(user)} {quoted(password)}\n" for user, password in users.items())


def write_config(config: PoolConfig, folder: Path) -> Path:
    """Write pgbouncer.ini and its auth file into `folder` (readable by their owner only); return the ini."""
    folder.mkdir(parents=True, exist_ok=True)
    ini = folder / "pgbouncer.ini"
    for path, text in ((folder / "userlist.txt", render_auth_file(config.users)), (ini, render_ini(config, folder))):
        path.write_text(text)
        path.chmod(0o600)
    return ini


def find_binary() -> str | None:
    """Debian installs it in /usr/sbin, which is often not on a user's PATH."""
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_as(upstream: Upstream, folder: Path) -> list[str]:
    """PgBouncer refuses to run as root: as root, run it as the owner of the server's socket folder (it must
    reach the socket), else as nobody, owning its own folder."""
    if os.geteuid() != 0:
        return []
    socket_dir = Path(upstream.host)
    user = pwd.getpwuid(socket_dir.stat().st_uid).pw_name if socket_dir.is_dir() else "nobody"
    account = pwd.getpwnam(user)
    for path in (folder, *folder.iterdir()):
        os.chown(path, account.pw_uid, account.pw_gid)
    return ["-u", user]


class PgBouncer:
    """A running PgBouncer; `stop()` (or leaving the `with` block) ends it."""

    def __init__(self, config: PoolConfig, folder: Path, process: subprocess.Popen[bytes]) -> None:
        self.config = config
        self.folder = folder
        self._process = process

    @property
    def pid(self) -> int:
        return self._process.pid

    def url(
        self,
        user: str,
        database: str | None = None,
        *,
        prepare_threshold: str | None = "none",
        side_database: str | None = None,
    ) -> str:
        """A libpq URL through PgBouncer; by default psycopg prepares nothing (see db/location.py)."""
        password = self.config.users[user]
        name = database or self.config.databases()[0]
        options = {PREPARE_THRESHOLD: prepare_threshold, SIDE_DATABASE: side_database}
        given = [f"{key}={value}" for key, value in options.items() if value is not None]
        query = "?" + "&".join(given) if given else ""
        secret = f"{quote(user, safe='')}:{quote(password, safe='')}"
        return f"postgresql://{secret}@127.0.0.1:{self.config.listen_port}/{name}{query}"

    def log(self) -> str:
        path = self.folder / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)  # immediate shutdown; SIGINT would wait for the clients
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> PgBouncer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_pgbouncer(config: PoolConfig, folder: Path, *, binary: str | None = None, timeout_s: float = 10) -> PgBouncer:
    """Start PgBouncer with `config` (files in `folder`) and wait until it accepts connections."""
    executable = binary or find_binary()
    if executable is None:
        raise PgBouncerFailed("no pgbouncer binary (Debian: apt-get install pgbouncer)")
    ini = write_config(config, folder)
    with (folder / "pgbouncer.log").open("wb") as log:
        command = [executable, *_run_as(config.upstream, folder), str(ini)]
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    bouncer = PgBouncer(config, folder, process)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PgBouncerFailed(f"pgbouncer exited with {process.returncode}: {bouncer.log()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", config.listen_port), timeout=1).close()
            return bouncer
        except OSError:
            time.sleep(0.05)
    bouncer.stop()
    raise PgBouncerFailed(f"pgbouncer did not listen within {timeout_s} s: {bouncer.log()[-2000:]}")
