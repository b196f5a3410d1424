"""A process start skips alembic when specmill's tables are at the newest migration already."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from specmill import records


def test_the_head_read_from_the_files_is_alembics_and_a_migrated_database_is_seen_at_it(tmp_path: Path) -> None:
    config = Config()
    config.set_main_option("script_location", str(records.MIGRATIONS_DIR))
    assert records.head_revision() == ScriptDirectory.from_config(config).get_current_head()

    url = f"sqlite:///{tmp_path / 'records.sqlite'}"
    assert not records.at_head(url)
    records.upgrade(url)
    assert records.at_head(url)
    records.upgrade(url)  # again: nothing to do
    assert records.at_head(url)
