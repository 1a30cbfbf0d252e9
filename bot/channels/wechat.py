"""The WeChat Official Account channel (公众号): WeChat's signed XML on our HTTP server.

``GET /wechat`` answers WeChat's URL verification; ``POST /wechat`` receives messages
in plain or safe mode (AES, when ``CUNZHAN_WECHAT_AES_KEY`` is set: then a body without
<Encrypt> is refused). Before anything is parsed or handled a request must carry a valid
signature (constant-time), a timestamp at most 300 s away, a nonce not seen in that
window, a body of at most 1 MiB and no <!DOCTYPE; XML is read with defusedxml.

WeChat waits 5 s for an answer and retries a message three times. Every message is
recorded once in the inbox (key MsgId, or FromUserName+CreateTime for events); a retry is
answered "success" and never handled again. A handler still running after the reply
budget (4 s) gets an empty "success" answered for it, and its replies go out later as
customer-service messages through the outbox. Options become numbered lines (the
renderer's ``numbered``) and a reply of the number chooses the option. Customer-service
messages can only go to a person who wrote in the last 48 hours: outside that window
``send`` answers HELD without calling WeChat (or sends template messages when a
template id is configured).

Crash safety: a message is claimed in its handler's transaction (the dispatcher's
``inbox_id``) and its rendered replies are kept on the inbox row until they were answered
in the HTTP reply or written to the outbox. At start-up the channel sends the kept replies
of rows handled just before a crash, then handles the rows recorded but never handled (the
process died after WeChat got its "success", and WeChat will not retry); their replies go
through the outbox as customer-service messages, like a slow handler's.

One process serves the webhook: the nonces seen, the messages being handled and the
numbered choices last shown to each person live in its memory (after a restart a bare
number is read as text until the next numbered list).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from xml.etree.ElementTree import Element, ParseError

from aiohttp import web
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.channels.base import (
    Capabilities,
    DeliveryResult,
    DeliveryStatus,
    OnIncoming,
    split_text,
)
from bot.channels.inbox_writer import InboxWriter
from bot.channels.wechat_api import WechatApi
from bot.channels.wechat_crypto import (
    WechatCipher,
    WechatCryptoError,
    signature,
    signature_ok,
)
from bot.clock import Clock
from bot.messages import (
    ContentKind,
    Incoming,
    Location,
    Rendered,
    RenderedOption,
    Sender,
    from_json,
)
from bot.parsing import clean_text, split_command
from bot.render import Renderer
from bot.settings import WechatSettings
from storage.db import Database
from storage.models import InboxStatus, Priority
from storage.repositories import Repositories
from storage.repositories.inbox import InboxRepository

log = logging.getLogger("cunzhan.wechat")

PATH = "/wechat"
MAX_BODY_BYTES = 1024 * 1024
MAX_AGE_S = 300
WINDOW = timedelta(hours=48)
MAX_FIELDS = 64
MAX_CHOICES_REMEMBERED = 100_000
CHOICE_RE = re.compile(r"\d{1,2}")
DOCTYPE = b"<!doctype"
SUCCESS = "success"
REPLAY_PAGE = 100


class Refused(Exception):
    """A request refused before anything handled it: ``status`` and a log reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class _Pending:
    """A message being handled; retries of it find this and are answered ``success``."""

    task: asyncio.Task[list[Rendered] | None]
    openid: str
    key: str
    deferred: bool = False  # its request was answered empty: replies go through the outbox
    settled: bool = False
    item_id: int | None = None  # its inbox row, once recorded


@dataclass(frozen=True)
class Parsed:
    """One message from WeChat, after the checks: its fields and what the bot makes of it."""

    fields: dict[str, str]
    openid: str
    account: str
    key: str
    incoming: Incoming | None = None
    heard: str | None = None  # what WeChat recognised in a voice message
    unsubscribe: bool = False


@dataclass
class _Nonces:
    """Nonces seen recently, oldest first; kept for twice ``MAX_AGE_S`` because a
    timestamp is accepted up to that far on either side of now."""

    order: deque[tuple[float, str]] = field(default_factory=deque)
    seen: set[str] = field(default_factory=set)

    def add(self, nonce: str, now: float) -> bool:
        """False if ``nonce`` was used within the window (a replay)."""
        while self.order and now - self.order[0][0] > MAX_AGE_S * 2:
            self.seen.discard(self.order.popleft()[1])
        if nonce in self.seen:
            return False
        self.seen.add(nonce)
        self.order.append((now, nonce))
        return True


def outbox_rows(rendered: Sequence[Rendered]) -> list[Rendered]:
    """Replies as customer-service messages: the merged text, then each attachment."""
    message, files = merge(rendered)
    return [message, *files] if message.text else files


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def merge(rendered: Sequence[Rendered]) -> tuple[Rendered, list[Rendered]]:
    """Several replies as the one text message WeChat lets a passive reply be (all
    options numbered at its end), and each attachment as a message of its own."""
    texts = [r.text for r in rendered if r.text]
    options = tuple(o for r in rendered for o in r.options)
    files = [Rendered("", attachment=r.attachment) for r in rendered if r.attachment is not None]
    return Rendered("\n\n".join(texts), options), files


class WechatChannel:
    name = "wechat"
    # 500 characters stay inside WeChat's 2,048-byte text limit even in 4-byte characters.
    # reply_window_s tells the outbox worker to hold rows for people outside the 48 hours
    # (released when they write again) unless template messages can reach them.
    capabilities = Capabilities(
        buttons=False,
        max_text_chars=500,
        messages_per_second=20.0,
        reply_window_s=WINDOW.total_seconds(),
    )

    def __init__(
        self,
        settings: WechatSettings,
        renderer: Renderer,
        db: Database,
        clock: Clock,
        *,
        api: WechatApi | None = None,
    ) -> None:
        if not settings.token:
            raise ValueError("the WeChat channel needs CUNZHAN_WECHAT_TOKEN")
        self.settings = settings
        self.renderer = renderer
        self.db = db
        self.clock = clock
        self.api = api or WechatApi(settings)
        self.cipher = (
            WechatCipher(settings.aes_key, settings.app_id or "") if settings.aes_key else None
        )
        self.reply_budget_s = settings.reply_budget_ms / 1000.0
        self.on_enqueued: Callable[[], None] | None = None  # wakes the delivery worker
        self._on_incoming: OnIncoming | None = None
        self._nonces = _Nonces()
        self._pending: dict[str, _Pending] = {}
        self._choices: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._late: set[asyncio.Task[None]] = set()
        self._recovery: asyncio.Task[None] | None = None
        self.recovered = asyncio.Event()  # set once start-up recovery has finished
        self.inbox = InboxWriter(db, self.name, clock)

    @property
    def safe_mode(self) -> bool:
        return self.cipher is not None

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.get(PATH, self.verify), web.post(PATH, self.receive)]

    async def start(self, on_incoming: OnIncoming) -> None:
        self._on_incoming = on_incoming
        self.inbox.start()
        started = self.clock.now()
        self._recovery = asyncio.create_task(
            self._recover_loop(started), name="wechat-inbox-replay"
        )

    async def stop(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()  # a replayed row cut short stays received: next start
            await asyncio.gather(self._recovery, return_exceptions=True)
            self._recovery = None
        for pending in list(self._pending.values()):
            if not pending.task.done():
                await asyncio.wait({pending.task}, timeout=5.0)
        if self._late:
            await asyncio.wait(set(self._late), timeout=5.0)
        await self.inbox.stop()
        await self.api.close()

    # -- checks before anything is handled ----------------------------------------------
    def _check_time_and_signature(self, request: web.Request) -> tuple[str, str]:
        query = request.query
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not timestamp.isascii() or not timestamp.isdigit() or not nonce or len(nonce) > 64:
            raise Refused(403, "missing timestamp or nonce")
        age = self.clock.now().timestamp() - int(timestamp)
        if abs(age) > MAX_AGE_S:
            raise Refused(403, "stale timestamp")
        given = query.get("signature", "")
        if not signature_ok((self.settings.token or "", timestamp, nonce), given):
            raise Refused(403, "bad signature")
        return timestamp, nonce

    def _remember_nonce(self, nonce: str) -> None:
        if not self._nonces.add(nonce, time.monotonic()):
            raise Refused(403, "replayed nonce")

    async def _read_body(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise Refused(413, "body too large")
        body = await request.content.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            raise Refused(413, "body too large")
        return body

    @staticmethod
    def _xml(data: bytes) -> dict[str, str]:
        """The child elements of WeChat's flat <xml> document, read without DTDs or entities.

        Any <!DOCTYPE before the root is refused outright; anywhere else it is either
        text inside CDATA (a person typed it) or malformed XML the parser refuses."""
        root_at = data.find(b"<xml")
        prolog = data if root_at < 0 else data[:root_at]
        if DOCTYPE in prolog.lower():
            raise Refused(400, "doctype in body")
        try:
            root: Element = fromstring(
                data, forbid_dtd=True, forbid_entities=True, forbid_external=True
            )
        except (DefusedXmlException, ParseError, ValueError) as exc:
            raise Refused(400, f"malformed xml ({type(exc).__name__})") from exc
        if root.tag != "xml" or len(root) > MAX_FIELDS:
            raise Refused(400, "unexpected xml shape")
        return {child.tag: (child.text or "").strip() for child in root}

    async def _checked_fields(self, request: web.Request) -> dict[str, str]:
        timestamp, nonce = self._check_time_and_signature(request)
        body = await self._read_body(request)
        outer = self._xml(body)
        if self.cipher is not None:
            encrypted = outer.get("Encrypt")
            if not encrypted or request.query.get("encrypt_type") != "aes":
                raise Refused(400, "plain body in safe mode")
            given = request.query.get("msg_signature", "")
            token = self.settings.token or ""
            if not signature_ok((token, timestamp, nonce, encrypted), given):
                raise Refused(403, "bad msg_signature")
            self._remember_nonce(nonce)
            try:
                inner = self.cipher.decrypt(encrypted)
            except WechatCryptoError as exc:
                raise Refused(400, f"undecryptable: {exc}") from exc
            return self._xml(inner.encode("utf-8"))
        self._remember_nonce(nonce)
        return outer

    # -- HTTP ---------------------------------------------------------------------------
    async def verify(self, request: web.Request) -> web.Response:
        """WeChat's server verification: echo ``echostr`` when the signature is right."""
        try:
            _, nonce = self._check_time_and_signature(request)
            self._remember_nonce(nonce)
        except Refused as exc:
            return self._refuse(request, exc)
        return web.Response(text=request.query.get("echostr", ""), content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        try:
            fields = await self._checked_fields(request)
            parsed = self.parse(fields)
        except Refused as exc:
            return self._refuse(request, exc)
        if parsed.unsubscribe:
            await self._unsubscribe(parsed)
            return self._success()
        if parsed.incoming is None:
            return self._success()
        if parsed.key in self._pending:
            log.info("retry of a message being handled", extra={"kind": parsed.fields["MsgType"]})
            return self._success()
        if self._on_incoming is None:
            return web.Response(status=503)
        task = asyncio.create_task(self._handle(parsed))
        pending = _Pending(task, parsed.openid, parsed.key)
        self._pending[parsed.key] = pending  # before the task first runs: it finds itself here
        task.add_done_callback(lambda _t: self._settle(pending))
        try:
            result = await asyncio.wait_for(asyncio.shield(task), self.reply_budget_s)
        except TimeoutError:
            self._defer(pending)
            log.info("handler slower than the reply budget; replying via the outbox")
            return self._success()
        except asyncio.CancelledError:
            self._defer(pending)
            raise
        except Exception:
            log.exception("wechat message could not be recorded")
            return web.Response(status=500)
        if result is None:
            return self._success()
        if pending.item_id is not None:
            await self.inbox.finish(pending.item_id, InboxStatus.HANDLED)  # answered here
        return self._passive(parsed, result)

    def _refuse(self, request: web.Request, exc: Refused) -> web.Response:
        extra = {"reason": exc.reason, "remote": request.remote}
        log.warning("wechat request refused", extra=extra)
        return web.Response(status=exc.status)

    @staticmethod
    def _success() -> web.Response:
        return web.Response(text=SUCCESS, content_type="text/plain")

    # -- from WeChat's fields to Incoming -------------------------------------------------
    def parse(self, f: dict[str, str]) -> Parsed:
        openid, account = f.get("FromUserName", ""), f.get("ToUserName", "")
        kind = f.get("MsgType")
        if not openid or not account or not kind or len(openid) > 128:
            raise Refused(400, "message without sender, recipient or type")
        try:
            created = datetime.fromtimestamp(int(f.get("CreateTime", "")), UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise Refused(400, "bad CreateTime") from exc
        msg_id = f.get("MsgId") or ""
        key = msg_id if msg_id else f"{openid}:{f.get('CreateTime')}:{f.get('Event', kind)}"
        base = {"fields": f, "openid": openid, "account": account, "key": key[:128]}
        sender = Sender(self.name, openid)
        mid = msg_id or None

        def make(kind: ContentKind, **extra: object) -> Incoming:
            return Incoming(sender, kind, created, message_id=mid, **extra)  # type: ignore[arg-type]

        if kind == "text":
            return Parsed(**base, incoming=self._text(sender, created, mid, f.get("Content", "")))
        if kind == "voice":
            heard = clean_text(f.get("Recognition", "")).rstrip("。！？!?.")
            if heard:
                incoming = self._text(sender, created, mid, heard)
                return Parsed(**base, incoming=incoming, heard=heard)
            return Parsed(**base, incoming=make(ContentKind.VOICE))
        if kind == "image":
            return Parsed(**base, incoming=make(ContentKind.PHOTO))
        if kind == "location":
            try:
                where = Location(float(f.get("Location_X", "")), float(f.get("Location_Y", "")))
            except ValueError as exc:
                raise Refused(400, "bad location") from exc
            label = clean_text(f.get("Label", ""))[:200]
            return Parsed(**base, incoming=make(ContentKind.LOCATION, location=where, text=label))
        if kind == "link":
            return Parsed(**base, incoming=make(ContentKind.OTHER, text=f.get("Title", "")[:200]))
        if kind == "event":
            return self._event(base, sender, created, f)
        return Parsed(**base, incoming=make(ContentKind.OTHER))

    def _text(self, sender: Sender, created: datetime, mid: str | None, raw: str) -> Incoming:
        text = clean_text(raw)
        choices = self._choices.get(sender.external_id)
        if choices and CHOICE_RE.fullmatch(text) and 1 <= int(text) <= len(choices):
            option = choices[int(text) - 1]
            return Incoming(sender, ContentKind.OPTION, created, option=option, message_id=mid)
        command = split_command(text)
        if command is not None:
            return Incoming(
                sender,
                ContentKind.COMMAND,
                created,
                text=text,
                command=command[0],
                args=command[1],
                message_id=mid,
            )
        return Incoming(sender, ContentKind.TEXT, created, text=text, message_id=mid)

    def _event(
        self, base: dict[str, object], sender: Sender, created: datetime, f: dict[str, str]
    ) -> Parsed:
        event = f.get("Event", "").lower()
        if event == "unsubscribe":
            return Parsed(**base, unsubscribe=True)  # type: ignore[arg-type]
        command: str | None = None
        if event == "subscribe":
            command = "/start"
        elif event == "click":
            key = f.get("EventKey", "").strip()
            command = key if key.startswith("/") else f"/{key}"
        parsed = split_command(command) if command else None
        if parsed is None:
            return Parsed(**base)  # type: ignore[arg-type]
        incoming = Incoming(
            sender,
            ContentKind.COMMAND,
            created,
            text=command or "",
            command=parsed[0],
            args=parsed[1],
        )
        return Parsed(**base, incoming=incoming)  # type: ignore[arg-type]

    # -- handling, on time or late ------------------------------------------------------
    async def _handle(self, parsed: Parsed) -> list[Rendered] | None:
        """Record the message once, then handle it; None if it was a retry.

        A message recorded but never handled (the process died while handling it; this
        process is not handling it, or the retry would have met it in ``_pending``) is
        handled when WeChat retries it or at the next start-up, once: the dispatcher
        claims the row in the message's transaction."""
        recorded = await self.inbox.record(parsed.key, {"fields": parsed.fields})
        if not recorded.new and recorded.status != InboxStatus.RECEIVED.value:
            log.info("retry of a message handled before", extra={"key": parsed.key})
            return None
        pending = self._pending.get(parsed.key)
        if pending is not None:
            pending.item_id = recorded.item_id
        return await self._run_handler(parsed, recorded.item_id)

    async def _run_handler(self, parsed: Parsed, item_id: int) -> list[Rendered]:
        """The dispatcher marks the row handled with the message, keeping its replies on it
        until they are answered or enqueued; a handler that raised marks it failed."""
        assert self._on_incoming is not None and parsed.incoming is not None
        try:
            rendered = await self._on_incoming(parsed.incoming, inbox_id=item_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            await self.inbox.finish(item_id, InboxStatus.FAILED)
            raise
        if parsed.heard:
            heard = Rendered(self.renderer.text("wechat/heard", {"text": parsed.heard}))
            rendered = [heard, *rendered]
        return rendered

    def _defer(self, pending: _Pending) -> None:
        pending.deferred = True
        if pending.task.done():
            self._settle(pending)

    def _settle(self, pending: _Pending) -> None:
        """Called when the handler finished: late replies go to the outbox."""
        self._pending.pop(pending.key, None)
        if not pending.deferred or pending.settled:
            return
        pending.settled = True
        task = pending.task
        if task.cancelled() or task.exception() is not None:
            if not task.cancelled():
                log.error("late wechat message failed", exc_info=task.exception())
            return
        result = task.result()
        if result:
            self._enqueue_later(pending.openid, pending.key, outbox_rows(result), pending.item_id)

    def _enqueue_later(
        self, openid: str, key: str, rendered: list[Rendered], item_id: int | None = None
    ) -> None:
        late = asyncio.create_task(self._enqueue(openid, key, rendered, item_id))
        self._late.add(late)
        late.add_done_callback(self._late.discard)

    async def _enqueue(
        self, openid: str, key: str, rendered: list[Rendered], item_id: int | None = None
    ) -> None:
        """Replies that could not be given in the HTTP answer become outbox rows (the same
        rows however often this runs: dedupe keys); the inbox row ``item_id`` stops keeping
        them in the same transaction."""
        async with self.db.transaction() as session:
            repos = Repositories.on(session)
            if item_id is not None:
                await repos.inbox.replies_sent([item_id])
            identity = await repos.users.identity(self.name, openid)
            user_id = identity.user_id if identity is not None else None
            for index, item in enumerate(rendered):
                blob_id = None
                if item.attachment is not None:
                    a = item.attachment
                    blob_id = await repos.outbox.put_blob(a.filename, a.mime_type, a.content)
                await repos.outbox.enqueue(
                    user_id=user_id,
                    channel=self.name,
                    address=openid,
                    text=item.text,
                    options=[{"label": o.label, "token": o.token} for o in item.options],
                    now=self.clock.now(),
                    kind="reply",
                    priority=Priority.DIRECT,
                    dedupe_key=f"wechat:{key}:{index}",
                    blob_id=blob_id,
                )
        if self.on_enqueued is not None:
            self.on_enqueued()

    async def _unsubscribe(self, parsed: Parsed) -> None:
        async with self.db.transaction() as session:
            await Repositories.on(session).users.mark_unreachable(
                self.name, parsed.openid, self.clock.now()
            )
        self._choices.pop(parsed.openid, None)

    # -- replies ------------------------------------------------------------------------
    # -- start-up: what a crash interrupted --------------------------------------------
    async def _recover_loop(self, started: datetime) -> None:
        failures = 0
        while True:
            try:
                await self._recover(started)
                self.recovered.set()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a locked or unreachable database: try again
                failures += 1
                log.warning("inbox recovery failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(min(30.0, 0.5 * 2 ** min(failures, 6)))

    async def _recover(self, started: datetime) -> None:
        """Enqueue the kept replies of rows handled just before a crash (recorded before
        ``started``: this process's own rows are being answered now), then handle the rows
        never handled, oldest first; their replies go through the outbox."""
        async with self.db.transaction() as session:
            unsent = await InboxRepository(session).unsent_replies(self.name)
            kept = [
                (row.id, row.key, row.payload, row.replies or [])
                for row in unsent
                if row.received_at < started
            ]
        for item_id, key, payload, replies in kept:
            openid = str((payload.get("fields") or {}).get("FromUserName") or "")
            rows = outbox_rows([from_json(r) for r in replies]) if openid else []
            await self._enqueue(openid, key, rows, item_id)
        after_id = 0
        while True:
            async with self.db.transaction() as session:
                rows = await InboxRepository(session).unhandled(
                    self.name, limit=REPLAY_PAGE, after_id=after_id
                )
                page = [(row.id, row.key, row.payload) for row in rows]
            if not page:
                return
            log.info("replaying unhandled wechat messages", extra={"rows": len(page)})
            for item_id, key, payload in page:
                await self._replay(item_id, key, payload)
            after_id = page[-1][0]

    async def _replay(self, item_id: int, key: str, payload: dict[str, object]) -> None:
        fields = payload.get("fields")
        try:
            if not isinstance(fields, dict):
                raise Refused(400, "no fields kept")
            parsed = self.parse({str(k): str(v) for k, v in fields.items()})
        except Refused as exc:
            log.warning("unreadable inbox row", extra={"inbox_id": item_id, "reason": exc.reason})
            await self.inbox.finish(item_id, InboxStatus.FAILED)
            return
        if parsed.incoming is None or parsed.key in self._pending:
            if parsed.incoming is None:
                await self.inbox.finish(item_id, InboxStatus.HANDLED)
            return
        pending = _Pending(
            asyncio.create_task(self._run_handler(parsed, item_id)),
            parsed.openid,
            parsed.key,
            deferred=True,  # WeChat was answered before the crash: replies via the outbox
            item_id=item_id,
        )
        self._pending[parsed.key] = pending
        pending.task.add_done_callback(lambda _t: self._settle(pending))
        await asyncio.wait({pending.task})

    def _words(self, openid: str, rendered: Rendered) -> list[str]:
        """The message as pieces within WeChat's limit, options numbered and remembered."""
        text = rendered.text
        if rendered.options:
            text = self.renderer.numbered(text, [o.label for o in rendered.options])
        self._remember_choices(openid, rendered.options)
        return split_text(text, self.capabilities.max_text_chars)

    def _remember_choices(self, openid: str, options: tuple[RenderedOption, ...]) -> None:
        if not options:
            self._choices.pop(openid, None)
            return
        self._choices[openid] = tuple(o.token for o in options)
        self._choices.move_to_end(openid)
        while len(self._choices) > MAX_CHOICES_REMEMBERED:
            self._choices.popitem(last=False)

    def _passive(self, parsed: Parsed, rendered: list[Rendered]) -> web.Response:
        if not rendered:
            return self._success()
        message, files = merge(rendered)
        if not message.text:
            if files:
                self._enqueue_later(parsed.openid, parsed.key, files)
            return self._success()
        pieces = self._words(parsed.openid, message)
        if len(pieces) > 1 or files:
            rest = [*(Rendered(p) for p in pieces[1:]), *files]
            self._enqueue_later(parsed.openid, parsed.key, rest)
        xml = (
            "<xml>"
            f"<ToUserName>{cdata(parsed.openid)}</ToUserName>"
            f"<FromUserName>{cdata(parsed.account)}</FromUserName>"
            f"<CreateTime>{int(self.clock.now().timestamp())}</CreateTime>"
            "<MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{cdata(pieces[0])}</Content>"
            "</xml>"
        )
        return web.Response(text=self._seal(xml), content_type="application/xml")

    def _seal(self, xml: str) -> str:
        """In safe mode the reply is encrypted and signed like the message was."""
        if self.cipher is None:
            return xml
        timestamp = str(int(self.clock.now().timestamp()))
        nonce = secrets.token_hex(8)
        encrypted = self.cipher.encrypt(xml)
        sig = signature(self.settings.token or "", timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt>{cdata(encrypted)}</Encrypt>"
            f"<MsgSignature>{cdata(sig)}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>"
        )

    # -- sending on the bot's own initiative ----------------------------------------------
    async def within_window(self, address: str) -> bool:
        """Whether WeChat still lets us write to ``address``: the person wrote (or tapped
        the menu, or followed) within the last 48 hours."""
        async with self.db.transaction() as session:
            identity = await Repositories.on(session).users.identity(self.name, address)
        if identity is None or identity.last_seen_at is None:
            return False
        seen = identity.last_seen_at
        if seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)
        return self.clock.now() - seen < WINDOW

    async def send(self, address: str, rendered: Rendered) -> DeliveryResult:
        """Customer-service messages within the 48-hour window; outside it template
        messages when ``CUNZHAN_WECHAT_TEMPLATE_ID`` is set, else HELD."""
        template = self.settings.template_id
        if not await self.within_window(address):
            if template:
                return (await self._send_pieces(address, rendered, template))[0]
            return DeliveryResult(DeliveryStatus.HELD, error="outside the 48-hour window")
        result, sent = await self._send_pieces(address, rendered, None)
        if result.status is DeliveryStatus.HELD and template and sent == 0:
            # WeChat says the window is closed (45015/45047) before anything went out
            return (await self._send_pieces(address, rendered, template))[0]
        return result

    def can_send_outside_window(self) -> bool:
        """Template messages reach people outside the window when a template is set."""
        return bool(self.settings.template_id)

    async def send_outside_window(self, address: str, rendered: Rendered) -> DeliveryResult:
        """The worker's path for a row outside the window: a template message."""
        template = self.settings.template_id
        if not template:
            return DeliveryResult(DeliveryStatus.HELD, error="outside the 48-hour window")
        return (await self._send_pieces(address, rendered, template))[0]

    async def _send_pieces(
        self, address: str, rendered: Rendered, template: str | None
    ) -> tuple[DeliveryResult, int]:
        """The outcome, and how many pieces went out before it."""
        pieces = [p for p in self._words(address, rendered) if p]
        for sent, piece in enumerate(pieces):
            if template is None:
                result = await self.api.send_text(address, piece)
            else:
                result = await self.api.send_template(address, template, piece)
            if result.status is not DeliveryStatus.SENT:
                if sent:
                    error = f"{result.error} (after {sent} of {len(pieces)} pieces)"
                    partial = DeliveryResult(
                        result.status, retry_after=result.retry_after, error=error
                    )
                    return partial, sent
                return result, 0
        item = rendered.attachment
        if item is None:
            return DeliveryResult(DeliveryStatus.SENT), len(pieces)
        if template is not None or not item.mime_type.startswith("image/"):
            # WeChat's customer-service API sends images, not files; templates carry text
            error = f"{item.mime_type} not sendable on WeChat (text sent: {len(pieces)})"
            return DeliveryResult(DeliveryStatus.FAILED, error=error), len(pieces)
        result = await self.api.send_image(address, item.filename, item.content, item.mime_type)
        return result, len(pieces) + (result.status is DeliveryStatus.SENT)
