"""WeChat's side of a conversation with cunzhan, for tests and benchmarks.

``WechatPeer`` is the WeChat server posting users' messages to cunzhan's ``/wechat``
endpoint: it builds WeChat's XML, signs the URL (signature over token, timestamp,
nonce) and, in safe mode, encrypts the body and signs it (msg_signature) with wechatpy's
own crypto, so cunzhan's implementation is checked against an independent one. Replies
are decrypted and their msg_signature checked with wechatpy too. Every knob a hostile
caller could turn (timestamp, nonce, signatures, raw bodies) can be set per request.

``FakeWechatApi`` is WeChat's API server on 127.0.0.1: ``/cgi-bin/token`` issues
access_tokens for the right AppID/secret and counts fetches; ``/cgi-bin/message/custom/send``
checks the token (42001 once ``expire_tokens`` was called, 40001 for unknown tokens),
the JSON (UTF-8, not ASCII-escaped; text of at most 2,048 bytes) and the 48-hour window
(45015 for openids in ``out_of_window``, 45047 past ``per_user_limit`` messages), and
records what was sent (images by the name uploaded to ``/cgi-bin/media/upload``, which
takes PNGs); ``/cgi-bin/message/template/send`` accepts the template ids in
``template_ids`` whatever the window and records them in ``templates``. What breaks
the protocol is described in ``errors`` (tests assert it stays empty).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import check_signature

ACCOUNT = "gh_cunzhan0001"
APP_ID = "wx5cunzhan0000001"
APP_SECRET = "test-app-secret"
WECHAT_TOKEN = "cunzhan-wechat-token"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
TEMPLATE_ID = "tmpl-notice-0001"


@dataclass(frozen=True)
class PeerResponse:
    status: int
    body: str
    content: str | None  # the text of a passive reply, None for "success"/empty
    elapsed: float


def xml_message(fields: dict[str, Any]) -> str:
    """WeChat's flat XML: strings in CDATA, numbers bare."""
    parts = []
    for name, value in fields.items():
        inner = str(value) if isinstance(value, int | float) else f"<![CDATA[{value}]]>"
        parts.append(f"<{name}>{inner}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


class WechatPeer:
    """Posts as WeChat does to ``url`` (cunzhan's /wechat endpoint)."""

    def __init__(
        self,
        url: str,
        *,
        token: str = WECHAT_TOKEN,
        aes_key: str | None = AES_KEY,
        app_id: str = APP_ID,
        account: str = ACCOUNT,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None
        self.account = account
        self.now = now
        self._ids = itertools.count(7_000_000_000_000_000_001)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> WechatPeer:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=30), connector=aiohttp.TCPConnector(limit=0)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        await self._session.close()

    # -- messages -----------------------------------------------------------------------
    def _base(self, openid: str, msg_type: str, create_time: int | None) -> dict[str, Any]:
        return {
            "ToUserName": self.account,
            "FromUserName": openid,
            "CreateTime": create_time if create_time is not None else int(self.now()),
            "MsgType": msg_type,
        }

    def next_msg_id(self) -> int:
        return next(self._ids)

    def text(self, openid: str, content: str, *, msg_id: int | None = None) -> str:
        fields = self._base(openid, "text", None)
        fields.update(Content=content, MsgId=msg_id or self.next_msg_id())
        return xml_message(fields)

    def voice(self, openid: str, recognition: str) -> str:
        fields = self._base(openid, "voice", None)
        fields.update(
            MediaId="media-voice-1", Format="amr", Recognition=recognition,
            MsgId=self.next_msg_id(),
        )  # fmt: skip
        return xml_message(fields)

    def image(self, openid: str) -> str:
        fields = self._base(openid, "image", None)
        fields.update(
            PicUrl="http://mmbiz.qpic.cn/x.jpg", MediaId="media-image-1", MsgId=self.next_msg_id()
        )
        return xml_message(fields)

    def location(self, openid: str, lat: float, lon: float, label: str) -> str:
        fields = self._base(openid, "location", None)
        fields.update(
            Location_X=lat, Location_Y=lon, Scale=15, Label=label, MsgId=self.next_msg_id()
        )
        return xml_message(fields)

    def link(self, openid: str, title: str, url: str) -> str:
        fields = self._base(openid, "link", None)
        fields.update(Title=title, Description=title, Url=url, MsgId=self.next_msg_id())
        return xml_message(fields)

    def event(
        self, openid: str, event: str, key: str | None = None, create_time: int | None = None
    ) -> str:
        fields = self._base(openid, "event", create_time)
        fields["Event"] = event
        if key is not None:
            fields["EventKey"] = key
        return xml_message(fields)

    # -- the request --------------------------------------------------------------------
    def signed_query(
        self, *, timestamp: str | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        timestamp = timestamp or str(int(self.now()))
        nonce = nonce or secrets.token_hex(8)
        sig = _sha1(self.token, timestamp, nonce)
        check_signature(self.token, sig, timestamp, nonce)  # wechatpy agrees
        return {"signature": sig, "timestamp": timestamp, "nonce": nonce}

    def sealed(self, xml: str, query: dict[str, str]) -> tuple[str, dict[str, str]]:
        """The body and query WeChat sends for ``xml`` in safe mode."""
        assert self.crypto is not None
        envelope = self.crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
        root = ET.fromstring(envelope)
        encrypted = root.findtext("Encrypt") or ""
        body = xml_message({"ToUserName": self.account, "Encrypt": encrypted})
        query = {
            **query,
            "openid": "o" + secrets.token_hex(4),
            "encrypt_type": "aes",
            "msg_signature": root.findtext("MsgSignature") or "",
        }
        return body, query

    async def post(
        self,
        xml: str,
        *,
        timestamp: str | None = None,
        nonce: str | None = None,
        query: dict[str, str] | None = None,
        raw_body: bytes | None = None,
        encrypt: bool = True,
    ) -> PeerResponse:
        """Post one message; ``query``/``raw_body`` override what WeChat would send."""
        assert self._session is not None
        signed = self.signed_query(timestamp=timestamp, nonce=nonce)
        body: str | bytes = xml
        if self.crypto is not None and encrypt:
            body, signed = self.sealed(xml, signed)
        if query is not None:
            signed = {**signed, **query}
        if raw_body is not None:
            body = raw_body
        started = time.perf_counter()
        async with self._session.post(
            self.url, params=signed, data=body, headers={"Content-Type": "text/xml"}
        ) as response:
            text = await response.text()
            status = response.status
        elapsed = time.perf_counter() - started
        return PeerResponse(status, text, self._content(status, text), elapsed)

    def _content(self, status: int, text: str) -> str | None:
        if status != 200 or text in ("", "success"):
            return None
        root = ET.fromstring(text)
        if self.crypto is not None:
            timestamp, nonce = root.findtext("TimeStamp") or "", root.findtext("Nonce") or ""
            signature = root.findtext("MsgSignature") or ""
            inner = self.crypto.decrypt_message(text, signature, timestamp, nonce)
            root = ET.fromstring(inner)
        assert root.findtext("MsgType") == "text", text
        assert root.findtext("FromUserName") == self.account
        content = root.findtext("Content") or ""
        assert len(content.encode("utf-8")) <= 2048, "passive reply over 2,048 bytes"
        return content

    async def say(self, openid: str, text: str) -> str:
        """A text message; the passive reply's text ("" when answered "success")."""
        response = await self.post(self.text(openid, text))
        assert response.status == 200, response
        return response.content or ""

    async def verify_url(self, echostr: str, **overrides: str) -> tuple[int, str]:
        assert self._session is not None
        query = {**self.signed_query(), "echostr": echostr, **overrides}
        async with self._session.get(self.url, params=query) as response:
            return response.status, await response.text()


def _sha1(*parts: str) -> str:
    import hashlib

    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


@dataclass
class SentMessage:
    touser: str
    content: str
    token: str


@dataclass
class FakeWechatApi:
    """WeChat's API server on 127.0.0.1 (``base_url`` once entered)."""

    app_id: str = APP_ID
    secret: str = APP_SECRET
    per_user_limit: int | None = None
    out_of_window: set[str] = field(default_factory=set)
    sent: list[SentMessage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    token_fetches: int = 0
    refused_tokens: int = 0
    base_url: str = ""
    busy_next: int = 0  # answer errcode -1 (system busy) this many times
    template_ids: set[str] = field(default_factory=lambda: {TEMPLATE_ID})
    templates: list[SentMessage] = field(default_factory=list)
    media: dict[str, str] = field(default_factory=dict)  # media_id -> uploaded filename
    _valid: set[str] = field(default_factory=set)
    _expired: set[str] = field(default_factory=set)
    _runner: web.AppRunner | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> FakeWechatApi:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/cgi-bin/message/template/send", self._template_send)
        app.router.add_post("/cgi-bin/media/upload", self._upload)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def expire_tokens(self) -> None:
        """Every token issued so far expires (WeChat answers 42001 for it)."""
        self._expired |= self._valid
        self._valid = set()

    def to(self, openid: str) -> list[str]:
        return [m.content for m in self.sent if m.touser == openid]

    async def wait_for_sent(self, count: int, *, touser: str, timeout: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.to(touser)) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{touser} got {self.to(touser)}, expected {count}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))
        return self.to(touser)

    async def _unknown(self, request: web.Request) -> web.Response:
        self.errors.append(f"unexpected {request.method} {request.path}")
        return web.json_response({"errcode": 40066, "errmsg": "invalid url"})

    async def _token(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("grant_type") != "client_credential":
            self.errors.append("token fetch without grant_type=client_credential")
            return web.json_response({"errcode": 40002, "errmsg": "invalid grant_type"})
        self.token_fetches += 1
        if q.get("appid") != self.app_id or q.get("secret") != self.secret:
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        token = "ACCESS_" + secrets.token_hex(12)
        self._valid.add(token)
        return web.json_response({"access_token": token, "expires_in": 7200})

    def _token_refused(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token", "")
        if token in self._expired:
            self.refused_tokens += 1
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        if token not in self._valid:
            self.refused_tokens += 1
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        return None

    def _check_json(self, raw: bytes) -> None:
        if re.search(rb"\\u[0-9a-fA-F]{4}", raw):
            self.errors.append("JSON with \\u escapes: WeChat shows them literally")

    async def _upload(self, request: web.Request) -> web.Response:
        refused = self._token_refused(request)
        if refused is not None:
            await request.read()
            return refused
        if request.query.get("type") != "image":
            self.errors.append(f"upload of type {request.query.get('type')!r}")
            return web.json_response({"errcode": 40004, "errmsg": "invalid media type"})
        form = await request.post()
        media = form.get("media")
        if not isinstance(media, web.FileField) or not media.file.read(8).startswith(b"\x89PNG"):
            self.errors.append("upload without a PNG in the media field")
            return web.json_response({"errcode": 40005, "errmsg": "invalid file type"})
        media_id = "MEDIA_" + secrets.token_hex(8)
        self.media[media_id] = media.filename
        return web.json_response({"type": "image", "media_id": media_id, "created_at": 0})

    async def _template_send(self, request: web.Request) -> web.Response:
        raw = await request.read()
        refused = self._token_refused(request)
        if refused is not None:
            return refused
        self._check_json(raw)
        try:
            body = json.loads(raw.decode("utf-8"))
            touser, template_id = body["touser"], body["template_id"]
            content = body["data"]["content"]["value"]
        except (ValueError, KeyError, TypeError):
            self.errors.append(f"malformed template send: {raw[:200]!r}")
            return web.json_response({"errcode": 47001, "errmsg": "data format error"})
        if template_id not in self.template_ids:
            return web.json_response({"errcode": 40037, "errmsg": "invalid template_id"})
        self.templates.append(SentMessage(touser, content, request.query["access_token"]))
        self._changed.set()
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": len(self.templates)})

    async def _custom_send(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token", "")
        raw = await request.read()
        refused = self._token_refused(request)
        if refused is not None:
            return refused
        self._check_json(raw)
        try:
            body = json.loads(raw.decode("utf-8"))
            touser, msgtype = body["touser"], body["msgtype"]
            if msgtype == "image":
                content = "[image:" + self.media[body["image"]["media_id"]] + "]"
            else:
                content = body["text"]["content"]
        except (ValueError, KeyError, TypeError):
            self.errors.append(f"malformed custom send: {raw[:200]!r}")
            return web.json_response({"errcode": 44002, "errmsg": "empty post data"})
        if msgtype not in ("text", "image") or not content:
            self.errors.append(f"unexpected custom message {body!r}")
            return web.json_response({"errcode": 40008, "errmsg": "invalid message type"})
        if len(content.encode("utf-8")) > 2048:
            self.errors.append("custom text over 2,048 bytes")
            return web.json_response({"errcode": 45002, "errmsg": "content size out of limit"})
        if self.busy_next > 0:
            self.busy_next -= 1
            return web.json_response({"errcode": -1, "errmsg": "system error"})
        if touser in self.out_of_window:
            return web.json_response({"errcode": 45015, "errmsg": "response out of time limit"})
        counts = Counter(m.touser for m in self.sent)
        if self.per_user_limit is not None and counts[touser] >= self.per_user_limit:
            return web.json_response({"errcode": 45047, "errmsg": "out of response count limit"})
        self.sent.append(SentMessage(touser, content, token))
        self._changed.set()
        return web.json_response({"errcode": 0, "errmsg": "ok"})
