"""The embedded server: a second process on the same data folder reuses the running server, and the last
process to leave stops it."""

import subprocess
import sys
import textwrap
import time
from pathlib import Path

_HOLD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import psycopg
    from db.embedded import start_embedded
    server = start_embedded(Path(sys.argv[1]))
    with psycopg.connect(server.url("postgres", "postgres")) as conn:
        print(conn.execute("select pg_postmaster_start_time()").fetchone()[0], flush=True)
    sys.stdin.read()  # hold the server until our stdin closes
    """
)
_ROOT = Path(__file__).resolve().parents[2]


def _start(home: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(home)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=_ROOT
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def _leave(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.close()
    process.wait(timeout=60)
    process.stdout.close()


def test_a_second_process_reuses_the_server_and_the_last_one_stops_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pidfile = home / "pgdata" / "postmaster.pid"
    first, first_start = _start(home)
    try:
        second, second_start = _start(home)
        assert second_start == first_start, "the second process must join the running server"
        _leave(second)
        assert pidfile.exists(), "the server must outlive a process that is not the last"
    finally:
        _leave(first)
    deadline = time.monotonic() + 30
    while pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not pidfile.exists(), "the last process must stop the server"


_ONCE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import psycopg
    from db.embedded import start_embedded
    home = Path(sys.argv[1])
    server = start_embedded(home, cleanup=sys.argv[2])
    with psycopg.connect(server.url("postgres", "postgres")) as conn:
        conn.execute("select 1")
    if len(sys.argv) > 3:
        (home / sys.argv[3]).write_text("kept")
    """
)


def _run_once(home: Path, cleanup: str, *extra: str) -> None:
    subprocess.run([sys.executable, "-c", _ONCE, str(home), cleanup, *extra], check=True, cwd=_ROOT, timeout=120)


def test_a_deleted_server_leaves_no_empty_folder_behind(tmp_path: Path) -> None:
    emptied, kept = tmp_path / "emptied", tmp_path / "kept"
    _run_once(emptied, "delete")
    assert not emptied.exists()
    _run_once(kept, "delete", "notes.txt")  # something else in the folder: the folder stays, with it
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt"]
