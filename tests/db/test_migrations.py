"""The migration history has one head, and the test database stands at it."""

from alembic.script import ScriptDirectory

from db.migrate import alembic_config, current_revision
from tests.plugins.database import TestDatabase


def test_one_head_and_the_database_is_at_it(test_database: TestDatabase) -> None:
    heads = ScriptDirectory.from_config(alembic_config(test_database.owner_url)).get_heads()
    assert len(heads) == 1, f"merge the heads {heads} with a merge revision"
    assert current_revision(test_database.owner_url) == heads[0]
