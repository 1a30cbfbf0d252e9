"""The Telegram channel on python-telegram-bot: long polling, or a webhook on our server.

Updates become ``Incoming``; rendered replies become ``send_message`` calls with
inline keyboards. No Telegram object travels past this module.
"""

from __future__ import annotations

import hmac
import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.channels.base import (
    Capabilities,
    DeliveryResult,
    DeliveryStatus,
    OnIncoming,
    split_text,
)
from bot.channels.telegram_request import AiohttpRequest
from bot.messages import ContentKind, Incoming, Location, Rendered, Sender
from bot.parsing import clean_text, split_command
from bot.settings import TelegramSettings

if TYPE_CHECKING:
    from telegram import Bot

log = logging.getLogger("cunzhan.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]
MAX_WEBHOOK_BODY = 1024 * 1024


def api_urls(api_url: str | None) -> tuple[str, str]:
    """(base_url, base_file_url) for python-telegram-bot from CUNZHAN_TELEGRAM_API_URL."""
    if not api_url:
        return "https://api.telegram.org/bot", "https://api.telegram.org/file/bot"
    root = api_url.rstrip("/")
    if root.endswith("/bot"):
        root = root[: -len("/bot")]
    return f"{root}/bot", f"{root}/file/bot"


def keyboard(rendered: Rendered) -> InlineKeyboardMarkup | None:
    if not rendered.options:
        return None
    buttons = [InlineKeyboardButton(o.label, callback_data=o.token) for o in rendered.options]
    per_row = 2 if len(buttons) > 3 and max(len(o.label) for o in rendered.options) <= 8 else 1
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    return InlineKeyboardMarkup(rows)


PHOTO_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


async def send_file(bot: Bot, chat_id: int, rendered: Rendered) -> str:
    """The reply's attachment after its text: an image as a photo, anything else as a
    document; the message id."""
    item = rendered.attachment
    assert item is not None
    if item.mime_type in PHOTO_TYPES:
        message = await bot.send_photo(chat_id, photo=item.content, filename=item.filename)
    else:
        message = await bot.send_document(chat_id, document=item.content, filename=item.filename)
    return str(message.message_id)


def to_incoming(update: Update) -> Incoming | None:
    """The neutral form of an update, or None for what cunzhan does not handle."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE or user.is_bot:
        return None
    sender = Sender("telegram", str(user.id), user.full_name or "")
    if update.callback_query is not None:
        when = datetime.now(UTC)
        return Incoming(
            sender,
            ContentKind.OPTION,
            when,
            option=update.callback_query.data or "",
            message_id=update.callback_query.id,
        )
    message = update.message
    if message is None:
        return None
    when, message_id = message.date.astimezone(UTC), str(message.message_id)
    if message.text is not None:
        text = clean_text(message.text)
        command = split_command(text)
        if command is not None:
            return Incoming(
                sender,
                ContentKind.COMMAND,
                when,
                text=text,
                command=command[0],
                args=command[1],
                message_id=message_id,
            )
        return Incoming(sender, ContentKind.TEXT, when, text=text, message_id=message_id)
    if message.location is not None:
        where = Location(message.location.latitude, message.location.longitude)
        return Incoming(sender, ContentKind.LOCATION, when, location=where, message_id=message_id)
    kind = (
        ContentKind.PHOTO
        if message.photo
        else ContentKind.STICKER
        if message.sticker
        else ContentKind.VOICE
        if message.voice or message.audio
        else ContentKind.FILE
        if message.document
        else ContentKind.OTHER
    )
    return Incoming(
        sender, kind, when, text=clean_text(message.caption or ""), message_id=message_id
    )


class TelegramChannel:
    name = "telegram"
    capabilities = Capabilities(
        buttons=True, max_text_chars=4096, messages_per_second=30.0, per_chat_per_second=1.0
    )

    def __init__(self, settings: TelegramSettings) -> None:
        if not settings.token:
            raise ValueError("the Telegram channel needs CUNZHAN_TELEGRAM_TOKEN")
        self.settings = settings
        self._on_incoming: OnIncoming | None = None
        base_url, base_file_url = api_urls(settings.api_url)
        pool = max(1, settings.connection_pool_size)
        builder = (
            Application.builder()
            .token(settings.token)
            .base_url(base_url)
            .base_file_url(base_file_url)
            .request(AiohttpRequest(connection_pool_size=pool))
            .get_updates_request(AiohttpRequest(connection_pool_size=1, read_timeout=40.0))
            .concurrent_updates(max(1, settings.concurrent_updates))
        )
        if settings.webhook_url:
            builder = builder.updater(None)
        self.application: Application = builder.build()
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    @property
    def webhook_path(self) -> str | None:
        if not self.settings.webhook_url:
            return None
        return urlparse(self.settings.webhook_url).path or "/"

    def routes(self) -> list[web.AbstractRouteDef]:
        path = self.webhook_path
        return [web.post(path, self.webhook)] if path else []

    async def start(self, on_incoming: OnIncoming) -> None:
        self._on_incoming = on_incoming
        app = self.application
        await app.initialize()
        await app.start()
        if self.settings.webhook_url:
            await app.bot.set_webhook(
                self.settings.webhook_url,
                secret_token=self.settings.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            log.info("telegram webhook set", extra={"path": self.webhook_path})
        else:
            await app.bot.delete_webhook()
            assert app.updater is not None
            await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, poll_interval=0.0)
            log.info("telegram polling started")

    async def stop(self) -> None:
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def webhook(self, request: web.Request) -> web.Response:
        """Telegram's POST: refused unless it carries the configured secret header."""
        expected = (self.settings.webhook_secret or "").encode()
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not expected or not hmac.compare_digest(given, expected):
            log.warning("webhook refused: bad secret", extra={"remote": request.remote})
            return web.Response(status=403)
        if request.content_length is not None and request.content_length > MAX_WEBHOOK_BODY:
            return web.Response(status=413)
        try:
            payload = json.loads(await request.content.read(MAX_WEBHOOK_BODY + 1))
            update = Update.de_json(payload, self.application.bot)
        except (ValueError, TypeError, KeyError):
            log.warning("webhook refused: malformed update")
            return web.Response(status=400)
        await self.application.update_queue.put(update)
        return web.Response(status=200)

    async def _on_update(self, update: object, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        incoming = to_incoming(update)
        if incoming is None:
            return
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()
            except (BadRequest, NetworkError):
                log.info("callback answer failed", exc_info=True)
        assert self._on_incoming is not None
        rendered = await self._on_incoming(incoming)
        chat_id = update.effective_chat.id if update.effective_chat else None
        for item in rendered:
            result = await self.send(str(chat_id), item)
            if result.status is not DeliveryStatus.SENT:
                log.warning(
                    "reply not delivered",
                    extra={"status": result.status.value, "error": result.error},
                )

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram error", exc_info=context.error)

    async def send(self, address: str, rendered: Rendered) -> DeliveryResult:
        bot = self.application.bot
        pieces = split_text(rendered.text, self.capabilities.max_text_chars)
        ids: list[str] = []
        try:
            for index, piece in enumerate(pieces):
                last = index == len(pieces) - 1
                message = await bot.send_message(
                    chat_id=int(address),
                    text=piece,
                    reply_markup=keyboard(rendered) if last else None,
                )
                ids.append(str(message.message_id))
            if rendered.attachment is not None:
                ids.append(await send_file(bot, int(address), rendered))
        except RetryAfter as exc:
            retry = exc.retry_after
            seconds = retry.total_seconds() if hasattr(retry, "total_seconds") else float(retry)
            return DeliveryResult(DeliveryStatus.RETRY, retry_after=seconds, error=str(exc))
        except Forbidden as exc:
            return DeliveryResult(DeliveryStatus.BLOCKED, error=str(exc))
        except BadRequest as exc:
            status = (
                DeliveryStatus.BLOCKED
                if "chat not found" in str(exc).lower()
                else DeliveryStatus.FAILED
            )
            return DeliveryResult(status, error=str(exc))
        except TimedOut as exc:
            return DeliveryResult(DeliveryStatus.UNKNOWN, error=str(exc))
        except NetworkError as exc:
            return DeliveryResult(DeliveryStatus.RETRY, retry_after=5.0, error=str(exc))
        return DeliveryResult(DeliveryStatus.SENT, external_ids=tuple(ids))
