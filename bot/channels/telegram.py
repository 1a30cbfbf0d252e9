"""The Telegram channel on python-telegram-bot: long polling, or a webhook on our server.

Every update is committed to the inbox before Telegram is told it arrived (see
``TelegramChannel``). Updates become ``Incoming``; rendered replies become ``send_message``
calls with inline keyboards. No Telegram object travels past this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import aiohttp
from aiohttp import web
from telegram.constants import ChatType
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application

from bot.channels.base import (
    Capabilities,
    DeliveryResult,
    DeliveryStatus,
    OnIncoming,
    split_text,
)
from bot.channels.telegram_request import AiohttpRequest
from bot.clock import Clock, SystemClock
from bot.messages import ContentKind, Incoming, Location, Rendered, Sender, from_json
from bot.parsing import clean_name, clean_text, split_command
from bot.settings import TelegramSettings
from storage.db import Database
from storage.models import InboxStatus
from storage.repositories import InboxRepository

if TYPE_CHECKING:
    from telegram import Bot

log = logging.getLogger("cunzhan.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]
MAX_WEBHOOK_BODY = 1024 * 1024
POLL_TIMEOUT = 25  # seconds a getUpdates long poll waits for news
POLL_LIMIT = 100
REPLAY_PAGE = 500
REPLY_RETRIES = 2
REPLY_RETRY_CAP_S = 10.0
STOP_GRACE_S = 10.0
UPKEEP_EVERY_S = 5.0
REPLIED_BATCH_S = 0.1  # sent replies are recorded in batches this far apart
PURGE_EVERY_S = 3600.0
KEEP_HANDLED = timedelta(hours=48)  # Telegram redelivers an update for at most 24 h
KEY_DIGEST_CHARS = 16
KEEP_ROWS = 50_000  # never purged, whatever the clock says (it may have jumped forward)


def api_urls(api_url: str | None) -> tuple[str, str]:
    """(base_url, base_file_url) for python-telegram-bot from CUNZHAN_TELEGRAM_API_URL."""
    if not api_url:
        return "https://api.telegram.org/bot", "https://api.telegram.org/file/bot"
    root = api_url.rstrip("/")
    if root.endswith("/bot"):
        root = root[: -len("/bot")]
    return f"{root}/bot", f"{root}/file/bot"


def inbox_key(update: dict[str, Any]) -> str:
    """``update_id`` plus a digest of the update: a redelivery (the same update, byte for byte
    the same JSON) is recognised, while an id Telegram hands out again (it restarts ids at
    random after a week without updates) for a different update is not mistaken for it."""
    canonical = json.dumps(update, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:KEY_DIGEST_CHARS]
    return f"{update['update_id']}:{digest}"


def keyboard(rendered: Rendered) -> dict[str, Any] | None:
    """The inline keyboard of ``rendered`` as Bot API JSON (``reply_markup``), or None."""
    if not rendered.options:
        return None
    buttons = [{"text": o.label, "callback_data": o.token} for o in rendered.options]
    per_row = 2 if len(buttons) > 3 and max(len(o.label) for o in rendered.options) <= 8 else 1
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    return {"inline_keyboard": rows}


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


def chat_id_of(update: dict[str, Any]) -> int | None:
    """The chat an update came from (a message's, or a pressed button's message's)."""
    message = update.get("message")
    if message is None:
        message = (update.get("callback_query") or {}).get("message")
    chat = (message or {}).get("chat") or {}
    chat_id = chat.get("id")
    return chat_id if isinstance(chat_id, int) else None


def to_incoming(update: dict[str, Any]) -> Incoming | None:
    """The neutral form of an update (the Bot API's JSON, read directly: building
    python-telegram-bot's objects cost more than the rest of the adapter), or None for what
    cunzhan does not handle. A malformed update raises ValueError, TypeError or KeyError."""
    callback = update.get("callback_query")
    message = update.get("message")
    if callback is not None:
        user, chat = callback["from"], (callback.get("message") or {}).get("chat")
    elif message is not None:
        user, chat = message.get("from"), message["chat"]
    else:
        return None
    if user is None or chat is None or chat["type"] != ChatType.PRIVATE or user.get("is_bot"):
        return None
    last = user.get("last_name")
    full_name = f"{user['first_name']} {last}" if last else user["first_name"]
    sender = Sender("telegram", str(int(user["id"])), clean_name(str(full_name or "")))
    if callback is not None:
        return Incoming(
            sender,
            ContentKind.OPTION,
            datetime.now(UTC),
            option=str(callback.get("data") or ""),
            message_id=str(callback["id"]),
        )
    when = datetime.fromtimestamp(message["date"], UTC)
    message_id = str(int(message["message_id"]))
    text = message.get("text")
    if text is not None:
        text = clean_text(str(text))
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
    location = message.get("location")
    if location is not None:
        where = Location(float(location["latitude"]), float(location["longitude"]))
        return Incoming(sender, ContentKind.LOCATION, when, location=where, message_id=message_id)
    kind = (
        ContentKind.PHOTO
        if message.get("photo")
        else ContentKind.STICKER
        if message.get("sticker")
        else ContentKind.VOICE
        if message.get("voice") or message.get("audio")
        else ContentKind.FILE
        if message.get("document")
        else ContentKind.OTHER
    )
    caption = clean_text(str(message.get("caption") or ""))
    return Incoming(sender, kind, when, text=caption, message_id=message_id)


class TelegramChannel:
    """Receives through the inbox (polling or webhook) and sends through python-telegram-bot.

    Polling is cunzhan's own loop, not python-telegram-bot's Updater (which confirms a batch
    to Telegram before its handlers ran): a batch is committed to the inbox first, and only
    the next ``getUpdates`` (whose offset confirms it) comes after that commit. A webhook
    POST is answered 200 only after its commit. Rows are handled from the inbox, once; what
    a crash left unhandled, or handled with its replies unsent, is done again at start-up.
    """

    name = "telegram"
    capabilities = Capabilities(
        buttons=True, max_text_chars=4096, messages_per_second=30.0, per_chat_per_second=1.0
    )

    def __init__(
        self, settings: TelegramSettings, db: Database, clock: Clock | None = None
    ) -> None:
        if not settings.token:
            raise ValueError("the Telegram channel needs CUNZHAN_TELEGRAM_TOKEN")
        self.settings = settings
        self.db = db
        self.clock = clock or SystemClock()
        self._on_incoming: OnIncoming | None = None
        base_url, base_file_url = api_urls(settings.api_url)
        pool = max(1, settings.connection_pool_size)
        self._request = AiohttpRequest(connection_pool_size=pool)
        self._send_url = f"{base_url}{settings.token}/sendMessage"
        self._poll_session: aiohttp.ClientSession | None = None
        self.application: Application = (
            Application.builder()
            .token(settings.token)
            .base_url(base_url)
            .base_file_url(base_file_url)
            .request(self._request)
            .updater(None)
            .build()
        )
        self._slots = asyncio.Semaphore(max(1, settings.concurrent_updates))
        self._handling: set[asyncio.Task[None]] = set()
        self._replied: list[int] = []  # inbox rows whose replies went out, not yet recorded
        self._replied_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._last_purge = float("-inf")

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
        self._stopping = False
        await self.application.initialize()
        self._poll_session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=POLL_TIMEOUT + 15, connect=10)
        )
        bot = self.application.bot
        if self.settings.webhook_url:
            await bot.set_webhook(
                self.settings.webhook_url,
                secret_token=self.settings.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            log.info("telegram webhook set", extra={"path": self.webhook_path})
        else:
            await bot.delete_webhook()
        self._tasks.append(asyncio.create_task(self._run(), name="telegram-inbox"))
        self._tasks.append(asyncio.create_task(self._maintain(), name="telegram-inbox-upkeep"))

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._handling:
            _, late = await asyncio.wait(set(self._handling), timeout=STOP_GRACE_S)
            for task in late:
                task.cancel()  # rolled back: still ``received``, handled at the next start
            await asyncio.gather(*late, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._flush_replied()
        if self._poll_session is not None:
            await self._poll_session.close()
            self._poll_session = None
        await self.application.shutdown()

    # -- receiving -------------------------------------------------------------------------
    async def _run(self) -> None:
        """At start-up: finish what a crash interrupted, then poll (unless on a webhook)."""
        failures = 0
        while True:
            try:
                await self._recover()
                break
            except Exception as exc:  # a locked or unreachable database: try again
                failures += 1
                log.warning("inbox recovery failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(min(30.0, 0.5 * 2 ** min(failures, 6)))
        if not self.settings.webhook_url:
            await self._poll()

    async def _recover(self) -> None:
        """Forget old handled rows, resend unsent replies, hand out unhandled rows again (a
        row handed out twice is still handled once: the dispatcher claims it)."""
        await self._purge()
        await self._resend_unsent()
        after_id = 0
        while True:
            async with self.db.transaction() as session:
                rows = await InboxRepository(session).unhandled(
                    self.name, limit=REPLAY_PAGE, after_id=after_id
                )
                page = [(row.id, row.payload) for row in rows]
            if not page:
                return
            if after_id == 0:
                log.info("replaying unhandled updates", extra={"first_page": len(page)})
            for item_id, payload in page:
                await self._slots.acquire()
                self._spawn(item_id, payload, holds_slot=True)
            after_id = page[-1][0]

    async def _poll(self) -> None:
        offset: int | None = None
        failures = 0
        log.info("telegram polling started")
        while not self._stopping:
            try:
                batch = await self._get_updates(offset)
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except TimedOut:
                continue
            except TelegramError as exc:  # network trouble, 5xx, 409 Conflict
                failures += 1
                log.warning("getUpdates failed", extra={"error": str(exc), "failures": failures})
                await asyncio.sleep(min(30.0, 0.5 * 2 ** min(failures, 6)))
                continue
            failures = 0
            if not batch:
                continue
            try:
                new = await self._record(batch)
            except Exception as exc:
                # Not recorded, so not confirmed either: the same batch comes again.
                log.warning("inbox write failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(1.0)
                continue
            offset = max(int(u["update_id"]) for u in batch) + 1
            for item_id, payload in new:
                await self._slots.acquire()
                self._spawn(item_id, payload, holds_slot=True)

    async def _get_updates(self, offset: int | None) -> list[dict[str, Any]]:
        """One long poll; its ``offset`` confirms to Telegram every update below it."""
        params: dict[str, Any] = {
            "timeout": POLL_TIMEOUT,
            "limit": POLL_LIMIT,
            "allowed_updates": ALLOWED_UPDATES,
        }
        if offset is not None:
            params["offset"] = offset
        assert self._poll_session is not None
        url = f"{self.application.bot.base_url}/getUpdates"
        try:
            async with self._poll_session.post(url, json=params) as response:
                answer = await response.json(content_type=None)
        except TimeoutError as exc:
            raise TimedOut("getUpdates timed out") from exc
        except (aiohttp.ClientError, ValueError) as exc:
            raise NetworkError(f"getUpdates: {type(exc).__name__}") from exc
        if not isinstance(answer, dict) or not answer.get("ok"):
            answer = answer if isinstance(answer, dict) else {}
            retry = (answer.get("parameters") or {}).get("retry_after")
            if retry is not None:
                raise RetryAfter(int(retry))
            raise NetworkError(f"getUpdates: {answer.get('description', 'no answer')}")
        result = answer.get("result")
        if not isinstance(result, list):
            return []
        return [u for u in result if isinstance(u, dict) and isinstance(u.get("update_id"), int)]

    async def _record(self, batch: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
        """Commit ``batch`` to the inbox; the (row id, payload) of the updates that are new."""
        replied, self._replied = self._replied, []
        try:
            async with self.db.transaction() as session:
                inbox = InboxRepository(session)
                keys = [inbox_key(u) for u in batch]
                ids = await inbox.add_many(
                    self.name, list(zip(keys, batch, strict=True)), self.clock.now()
                )
                await inbox.replies_sent(replied)
        except BaseException:
            self._replied.extend(replied)
            raise
        return [(ids[k], u) for k, u in zip(keys, batch, strict=True) if k in ids]

    async def webhook(self, request: web.Request) -> web.Response:
        """Telegram's POST: refused unless it carries the configured secret header; answered
        200 only once the update is committed to the inbox (else Telegram sends it again)."""
        expected = (self.settings.webhook_secret or "").encode()
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not expected or not hmac.compare_digest(given, expected):
            log.warning("webhook refused: bad secret", extra={"remote": request.remote})
            return web.Response(status=403)
        if self._on_incoming is None or self._stopping:
            return web.Response(status=503)  # not started yet, or stopping: Telegram retries
        if request.content_length is not None and request.content_length > MAX_WEBHOOK_BODY:
            return web.Response(status=413)
        try:
            body = await request.content.read(MAX_WEBHOOK_BODY + 1)
            if len(body) > MAX_WEBHOOK_BODY:
                return web.Response(status=413)
            payload = json.loads(body)
            if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
                raise ValueError("not an update")
        except (ValueError, UnicodeDecodeError):
            log.warning("webhook refused: malformed update")
            return web.Response(status=400)
        try:
            new = await self._record([payload])
        except Exception as exc:
            log.warning("inbox write failed", extra={"error": type(exc).__name__})
            return web.Response(status=503)  # not acknowledged: Telegram delivers it again
        for item_id, update in new:
            self._spawn(item_id, update, holds_slot=False)
        return web.Response(status=200)

    # -- handling --------------------------------------------------------------------------
    def _spawn(self, item_id: int, payload: dict[str, Any], *, holds_slot: bool) -> None:
        task = asyncio.create_task(self._handle(item_id, payload, holds_slot))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _handle(self, item_id: int, payload: dict[str, Any], holds_slot: bool) -> None:
        if not holds_slot:
            await self._slots.acquire()
        try:
            await self._handle_row(item_id, payload)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("update not handled", extra={"inbox_id": item_id})
        finally:
            self._slots.release()

    async def _handle_row(self, item_id: int, payload: dict[str, Any]) -> None:
        try:
            incoming, readable = to_incoming(payload), True
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("unreadable update", extra={"inbox_id": item_id})
            incoming, readable = None, False
        if incoming is None:
            async with self.db.transaction() as session:
                status = InboxStatus.HANDLED if readable else InboxStatus.FAILED
                await InboxRepository(session).claim(item_id, now=self.clock.now(), status=status)
            return
        if incoming.kind is ContentKind.OPTION:
            try:
                await self.application.bot.answer_callback_query(incoming.message_id or "")
            except (BadRequest, NetworkError) as exc:  # too old after a restart: still handled
                log.info("callback answer failed", extra={"error": str(exc)})
        assert self._on_incoming is not None
        rendered = await self._on_incoming(incoming, inbox_id=item_id)
        if rendered:
            await self._reply(item_id, str(chat_id_of(payload)), rendered)

    async def _reply(self, item_id: int, address: str, rendered: list[Rendered]) -> None:
        for item in rendered:
            result = await self.send(address, item)
            for _ in range(REPLY_RETRIES):
                if result.status is not DeliveryStatus.RETRY:
                    break
                await asyncio.sleep(min(REPLY_RETRY_CAP_S, result.retry_after or 1.0))
                result = await self.send(address, item)
            if result.status is not DeliveryStatus.SENT:
                # unknown (timed out) is never resent: it may have arrived
                log.warning(
                    "reply not delivered",
                    extra={"status": result.status.value, "error": result.error},
                )
        self._replied.append(item_id)
        self._replied_event.set()

    async def _resend_unsent(self) -> None:
        """Replies of rows handled just before a crash, which may not have gone out."""
        async with self.db.transaction() as session:
            rows = await InboxRepository(session).unsent_replies(self.name)
            pending = [(row.id, row.payload, row.replies or []) for row in rows]
        for item_id, payload, replies in pending:
            chat_id = chat_id_of(payload)
            if chat_id is None:
                self._replied.append(item_id)
                continue
            await self._reply(item_id, str(chat_id), [from_json(r) for r in replies])
        if pending:
            log.info("replies resent after restart", extra={"rows": len(pending)})
            await self._flush_replied()

    async def _flush_replied(self) -> None:
        replied, self._replied = self._replied, []
        if not replied:
            return
        try:
            async with self.db.transaction() as session:
                await InboxRepository(session).replies_sent(replied)
        except BaseException:
            self._replied.extend(replied)
            raise

    async def _purge(self) -> None:
        self._last_purge = time.monotonic()
        async with self.db.transaction() as session:
            await InboxRepository(session).purge(
                handled_before=self.clock.now() - KEEP_HANDLED, keep_last=KEEP_ROWS
            )

    async def _maintain(self) -> None:
        """Records sent replies soon after they went out (a crash before that resends them);
        forgets handled updates after 48 h."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(UPKEEP_EVERY_S):
                    await self._replied_event.wait()
            self._replied_event.clear()
            await asyncio.sleep(REPLIED_BATCH_S)
            try:
                await self._flush_replied()
                if time.monotonic() - self._last_purge > PURGE_EVERY_S:
                    await self._purge()
            except Exception as exc:
                log.warning("inbox upkeep failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(1.0)

    async def send(self, address: str, rendered: Rendered) -> DeliveryResult:
        return await self._send(address, rendered, paid=False)

    async def send_paid(self, address: str, rendered: Rendered) -> DeliveryResult:
        """A bulk send as a paid broadcast (``allow_paid_broadcast``: a higher rate limit
        for Telegram Stars); the outbox worker calls it when a paid rate is configured."""
        return await self._send(address, rendered, paid=True)

    async def _send(self, address: str, rendered: Rendered, *, paid: bool) -> DeliveryResult:
        pieces = split_text(rendered.text, self.capabilities.max_text_chars)
        ids: list[str] = []
        try:
            for index, piece in enumerate(pieces):
                last = index == len(pieces) - 1
                payload: dict[str, Any] = {"chat_id": int(address), "text": piece}
                markup = keyboard(rendered) if last else None
                if markup is not None:
                    payload["reply_markup"] = markup
                if paid:
                    payload["allow_paid_broadcast"] = True
                ids.append(await self._send_message(payload))
            if rendered.attachment is not None:
                ids.append(await send_file(self.application.bot, int(address), rendered))
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
            return DeliveryResult(DeliveryStatus.RETRY, error=str(exc))  # worker backs off
        return DeliveryResult(DeliveryStatus.SENT, external_ids=tuple(ids))

    async def _send_message(self, payload: dict[str, Any]) -> str:
        """sendMessage as one JSON POST (python-telegram-bot's object round trip costs more
        than the request at outbox rates); errors are raised as python-telegram-bot's."""
        status, body = await self._request.post_json(self._send_url, payload)
        if body.get("ok"):
            return str(body["result"]["message_id"])
        description = str(body.get("description") or f"HTTP {status}")
        code = int(body.get("error_code") or status)
        if code == 429:
            retry_after = (body.get("parameters") or {}).get("retry_after", 1)
            raise RetryAfter(retry_after)
        if code == 403:
            raise Forbidden(description)
        if 400 <= code < 500:
            raise BadRequest(description)
        raise NetworkError(description)


def _seconds(value: object) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)  # type: ignore[arg-type]
