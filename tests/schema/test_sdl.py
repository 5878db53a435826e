from schema.sdl import SNAPSHOT, current_sdl


def test_the_sdl_snapshot_matches_the_code() -> None:
    """Refresh with `roundpool sdl --write` and review the diff."""
    assert SNAPSHOT.read_text() == current_sdl()
