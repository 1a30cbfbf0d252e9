"""Settings from the environment, and logs that never carry phone or ID numbers."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.logs import JsonFormatter, TextFormatter
from bot.settings import SettingsError, load_settings


def test_defaults_use_sqlite_in_workdir_and_local_http(tmp_path: Path) -> None:
    settings = load_settings({}, workdir=tmp_path)
    assert settings.database.url == f"sqlite+aiosqlite:///{tmp_path / 'cunzhan.sqlite3'}"
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 8080)
    assert settings.timezone == "Asia/Shanghai"
    assert not settings.telegram.enabled
    # A generated secret is kept, so option tokens survive restarts.
    assert load_settings({}, workdir=tmp_path).secret_key == settings.secret_key
    assert (tmp_path / ".cunzhan_secret").stat().st_mode & 0o077 == 0


def test_env_file_is_read_and_environment_wins(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / ".env").write_text("CUNZHAN_HTTP_PORT=9001\nCUNZHAN_TIMEZONE=UTC\n")
    monkeypatch.setenv("CUNZHAN_TIMEZONE", "Asia/Urumqi")
    settings = load_settings(workdir=tmp_path)
    assert settings.http.port == 9001
    assert settings.timezone == "Asia/Urumqi"


def test_postgres_url_gets_async_driver(tmp_path: Path) -> None:
    env = {"CUNZHAN_DATABASE_URL": "postgresql://u:p@127.0.0.1/db"}
    assert load_settings(env, workdir=tmp_path).database.url.startswith("postgresql+asyncpg://")


@pytest.mark.parametrize(
    "env",
    [
        {"CUNZHAN_HTTP_PORT": "eighty"},
        {"CUNZHAN_HTTP_PORT": "70000"},
        {"CUNZHAN_TELEGRAM_WEBHOOK_URL": "https://example.org/hook"},
    ],
)
def test_bad_settings_are_named(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="CUNZHAN_"):
        load_settings(env, workdir=tmp_path)


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {"name": "t", "levelno": 20, "levelname": "INFO", "msg": msg, "args": args}
    )
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_log_masks_phone_and_id_everywhere() -> None:
    line = JsonFormatter().format(
        _record("user %s wrote", "13812345678", note="id 11010519491231002X", user=3)
    )
    entry = json.loads(line)
    assert "13812345678" not in line and "11010519491231002X" not in line
    assert "138****5678" in entry["msg"]
    assert entry["user"] == 3
    text = TextFormatter().format(_record("tel 13987654321"))
    assert "13987654321" not in text
