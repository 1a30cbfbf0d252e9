"""The migrations build exactly the schema the models declare, on each engine."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import storage.models  # noqa: F401  (registers every table)
from storage.base import Base
from storage.db import Database

# APScheduler's job store creates and owns its own table.
FOREIGN_TABLES = {"apscheduler_jobs"}


def _relevant(diff: object) -> bool:
    item = diff[0] if isinstance(diff, list) else diff
    if isinstance(item, tuple) and item and item[0] == "remove_table":
        return item[1].name not in FOREIGN_TABLES
    return True


async def test_migrations_match_models(db: Database) -> None:
    def compare(connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, Base.metadata) if _relevant(d)]

    async with db.engine.connect() as connection:
        diffs = await connection.run_sync(compare)
    assert diffs == []
