"""Shared fixtures: a clean database on each engine under test, settings, a running app.

SQLite always; PostgreSQL too when CUNZHAN_TEST_DATABASE_URL is set (CI sets it).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.settings import load_settings, normalise_database_url
from storage import migrate
from storage.base import Base
from storage.db import Database

PG_URL = os.environ.get("CUNZHAN_TEST_DATABASE_URL")
ENGINES = ["sqlite", "postgresql"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CI") and not PG_URL:
        raise pytest.UsageError("CI runs need CUNZHAN_TEST_DATABASE_URL (PostgreSQL)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating per test is slower)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"

    async def build() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(db)
        await db.dispose()

    asyncio.run(build())
    return path


@pytest.fixture(scope="session")
def postgres_ready() -> str:
    """The PostgreSQL test database, wiped and migrated once per session."""
    assert PG_URL
    url = normalise_database_url(PG_URL)

    async def build() -> None:
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await migrate.upgrade(db)
        await db.dispose()

    asyncio.run(build())
    return url


async def _truncate(url: str) -> None:
    db = Database(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await db.dispose()


@pytest.fixture(params=ENGINES)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A clean, migrated database URL on each engine under test."""
    if request.param == "sqlite":
        path = tmp_path / "cunzhan.sqlite3"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set CUNZHAN_TEST_DATABASE_URL)")
    url = request.getfixturevalue("postgres_ready")
    asyncio.run(_truncate(url))
    yield url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A clean, migrated SQLite database only (for tests that need not run on both)."""
    path = tmp_path / "cunzhan.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


def make_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        "CUNZHAN_DATABASE_URL": database_url,
        "CUNZHAN_HTTP_PORT": "0",
        "CUNZHAN_SECRET_KEY": "test-secret-key",
        "CUNZHAN_FLOOD_MESSAGES": "1000",
    }
    env.update(extra)
    return env


@pytest.fixture
def settings_for(tmp_path: Path):
    def build(database_url: str, **extra: str):
        return load_settings(make_env(database_url, **extra), workdir=tmp_path)

    return build


@pytest.fixture
def clock():
    from bot.clock import ManualClock

    return ManualClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))


@pytest.fixture
async def core(database_url: str, settings_for, clock):
    """The app's core (dispatcher, database) without network; the schema is migrated."""
    from bot.app import CunzhanApp

    application = CunzhanApp(settings_for(database_url), clock=clock)
    yield application
    await application.db.dispose()


@pytest.fixture
async def app(database_url: str, settings_for):
    """A running app (web chat on a free port on 127.0.0.1)."""
    from bot.app import CunzhanApp

    application = CunzhanApp(settings_for(database_url))
    await application.start()
    yield application
    await application.stop()


async def issue_invite(
    db: Database, role: str, county: str | None = None, village: str | None = None, days: int = 7
) -> str:
    """An invite code made the way the CLI makes it."""
    from datetime import timedelta

    from storage.models import Role
    from storage.repositories import Repositories

    async with db.transaction() as session:
        code, _ = await Repositories.on(session).invites.issue(
            role=Role(role),
            now=datetime.now(UTC),
            valid_for=timedelta(days=days),
            county=county,
            village=village,
        )
    return code


# -- Telegram through the fake Bot API server ---------------------------------------------
TOKEN = "123456:TEST-TOKEN"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def fake():
    """A fake Telegram Bot API server on 127.0.0.1; the test fails if the bot broke a rule."""
    from tests.fakes.telegram_api_server import FakeTelegramServer

    async with FakeTelegramServer(TOKEN) as server:
        yield server
        assert server.errors == []


@pytest.fixture
async def telegram_app(fake, database_url, settings_for):
    """A running app with the Telegram channel polling the fake server."""
    from bot.app import CunzhanApp

    settings = settings_for(
        database_url, CUNZHAN_TELEGRAM_TOKEN=TOKEN, CUNZHAN_TELEGRAM_API_URL=fake.base_url
    )
    application = CunzhanApp(settings)
    await application.start()
    yield application
    await application.stop()
