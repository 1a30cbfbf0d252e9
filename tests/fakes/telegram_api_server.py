"""A fake Telegram Bot API server on 127.0.0.1 for the real python-telegram-bot client.

It serves the methods cunzhan uses, queues injected updates for getUpdates (or posts
them to a webhook), records everything the bot sends, can answer with scripted
faults (429, 403, 5xx, delays), and fails loudly: an unknown method or a request
missing a required parameter is answered like Telegram would and recorded in
``errors``, which tests assert to be empty.

Run it in another process with ``python -m tests.fakes.telegram_api_server --port 0``;
it prints ``READY <port>`` and takes commands under ``/_control/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time
from collections import defaultdict, deque
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import ClientSession, web

BOT_USER = {
    "id": 900000001,
    "is_bot": True,
    "first_name": "村站",
    "username": "cunzhan_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
CONFLICT = "Conflict: can't use getUpdates method while webhook is active"
SEND_METHODS = {"sendmessage", "sendphoto", "senddocument"}
REQUIRED = {
    "sendmessage": ("chat_id", "text"),
    "sendphoto": ("chat_id", "photo"),
    "senddocument": ("chat_id", "document"),
    "answercallbackquery": ("callback_query_id",),
    "editmessagetext": ("text",),
    "sendchataction": ("chat_id", "action"),
    "setwebhook": ("url",),
}


@dataclass(frozen=True)
class SentMessage:
    method: str
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None
    message_id: int
    params: dict[str, Any] = field(repr=False)
    at: float = 0.0


@dataclass
class _Fault:
    status: int
    retry_after: int | None
    description: str | None
    times: int
    delay: float


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "count": len(ordered),
        "p50": pick(0.5),
        "p90": pick(0.9),
        "p99": pick(0.99),
        "max": round(ordered[-1], 2),
    }


class FakeTelegramServer:
    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        strict: bool = True,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the fake server binds to the loopback interface only")
        self.token = token
        self.host = host
        self._port = port
        self.strict = strict
        self._runner: web.AppRunner | None = None
        self._reset()

    def _reset(self) -> None:
        self.sent: list[SentMessage] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.commands: list[Any] = []
        self._pending: deque[dict[str, Any]] = deque()
        self._next_update_id = 1
        self._message_ids: dict[int, int] = defaultdict(int)
        self._by_chat: dict[int, list[SentMessage]] = defaultdict(list)
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._blocked: set[int] = set()
        self._arrived = asyncio.Event()
        self._sent_event = asyncio.Event()
        self._injected_at: dict[int, deque[float]] = defaultdict(deque)
        self._latencies: list[float] = []
        self.injected = 0
        self.first_inject_at: float | None = None
        self.last_sent_at: float | None = None

    # -- life cycle ---------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._file)
        app.router.add_post("/_control/inject", self._control_inject)
        app.router.add_get("/_control/sent", self._control_sent)
        app.router.add_get("/_control/stats", self._control_stats)
        app.router.add_post("/_control/reset", self._control_reset)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        await site.start()
        assert site._server is not None
        self._port = site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._arrived.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/file/bot"

    # -- injection ----------------------------------------------------------------------
    def _enqueue(self, update: dict[str, Any]) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        update["update_id"] = update_id
        self._pending.append(update)
        self.injected += 1
        now = time.monotonic()
        if self.first_inject_at is None:
            self.first_inject_at = now
        self._arrived.set()
        return update_id

    @staticmethod
    def _user(user_id: int, first_name: str, username: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        return user

    def inject_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = "测试",
        username: str | None = None,
    ) -> int:
        user = self._user(user_id or chat_id, first_name, username)
        message: dict[str, Any] = {
            "message_id": 100000 + self._next_update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": first_name},
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0]) if text.split() else 1
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        self._injected_at[chat_id].append(time.monotonic())
        return self._enqueue({"message": message})

    def inject_callback(
        self, chat_id: int, data: str, *, message_id: int | None = None, user_id: int | None = None
    ) -> int:
        bot_messages = self._by_chat.get(chat_id) or []
        if message_id is None:
            if not bot_messages:
                raise AssertionError(f"no bot message in chat {chat_id} to attach a callback to")
            message_id = bot_messages[-1].message_id
        original = next((m for m in bot_messages if m.message_id == message_id), None)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "测试"},
            "from": BOT_USER,
            "text": original.text if original else "",
        }
        if original and original.reply_markup:
            message["reply_markup"] = original.reply_markup
        query = {
            "id": f"cb{self._next_update_id}",
            "from": self._user(user_id or chat_id, "测试", None),
            "chat_instance": f"ci{chat_id}",
            "data": data,
            "message": message,
        }
        self._injected_at[chat_id].append(time.monotonic())
        return self._enqueue({"callback_query": query})

    def inject_update(self, payload: dict[str, Any]) -> int:
        return self._enqueue(dict(payload))

    # -- faults -------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        self._faults[method.lower()].append(_Fault(status, retry_after, description, times, delay))

    def block_chat(self, chat_id: int) -> None:
        self._blocked.add(chat_id)

    # -- reading what the bot did -------------------------------------------------------
    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return list(self._by_chat.get(chat_id, []))

    @staticmethod
    def buttons(message: SentMessage) -> list[list[tuple[str, str]]]:
        markup = message.reply_markup or {}
        return [
            [(b["text"], b.get("callback_data", "")) for b in row]
            for row in markup.get("inline_keyboard", [])
        ]

    async def wait_for_sent(
        self, count: int, *, chat_id: int | None = None, timeout: float = 10.0
    ) -> list[SentMessage]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.sent if chat_id is None else self._by_chat.get(chat_id, [])
            if len(got) >= count:
                return list(got)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                dump = "\n".join(f"  {m.chat_id}: {m.text[:80]!r}" for m in self.sent[-20:])
                raise AssertionError(
                    f"expected {count} messages (chat {chat_id}), got {len(got)}; "
                    f"errors={self.errors}; last sent:\n{dump}"
                )
            self._sent_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sent_event.wait(), min(remaining, 0.5))

    async def post_update_to_webhook(
        self, update: int | dict[str, Any], *, secret: str | type[Ellipsis] | None = ...
    ) -> int:
        """POST a queued (by id) or raw update to the webhook URL; returns the HTTP status."""
        if self.webhook_url is None:
            raise AssertionError("no webhook set")
        if isinstance(update, int):
            payload = next(u for u in self._pending if u["update_id"] == update)
        else:
            payload = update if "update_id" in update else {**update, "update_id": 0}
        token = self.webhook_secret if secret is ... else secret
        headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
        async with (
            ClientSession() as session,
            session.post(self.webhook_url, json=payload, headers=headers) as response,
        ):
            if response.status == 200 and isinstance(update, int):
                self._pending = deque(u for u in self._pending if u["update_id"] != update)
            return response.status

    # -- the Bot API --------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.read()
            return json.loads(body) if body else {}
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            params = {}
            for key, value in form.items():
                params[key] = _decode(value) if isinstance(value, str) else "<file>"
            return params
        return dict(request.query)

    def _error(
        self,
        status: int,
        description: str,
        *,
        record: bool = False,
        retry_after: int | None = None,
    ) -> web.Response:
        if record:
            self.errors.append(description)
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        key = method.lower()
        try:
            params = await self._params(request)
        except ValueError:
            return self._error(400, f"Bad Request: unparsable body for {method}", record=True)
        self.requests.append((method, params))
        faults = self._faults.get(key)
        if faults:
            fault = faults[0]
            fault.times -= 1
            if fault.times <= 0:
                faults.popleft()
            if fault.delay:
                await asyncio.sleep(fault.delay)
            return self._fault_response(fault)
        handler = getattr(self, f"_m_{key}", None)
        if handler is None:
            return self._error(404, f"Not Found: method {method}", record=True)
        missing = [p for p in REQUIRED.get(key, ()) if params.get(p) in (None, "")]
        if missing:
            return self._error(
                400, f"Bad Request: {method} needs {', '.join(missing)}", record=True
            )
        if key in SEND_METHODS and int(params["chat_id"]) in self._blocked:
            return self._error(403, "Forbidden: bot was blocked by the user")
        result = await handler(params)
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _fault_response(fault: _Fault) -> web.Response:
        descriptions = {
            429: f"Too Many Requests: retry after {fault.retry_after or 1}",
            403: "Forbidden: bot was blocked by the user",
            400: "Bad Request: chat not found",
        }
        description = fault.description or descriptions.get(fault.status, "Internal Server Error")
        body: dict[str, Any] = {
            "ok": False,
            "error_code": fault.status,
            "description": description,
        }
        if fault.status == 429:
            body["parameters"] = {"retry_after": fault.retry_after or 1}
        return web.json_response(body, status=fault.status)

    async def _file(self, request: web.Request) -> web.Response:
        self.errors.append(f"file download {request.match_info['path']}")
        return web.Response(status=404)

    async def _m_getme(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook_url:
            raise web.HTTPConflict(
                text=json.dumps(
                    {
                        "ok": False,
                        "error_code": 409,
                        "description": CONFLICT,
                    }
                ),
                content_type="application/json",
            )
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = float(params.get("timeout") or 0)
        while self._pending and self._pending[0]["update_id"] < offset:
            self._pending.popleft()
        if not self._pending and timeout > 0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout)
        return [self._pending[i] for i in range(min(limit, len(self._pending)))]

    def _record_send(self, method: str, params: dict[str, Any], text: str) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        self._message_ids[chat_id] += 1
        message_id = self._message_ids[chat_id]
        markup = params.get("reply_markup")
        markup = markup if isinstance(markup, dict) else None
        now = time.monotonic()
        sent = SentMessage(method, chat_id, text, markup, message_id, params, now)
        self.sent.append(sent)
        self._by_chat[chat_id].append(sent)
        pending = self._injected_at.get(chat_id)
        if pending:
            self._latencies.append((now - pending.popleft()) * 1000)
        self.last_sent_at = now
        self._sent_event.set()
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "测试"},
            "from": BOT_USER,
        }
        if method == "sendMessage":
            message["text"] = text
        else:
            message["caption"] = text
        if markup:
            message["reply_markup"] = markup
        return message

    async def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        return self._record_send("sendMessage", params, str(params["text"]))

    async def _m_sendphoto(self, params: dict[str, Any]) -> Any:
        message = self._record_send("sendPhoto", params, str(params.get("caption") or ""))
        message["photo"] = [{"file_id": "photo1", "file_unique_id": "p1", "width": 1, "height": 1}]
        return message

    async def _m_senddocument(self, params: dict[str, Any]) -> Any:
        message = self._record_send("sendDocument", params, str(params.get("caption") or ""))
        message["document"] = {"file_id": "doc1", "file_unique_id": "d1"}
        return message

    async def _m_editmessagetext(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        self.callback_answers.append(params)
        return True

    async def _m_sendchataction(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_setwebhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url = str(params["url"])
        self.webhook_secret = params.get("secret_token")
        return True

    async def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url = self.webhook_secret = None
        if str(params.get("drop_pending_updates", "")).lower() in ("true", "1"):
            self._pending.clear()
        return True

    async def _m_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        return {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    async def _m_setmycommands(self, params: dict[str, Any]) -> Any:
        self.commands = params.get("commands") or []
        return True

    async def _m_getmycommands(self, params: dict[str, Any]) -> Any:
        return self.commands

    async def _m_deletemycommands(self, params: dict[str, Any]) -> Any:
        self.commands = []
        return True

    async def _m_close(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_logout(self, params: dict[str, Any]) -> Any:
        return True

    # -- control API (for a server in another process) ----------------------------------
    async def _control_inject(self, request: web.Request) -> web.Response:
        body = await request.json()
        ids = [
            self.inject_message(int(m["chat_id"]), str(m["text"]))
            for m in body.get("messages", [])
        ]
        ids += [
            self.inject_callback(int(c["chat_id"]), str(c["data"]), message_id=c.get("message_id"))
            for c in body.get("callbacks", [])
        ]
        ids += [self.inject_update(u) for u in body.get("updates", [])]
        return web.json_response({"update_ids": ids})

    async def _control_sent(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        return web.json_response(
            [{k: v for k, v in asdict(m).items() if k != "params"} for m in self.sent[since:]]
        )

    async def _control_stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "injected": self.injected,
                "sent": len(self.sent),
                "pending_updates": len(self._pending),
                "errors": self.errors,
                "latency_ms": _percentiles(self._latencies),
                "first_inject_at": self.first_inject_at,
                "last_sent_at": self.last_sent_at,
            }
        )

    async def _control_reset(self, request: web.Request) -> web.Response:
        self._reset()
        return web.json_response({"ok": True})


async def _serve(port: int, token: str) -> None:
    server = FakeTelegramServer(token, port=port)
    await server.start()
    print(f"READY {server.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="fake Telegram Bot API server (127.0.0.1)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="123456:TEST-TOKEN")
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.token))


if __name__ == "__main__":
    main()
