"""The web chat: a page on the local machine and a small JSON API behind it.

A cookie names the browser's session; the session is the person's identity on
this channel. ``POST /api/message`` carries one message and answers with the
replies; ``GET /api/events`` long-polls for what the bot sends on its own.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import secrets
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.channels.base import Capabilities, DeliveryResult, DeliveryStatus, OnIncoming
from bot.messages import ContentKind, Incoming, Rendered, Sender
from bot.parsing import clean_name, clean_text, split_command
from bot.render import Renderer

log = logging.getLogger("cunzhan.webchat")

COOKIE = "cunzhan_session"
STATIC_DIR = Path(__file__).with_name("webchat_static")
MAX_BODY_BYTES = 64 * 1024
EVENT_BACKLOG = 200
POLL_SECONDS = 25.0


def rendered_json(rendered: Rendered) -> dict[str, Any]:
    out: dict[str, Any] = {
        "text": rendered.text,
        "options": [{"label": o.label, "token": o.token} for o in rendered.options],
    }
    item = rendered.attachment
    if item is not None:
        encoded = base64.b64encode(item.content).decode("ascii")
        out["attachment"] = {
            "filename": item.filename,
            "mime_type": item.mime_type,
            "url": f"data:{item.mime_type};base64,{encoded}",
        }
    return out


class _Mailbox:
    """Messages the bot sent to one browser session on its own initiative."""

    def __init__(self) -> None:
        self.events: deque[tuple[int, dict[str, Any]]] = deque(maxlen=EVENT_BACKLOG)
        self.seq = 0
        self.changed = asyncio.Event()

    def put(self, payload: dict[str, Any]) -> None:
        self.seq += 1
        self.events.append((self.seq, payload))
        self.changed.set()

    def after(self, seq: int) -> list[dict[str, Any]]:
        return [{"seq": s, **p} for s, p in self.events if s > seq]


class WebChatChannel:
    name = "webchat"
    capabilities = Capabilities(buttons=True, max_text_chars=4000, messages_per_second=100.0)

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        self._on_incoming: OnIncoming | None = None
        self._mailboxes: dict[str, _Mailbox] = {}
        self._closing = asyncio.Event()

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/", self.page),
            web.post("/api/message", self.message),
            web.get("/api/events", self.events),
            web.get("/healthz", self.health),
            web.static("/static", STATIC_DIR),
        ]

    async def start(self, on_incoming: OnIncoming) -> None:
        self._on_incoming = on_incoming

    async def stop(self) -> None:
        self._closing.set()
        for box in self._mailboxes.values():
            box.changed.set()

    async def send(self, address: str, rendered: Rendered) -> DeliveryResult:
        self._mailboxes.setdefault(address, _Mailbox()).put(rendered_json(rendered))
        return DeliveryResult(DeliveryStatus.SENT)

    # -- HTTP ---------------------------------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def page(self, request: web.Request) -> web.Response:
        html = self.renderer.text("webchat/page.html")
        response = web.Response(text=html, content_type="text/html", charset="utf-8")
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        self._session(request, response)
        return response

    def _session(self, request: web.Request, response: web.StreamResponse) -> str:
        token = request.cookies.get(COOKIE, "")
        if len(token) < 32 or not token.replace("-", "").replace("_", "").isalnum():
            token = secrets.token_urlsafe(32)
            response.set_cookie(
                COOKIE, token, httponly=True, samesite="Strict", max_age=365 * 24 * 3600, path="/"
            )
        return hashlib.sha256(token.encode()).hexdigest()[:40]

    async def message(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return _error(415, "json_required")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _error(413, "too_large")
        try:
            body = json.loads(await request.content.read(MAX_BODY_BYTES + 1))
        except (ValueError, UnicodeDecodeError):
            return _error(400, "bad_json")
        if not isinstance(body, dict):
            return _error(400, "bad_json")
        response = web.json_response({})
        address = self._session(request, response)
        incoming = self._incoming(address, body)
        if incoming is None:
            return _error(400, "bad_message")
        if self._on_incoming is None:
            return _error(503, "starting")
        rendered = await self._on_incoming(incoming)
        box = self._mailboxes.setdefault(address, _Mailbox())
        response.text = json.dumps(
            {"replies": [rendered_json(r) for r in rendered], "seq": box.seq},
            ensure_ascii=False,
        )
        return response

    def _incoming(self, address: str, body: dict[str, Any]) -> Incoming | None:
        sender = Sender(self.name, address, clean_name(str(body.get("name") or "")))
        now = datetime.now(UTC)
        option, text = body.get("option"), body.get("text")
        if isinstance(option, str) and option:
            return Incoming(sender, ContentKind.OPTION, now, option=option[:128])
        if not isinstance(text, str):
            return None
        text = clean_text(text)
        command = split_command(text)
        if command is not None:
            return Incoming(
                sender, ContentKind.COMMAND, now, text=text, command=command[0], args=command[1]
            )
        return Incoming(sender, ContentKind.TEXT, now, text=text)

    async def events(self, request: web.Request) -> web.Response:
        response = web.json_response({})
        address = self._session(request, response)
        try:
            after = int(request.query.get("after", "0"))
        except ValueError:
            return _error(400, "bad_after")
        box = self._mailboxes.setdefault(address, _Mailbox())
        waited = 0.0
        while not box.after(after) and waited < POLL_SECONDS and not self._closing.is_set():
            box.changed.clear()
            try:
                await asyncio.wait_for(box.changed.wait(), timeout=1.0)
            except TimeoutError:
                waited += 1.0
        response.text = json.dumps(
            {"events": box.after(after), "seq": box.seq}, ensure_ascii=False
        )
        return response


def _error(status: int, code: str) -> web.Response:
    return web.json_response({"error": code}, status=status)
