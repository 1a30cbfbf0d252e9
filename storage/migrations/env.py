"""Alembic environment: runs on a connection handed in by ``storage.migrate`` (async engines)."""

from __future__ import annotations

from alembic import context

import storage.models  # noqa: F401  (registers every table)
from storage.base import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `cunzhan db upgrade` (storage.migrate)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
