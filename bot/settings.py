"""Settings: read once at start from ``CUNZHAN_*`` environment variables (and ``.env``).

Grouped by concern as frozen dataclasses; nothing else in the project reads the
environment. ``load_settings`` is the only entry point.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

PREFIX = "CUNZHAN_"
DEFAULT_SQLITE_FILE = "cunzhan.sqlite3"
SECRET_FILE = ".cunzhan_secret"


class SettingsError(ValueError):
    """A setting has a value cunzhan cannot use; the message names it."""


@dataclass(frozen=True)
class DatabaseSettings:
    url: str


@dataclass(frozen=True)
class TelegramSettings:
    token: str | None = None
    api_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    connection_pool_size: int = 32
    concurrent_updates: int = 64

    @property
    def enabled(self) -> bool:
        return bool(self.token)


@dataclass(frozen=True)
class WechatSettings:
    token: str | None = None
    app_id: str | None = None
    app_secret: str | None = None
    aes_key: str | None = None
    api_url: str | None = None
    # Answer WeChat within this many ms; a slower handler's reply goes through the outbox.
    reply_budget_ms: int = 4000
    template_id: str | None = None  # template messages outside the 48-hour window

    @property
    def enabled(self) -> bool:
        return bool(self.token)


@dataclass(frozen=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8080


@dataclass(frozen=True)
class LimitSettings:
    """Per-user protections applied by the router's middleware."""

    flood_messages: int = 20
    flood_window_s: float = 10.0
    bind_failures: int = 5
    bind_lockout_s: float = 900.0
    invite_days: int = 7


@dataclass(frozen=True)
class DeliveryConfig:
    """The outbox worker: rows in flight, claim leases, retries and per-channel send rates.

    Rates are messages per second; 0 lifts a limit. ``telegram_paid_rate`` > 0 sends bulk
    rows as Telegram paid broadcasts at that rate instead of the ordinary overall rate.
    """

    concurrency: int = 32
    lease_s: float = 30.0
    max_attempts: int = 8
    telegram_rate: float = 30.0
    telegram_chat_rate: float = 1.0
    telegram_paid_rate: float = 0.0
    wechat_rate: float = 20.0
    broadcast_chunk: int = 500


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    wechat: WechatSettings = field(default_factory=WechatSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    timezone: str = "Asia/Shanghai"
    secret_key: str = ""
    # False when the key was generated beside the database rather than given in
    # CUNZHAN_SECRET_KEY: such a key must never guard ID numbers (the app refuses to start).
    secret_key_configured: bool = True
    log_level: str = "INFO"
    log_format: str = "json"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{name} must be a whole number, got {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{name} must be a number, got {raw!r}") from exc
    if not value >= minimum:
        raise SettingsError(f"{PREFIX}{name} must be at least {minimum}, got {raw!r}")
    return value


def _opt(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(PREFIX + name)
    return value.strip() if value and value.strip() else None


def _secret_key(env: Mapping[str, str], workdir: Path) -> str:
    """The configured key, or one generated once and kept beside the database."""
    configured = _opt(env, "SECRET_KEY")
    if configured:
        return configured
    path = workdir / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key


def load_settings(
    environ: Mapping[str, str] | None = None, *, workdir: Path | None = None
) -> Settings:
    """Read settings from ``environ`` (default: ``.env`` overlaid by the process environment)."""
    workdir = workdir or Path.cwd()
    if environ is None:
        env: dict[str, str] = {
            k: v for k, v in dotenv_values(workdir / ".env").items() if v is not None
        }
        env.update(os.environ)
    else:
        env = dict(environ)
    url = _opt(env, "DATABASE_URL") or f"sqlite+aiosqlite:///{workdir / DEFAULT_SQLITE_FILE}"
    webhook_url = _opt(env, "TELEGRAM_WEBHOOK_URL")
    webhook_secret = _opt(env, "TELEGRAM_WEBHOOK_SECRET")
    if webhook_url and not webhook_secret:
        raise SettingsError(
            f"{PREFIX}TELEGRAM_WEBHOOK_URL is set: {PREFIX}TELEGRAM_WEBHOOK_SECRET is required too"
        )
    aes_key = _opt(env, "WECHAT_AES_KEY")
    if aes_key and (len(aes_key) != 43 or not _opt(env, "WECHAT_APP_ID")):
        raise SettingsError(
            f"{PREFIX}WECHAT_AES_KEY must be the 43-character EncodingAESKey "
            f"and needs {PREFIX}WECHAT_APP_ID (safe mode checks the AppID)"
        )
    port = _int(env, "HTTP_PORT", 8080)
    if not 0 <= port <= 65535:
        raise SettingsError(f"{PREFIX}HTTP_PORT must be 0..65535, got {port}")
    return Settings(
        database=DatabaseSettings(url=normalise_database_url(url)),
        telegram=TelegramSettings(
            token=_opt(env, "TELEGRAM_TOKEN"),
            api_url=_opt(env, "TELEGRAM_API_URL"),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            connection_pool_size=_int(env, "TELEGRAM_POOL_SIZE", 32),
            concurrent_updates=_int(env, "TELEGRAM_CONCURRENT_UPDATES", 64),
        ),
        wechat=WechatSettings(
            token=_opt(env, "WECHAT_TOKEN"),
            app_id=_opt(env, "WECHAT_APP_ID"),
            app_secret=_opt(env, "WECHAT_APP_SECRET"),
            aes_key=aes_key,
            api_url=_opt(env, "WECHAT_API_URL"),
            reply_budget_ms=_int(env, "WECHAT_REPLY_BUDGET_MS", 4000),
            template_id=_opt(env, "WECHAT_TEMPLATE_ID"),
        ),
        http=HttpSettings(host=_opt(env, "HTTP_HOST") or "127.0.0.1", port=port),
        limits=LimitSettings(
            flood_messages=_int(env, "FLOOD_MESSAGES", 20),
            bind_failures=_int(env, "BIND_FAILURES", 5),
            invite_days=_int(env, "INVITE_DAYS", 7),
        ),
        delivery=DeliveryConfig(
            concurrency=max(1, _int(env, "DELIVERY_CONCURRENCY", 32)),
            lease_s=_float(env, "DELIVERY_LEASE_S", 30.0, minimum=0.5),
            max_attempts=max(1, _int(env, "DELIVERY_MAX_ATTEMPTS", 8)),
            telegram_rate=_float(env, "TELEGRAM_RATE", 30.0),
            telegram_chat_rate=_float(env, "TELEGRAM_CHAT_RATE", 1.0),
            telegram_paid_rate=_float(env, "TELEGRAM_PAID_RATE", 0.0),
            wechat_rate=_float(env, "WECHAT_RATE", 20.0),
            broadcast_chunk=max(1, _int(env, "BROADCAST_CHUNK", 500)),
        ),
        timezone=_opt(env, "TIMEZONE") or "Asia/Shanghai",
        secret_key=_secret_key(env, workdir),
        secret_key_configured=_opt(env, "SECRET_KEY") is not None,
        log_level=(_opt(env, "LOG_LEVEL") or "INFO").upper(),
        log_format=_opt(env, "LOG_FORMAT") or "json",
    )


def normalise_database_url(url: str) -> str:
    """Accept the plain driver names people write and use the async drivers."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url
