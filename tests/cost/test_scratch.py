"""Scratch directories outlive no process: a killed import's are removed, a live one's never are."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from cost.scratch import LOCK, ScratchDirectory, remove_abandoned

ROOT = Path(__file__).resolve().parents[2]
OWNER = """
import sys, time
from cost.scratch import ScratchDirectory
scratch = ScratchDirectory("spill", sys.argv[1])
with open(f"{scratch.path}/0.arrows", "wb") as f:
    f.write(b"rows")
print(scratch.path, flush=True)
time.sleep(120)
"""


def test_a_live_owners_directory_is_kept_and_a_killed_ones_removed(tmp_path: Path) -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        path = Path(owner.stdout.readline().strip())
        assert path.parent == tmp_path
        assert path.name.startswith("roundpool-spill-")
        assert remove_abandoned(str(tmp_path)) == []
        assert (path / "0.arrows").read_bytes() == b"rows"
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=30)
        if owner.stdout is not None:
            owner.stdout.close()
    assert remove_abandoned(str(tmp_path)) == [str(path)]
    assert not path.exists()


def test_this_processs_own_directory_is_kept_until_it_removes_it(tmp_path: Path) -> None:
    scratch = ScratchDirectory("import", str(tmp_path))
    assert sorted(os.listdir(scratch.path)) == [LOCK]
    assert remove_abandoned(str(tmp_path)) == []
    assert Path(scratch.path).is_dir()
    scratch.remove()
    scratch.remove()
    assert list(tmp_path.iterdir()) == []


def test_what_is_not_a_scratch_directory_is_left_alone(tmp_path: Path) -> None:
    unlocked = tmp_path / "roundpool-spill-nolock"  # another program's, or one being made
    unlocked.mkdir()
    (unlocked / "data").write_text("x")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / LOCK).touch()
    (elsewhere / "precious").write_text("x")
    (tmp_path / "roundpool-spill-link").symlink_to(elsewhere, target_is_directory=True)
    other = tmp_path / "other-prefix"
    other.mkdir()
    (other / LOCK).touch()
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert remove_abandoned(str(tmp_path)) == []
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
