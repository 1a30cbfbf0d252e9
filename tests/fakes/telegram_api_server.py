"""A fake Telegram Bot API server on 127.0.0.1 for the real python-telegram-bot client.

What it owns:

* the Bot API methods cunzhan uses (``getMe``, ``getUpdates``, ``sendMessage``, edits,
  callback answers, chat actions, photos and documents, webhooks, bot commands, ``close``,
  ``logOut``, plus ``getFile`` and file downloads for files it knows), with parameters
  read from a JSON body, an url-encoded form or multipart/form-data the way Telegram
  reads them, and answers shaped like Telegram's;
* a queue of updates that tests inject (messages, callback queries, raw updates) and
  that ``getUpdates`` serves with Telegram's offset/limit/timeout semantics, or that
  ``post_update_to_webhook`` delivers while a webhook is set (then ``getUpdates``
  answers 409 Conflict, as Telegram does);
* a record of everything the bot did (``requests``, ``sent``, ``edits``,
  ``callback_answers``) and waiting helpers for tests;
* scripted faults (``fail_next``: 429 with retry_after, 403, 5xx, slow answers) and
  blocked chats;
* "fail loudly": an unknown method, a request missing a required parameter or
  breaking a Bot API rule (a 65-byte callback_data, an edit of a message that does not
  exist, an answer to an unknown callback query, ...) is answered like Telegram would
  and described in ``errors``; tests assert ``server.errors == []`` at teardown;
* a control HTTP API under ``/_control/`` so it can run in another process:
  ``python -m tests.fakes.telegram_api_server --port 0 [--token T]`` prints
  ``READY <port>`` once it listens and serves until SIGTERM/SIGINT.

It binds the loopback interface only and does no per-request logging.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import re
import signal
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import EllipsisType
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import ClientSession, ClientTimeout, web
from yarl import URL

try:  # orjson is optional; the standard library is fast enough for tests
    import orjson

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value, default=_jsonable)

    _loads: Callable[[bytes | str], Any] = orjson.loads
except ImportError:  # pragma: no cover - depends on the environment

    def _dumps(value: Any) -> bytes:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_jsonable)
        return text.encode()

    _loads = json.loads


DEFAULT_TOKEN = "123456:TEST-TOKEN"
BOT_USER: dict[str, Any] = {
    "id": 123456,
    "is_bot": True,
    "first_name": "村站",
    "username": "cunzhan_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
DEFAULT_FIRST_NAME = "测试"
WEBHOOK_CONFLICT = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"  # noqa: E501
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
BLOCKED = "Forbidden: bot was blocked by the user"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Update types Telegram leaves out when allowed_updates is empty or was never given.
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CHAT_ACTIONS = _words(
    "typing upload_photo record_video upload_video record_voice upload_voice "
    "upload_document choose_sticker find_location record_video_note upload_video_note"
)
BUTTON_ACTIONS = _words(
    "callback_data url web_app login_url switch_inline_query "
    "switch_inline_query_current_chat switch_inline_query_chosen_chat copy_text "
    "callback_game pay"
)
HTML_TAGS = _words(
    "b strong i em u ins s strike del span tg-spoiler a code pre blockquote tg-emoji"
)
# Parameters that arrive JSON-encoded in a form (python-telegram-bot json.dumps them).
JSON_FIELDS = _words(
    "reply_markup entities caption_entities allowed_updates commands scope "
    "link_preview_options reply_parameters media"
)
INT_FIELDS = _words(
    "chat_id message_id offset limit timeout cache_time max_connections "
    "message_thread_id reply_to_message_id"
)
BOOL_FIELDS = _words(
    "drop_pending_updates show_alert disable_notification protect_content "
    "disable_web_page_preview allow_sending_without_reply show_caption_above_media "
    "has_spoiler disable_content_type_detection"
)
_INT_RE = re.compile(r"-?\d+")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_HTML_TOKEN_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>|<|&(#?\w+;)?")


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {"bytes": len(value)}
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@dataclass(frozen=True)
class SentMessage:
    """One message the bot sent (``sendMessage``/``sendPhoto``/``sendDocument``) or edited."""

    method: str
    chat_id: int
    text: str  # the text, or the caption of a photo or document
    reply_markup: dict[str, Any] | None
    message_id: int
    params: dict[str, Any] = field(repr=False, compare=False)
    at: float = field(default=0.0, compare=False)  # time.monotonic() when it was recorded

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "chat_id": self.chat_id,
            "text": self.text,
            "reply_markup": self.reply_markup,
            "message_id": self.message_id,
            "params": self.params,
            "at": self.at,
        }


@dataclass
class _Fault:
    status: int
    retry_after: int | None
    description: str | None
    times: int
    delay: float


class ApiError(Exception):
    """An error answer; ``record`` puts it in ``errors`` (a bot or test mistake)."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        record: bool = True,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.record = record
        self.parameters = parameters


class _Superseded(Exception):
    pass


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _parse_form(text: str) -> dict[str, str]:
    """An url-encoded form; yarl's C unquoter is several times faster than urllib's."""
    try:
        return dict(URL("http://form/?" + text, encoded=True).query)
    except ValueError:  # pragma: no cover - yarl refused it; urllib is more lenient
        return dict(parse_qsl(text, keep_blank_values=True))


def _coerce(name: str, value: Any) -> Any:
    """A form field's value as Telegram reads it (python-telegram-bot sends strings)."""
    if not isinstance(value, str):
        return value
    if name in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {name} JSON object") from None
    if name in INT_FIELDS and _INT_RE.fullmatch(value):
        return int(value)
    if name in BOOL_FIELDS:
        return value.lower() in ("true", "1")
    return value


def _percentiles(values: Iterable[float]) -> dict[str, float | int | None]:
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p90": None, "p99": None, "max": None, "count": 0}

    def rank(q: float) -> float:  # nearest-rank percentile
        index = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
        return round(ordered[index], 3)

    return {
        "p50": rank(0.50),
        "p90": rank(0.90),
        "p99": rank(0.99),
        "max": round(ordered[-1], 3),
        "count": len(ordered),
    }


def _check_html(text: str) -> None:
    """Rejects what Telegram's HTML parse mode rejects: unknown or unbalanced tags, a bare
    ``<`` and an ``&`` that does not start an entity."""
    stack: list[str] = []
    for match in _HTML_TOKEN_RE.finditer(text):
        token = match.group(0)
        offset = len(text[: match.start()].encode())
        if token.startswith("&"):
            if match.group(4) is None:
                raise _bad(f"can't parse entities: Unsupported entity at byte offset {offset}")
            continue
        if match.group(2) is None:
            raise _bad(
                f"can't parse entities: Unexpected end of name token at byte offset {offset}"
            )
        closing, tag = match.group(1) == "/", match.group(2).lower()
        if tag not in HTML_TAGS:
            raise _bad(
                f'can\'t parse entities: Unsupported start tag "{tag}" at byte offset {offset}'
            )
        if not closing:
            stack.append(tag)
        elif not stack or stack.pop() != tag:
            raise _bad(
                f"can't parse entities: Unmatched end tag at byte offset {offset}, "
                f'expected "</{stack[-1] if stack else ""}>", found "</{tag}>"'
            )
    if stack:
        raise _bad(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\""
        )


def _check_markup(markup: Any) -> dict[str, Any] | None:
    """The reply_markup as sent, after Telegram's checks of an inline keyboard."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise _bad("can't parse inline keyboard button: Text must be a String")
                if not button["text"]:
                    raise _bad("BUTTON_TEXT_EMPTY")
                actions = [key for key in BUTTON_ACTIONS if key in button]
                if len(actions) != 1:
                    raise _bad("text buttons are unallowed in the inline keyboard")
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                        raise _bad("BUTTON_DATA_INVALID")
        return markup
    if any(key in markup for key in ("keyboard", "remove_keyboard", "force_reply")):
        return markup
    raise _bad("can't parse reply keyboard markup JSON object")


class FakeTelegramServer:
    """A Bot API server for one bot token on 127.0.0.1; see the module docstring."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        strict: bool = True,
    ) -> None:
        """``strict``: describe protocol mistakes (unknown methods, bad requests) in
        ``errors``. The answers are the same either way."""
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the fake Telegram server binds 127.0.0.1 only")
        self.token = token
        self.host = "127.0.0.1"
        self.strict = strict
        self._port = port
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._update_ids = itertools.count(1)  # monotonic for the server's life, even on reset
        self._query_ids = itertools.count(1)
        self._methods: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._send_chat_action,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "getfile": self._get_file,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "close": self._close,
            "logout": self._log_out,
        }
        self._clear()

    def _clear(self) -> None:
        """Everything but the token, the port and the update id counter."""
        # what the bot did
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[SentMessage] = []
        self.edits: list[SentMessage] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.errors: list[str] = []
        self.unauthorized = 0  # requests with another token (answered 401, not an error)
        self.conflicts = 0  # getUpdates answered 409
        # Bot API state
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_allowed_updates: list[str] | None = None
        self.my_commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.files: dict[str, bytes] = {}
        self._allowed_updates: frozenset[str] | None = None
        self._pending: deque[tuple[int, str, dict[str, Any]]] = deque()
        self._by_chat: dict[int, list[SentMessage]] = defaultdict(list)
        self._messages: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
        self._last_bot_message: dict[int, int] = {}
        self._message_ids: dict[int, int] = defaultdict(int)
        self._chat_names: dict[int, str] = {}
        self._callback_ids: dict[str, bool] = {}  # id -> answered
        self._faults: dict[str, deque[_Fault]] = {}
        self._blocked: set[int] = set()
        # long polling and waiting
        self._poller: asyncio.Future[None] | None = None
        self._sent_signal: asyncio.Event | None = None
        # statistics
        self.injected = 0
        self.first_inject_at: float | None = None
        self.last_sent_at: float | None = None
        self._injected_at: dict[int, deque[float]] = defaultdict(deque)
        self._latencies_ms: list[float] = []

    def reset(self) -> None:
        """Forgets updates, records, webhook, faults and blocks; keeps the token and port."""
        self._wake_poller()
        self._signal_sent()
        self._clear()

    # -- life cycle ------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_post("/_control/inject", self._control_inject)
        app.router.add_get("/_control/sent", self._control_sent)
        app.router.add_get("/_control/requests", self._control_requests)
        app.router.add_get("/_control/stats", self._control_stats)
        app.router.add_post("/_control/reset", self._control_reset)
        app.router.add_post("/_control/fail_next", self._control_fail_next)
        app.router.add_post("/_control/block_chat", self._control_block_chat)
        app.router.add_post("/_control/webhook_post", self._control_webhook_post)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown_path)
        self._closing = False
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port, backlog=1024)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self._port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        self._closing = True
        self._wake_poller()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeTelegramServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """python-telegram-bot's ``base_url``: it appends the token, then ``/method``."""
        return f"http://127.0.0.1:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/file/bot"

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/_control"

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return [payload for _, _, payload in self._pending]

    # -- injection -------------------------------------------------------------------------
    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id < 0:
            kind = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
            return {"id": chat_id, "type": kind, "title": f"group {chat_id}"}
        first_name = self._chat_names.get(chat_id, DEFAULT_FIRST_NAME)
        return {"id": chat_id, "type": "private", "first_name": first_name}

    def _next_message_id(self, chat_id: int) -> int:
        """Like a private chat: the user's and the bot's messages share one sequence."""
        self._message_ids[chat_id] += 1
        return self._message_ids[chat_id]

    def _enqueue(self, payload: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        payload["update_id"] = update_id
        kind = next((key for key in payload if key != "update_id"), "")
        if kind == "callback_query" and isinstance(payload[kind], dict):
            self._callback_ids.setdefault(str(payload[kind].get("id")), False)
        self._pending.append((update_id, kind, payload))
        self.injected += 1
        if self.first_inject_at is None:
            self.first_inject_at = time.monotonic()
        self._wake_poller()
        return update_id

    def inject_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = DEFAULT_FIRST_NAME,
        username: str | None = None,
    ) -> int:
        """Queues a text message from a user in their private chat; returns the update_id."""
        user: dict[str, Any] = {
            "id": chat_id if user_id is None else user_id,
            "is_bot": False,
            "first_name": first_name,
        }
        if username:
            user["username"] = username
        self._chat_names[chat_id] = first_name
        chat = self._chat(chat_id)
        if username and chat["type"] == "private":
            chat["username"] = username
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "text": text,
        }
        command = re.match(r"/[A-Za-z0-9_]+(@\w+)?", text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(command.group(0))}
            ]
        self._injected_at[chat_id].append(time.monotonic())
        return self._enqueue({"message": message})

    def inject_callback(
        self,
        chat_id: int,
        data: str,
        *,
        message_id: int | None = None,
        user_id: int | None = None,
    ) -> int:
        """Queues a button press on a bot message (by default the last one the bot sent to
        that chat, as it is now after edits); returns the update_id."""
        if message_id is None:
            if chat_id not in self._last_bot_message:
                raise AssertionError(f"the bot sent no message to chat {chat_id} to press")
            message_id = self._last_bot_message[chat_id]
        message = self._messages[chat_id].get(message_id) or {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": BOT_USER,
            "text": "",
        }
        uid = chat_id if user_id is None else user_id
        query = {
            "id": f"{abs(uid)}{next(self._query_ids) * 7919:x}",
            "from": {
                "id": uid,
                "is_bot": False,
                "first_name": self._chat_names.get(chat_id, DEFAULT_FIRST_NAME),
            },
            "message": dict(message),
            "chat_instance": str(abs(chat_id) * 31 + 7),
            "data": data,
        }
        return self._enqueue({"callback_query": query})

    def inject_update(self, payload: dict[str, Any]) -> int:
        """Queues a raw update body (a sticker, a photo, an edited message, ...); the server
        assigns its update_id, which is returned."""
        return self._enqueue({k: v for k, v in payload.items() if k != "update_id"})

    def add_file(self, data: bytes, *, file_id: str | None = None) -> str:
        """Makes a file downloadable through ``getFile``; returns its file_id."""
        file_id = file_id or f"file{len(self.files) + 1}"
        self.files[file_id] = data
        return file_id

    # -- faults ----------------------------------------------------------------------------
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
        """The next ``times`` calls of ``method`` are answered with that error after
        ``delay`` seconds. ``status=200`` with a delay only slows the normal answer."""
        if times < 1:
            raise ValueError("times must be at least 1")
        fault = _Fault(status, retry_after, description, times, delay)
        self._faults.setdefault(method.lower(), deque()).append(fault)

    def block_chat(self, chat_id: int) -> None:
        """Every send to this chat is answered 403 "Forbidden: bot was blocked by the user"."""
        self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    # -- reading what the bot did ----------------------------------------------------------
    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return list(self._by_chat.get(chat_id, ()))

    def current_message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A bot message as it is now (after edits), in Bot API form."""
        return self._messages.get(chat_id, {}).get(message_id)

    @staticmethod
    def buttons(message: SentMessage | dict[str, Any] | None) -> list[list[tuple[str, str]]]:
        """An inline keyboard as rows of (text, callback_data or url)."""
        markup = message.reply_markup if isinstance(message, SentMessage) else message
        rows = (markup or {}).get("inline_keyboard") or []
        return [
            [(b.get("text", ""), b.get("callback_data") or b.get("url") or "") for b in row]
            for row in rows
        ]

    def _signal_sent(self) -> None:
        if self._sent_signal is not None:
            self._sent_signal.set()
            self._sent_signal = None

    async def wait_until(
        self, condition: Callable[[], bool], *, timeout: float = 10.0, what: str = "condition"
    ) -> None:
        """Waits until ``condition()`` holds, checked whenever the bot sends or edits."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}\n{self.dump()}"
                )
            if self._sent_signal is None:
                self._sent_signal = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sent_signal.wait(), remaining)

    async def wait_for_sent(
        self, count: int, *, chat_id: int | None = None, timeout: float = 10.0
    ) -> list[SentMessage]:
        """All messages sent so far (to ``chat_id`` if given) once there are ``count``."""

        def enough() -> bool:
            got = self.sent if chat_id is None else self._by_chat.get(chat_id, ())
            return len(got) >= count

        where = "" if chat_id is None else f" to chat {chat_id}"
        await self.wait_until(enough, timeout=timeout, what=f"{count} sent messages{where}")
        return list(self.sent) if chat_id is None else self.messages_to(chat_id)

    def dump(self, last: int = 20) -> str:
        """What the server saw, for assertion messages."""
        lines = [
            f"sent={len(self.sent)} edits={len(self.edits)} injected={self.injected} "
            f"pending_updates={len(self._pending)} webhook={self.webhook_url!r} "
            f"unauthorized_requests={self.unauthorized} conflicts={self.conflicts}",
            f"errors={self.errors!r}",
            f"last {min(last, len(self.sent))} sent:",
        ]
        lines += [
            f"  {m.method} chat={m.chat_id} id={m.message_id} text={m.text[:100]!r} "
            f"buttons={self.buttons(m)}"
            for m in self.sent[-last:]
        ]
        lines.append(f"last {min(last, len(self.requests))} requests:")
        lines += [
            f"  {method} {json.dumps(params, ensure_ascii=False, default=_jsonable)[:160]}"
            for method, params in self.requests[-last:]
        ]
        return "\n".join(lines)

    # -- webhook delivery ------------------------------------------------------------------
    async def post_update_to_webhook(
        self,
        update: int | dict[str, Any],
        *,
        secret: str | EllipsisType | None = ...,
        timeout: float = 10.0,
    ) -> int:
        """POSTs a queued update (by update_id) or a raw update body to the URL set with
        setWebhook, with the secret header (by default the secret_token of setWebhook;
        ``None`` sends no header); returns the HTTP status. A queued update answered 2xx
        is delivered and leaves the queue, as with Telegram."""
        if not self.webhook_url:
            raise AssertionError("no webhook is set (setWebhook was not called)")
        if isinstance(update, int):
            payload = next((p for uid, _, p in self._pending if uid == update), None)
            if payload is None:
                raise AssertionError(f"update {update} is not queued")
        else:
            payload = dict(update)
            payload.setdefault("update_id", next(self._update_ids))
            query = payload.get("callback_query")
            if isinstance(query, dict):
                self._callback_ids.setdefault(str(query.get("id")), False)
        token = self.webhook_secret if secret is ... else secret
        headers = {SECRET_HEADER: token} if token else {}
        headers["Content-Type"] = "application/json"
        async with (
            ClientSession(timeout=ClientTimeout(total=timeout)) as session,
            session.post(self.webhook_url, data=_dumps(payload), headers=headers) as response,
        ):
            await response.read()
            status = response.status
        if isinstance(update, int) and 200 <= status < 300:
            self._pending = deque(item for item in self._pending if item[0] != update)
        return status

    # -- HTTP plumbing ---------------------------------------------------------------------
    @staticmethod
    def _json_response(body: Any, status: int = 200) -> web.Response:
        return web.Response(body=_dumps(body), status=status, content_type="application/json")

    def _error_response(self, error: ApiError, method: str) -> web.Response:
        if error.record and self.strict:
            self.errors.append(f"{method}: {error.description}")
        body: dict[str, Any] = {
            "ok": False,
            "error_code": error.status,
            "description": error.description,
        }
        if error.parameters:
            body["parameters"] = error.parameters
        return self._json_response(body, error.status)

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if not request.body_exists:
            return params
        ctype = request.content_type
        if ctype == "multipart/form-data":
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, str):
                    params[name] = value
                else:  # an uploaded file
                    params[name] = {
                        "filename": value.filename,
                        "content_type": value.content_type,
                        "data": value.file.read(),
                    }
            return params
        body = await request.read()
        if ctype == "application/json":
            try:
                decoded = _loads(body) if body else {}
            except ValueError:
                raise _bad("can't parse JSON encoded request body") from None
            if not isinstance(decoded, dict):
                raise _bad("JSON request body must be an object")
            params.update(decoded)
            return params
        if ctype == "application/x-www-form-urlencoded" or not body:
            params.update(_parse_form(body.decode("utf-8", "replace")))
            return params
        raise _bad(f"unsupported Content-Type {ctype}")

    def _take_fault(self, key: str) -> _Fault | None:
        faults = self._faults.get(key)
        if not faults:
            return None
        fault = faults[0]
        fault.times -= 1
        if fault.times <= 0:
            faults.popleft()
        return fault

    @staticmethod
    def _fault_error(fault: _Fault) -> ApiError:
        status = fault.status
        parameters = None
        if status == 429:
            retry = 1 if fault.retry_after is None else fault.retry_after
            default = f"Too Many Requests: retry after {retry}"
            parameters = {"retry_after": retry}
        elif status == 403:
            default = BLOCKED
        elif status >= 500:
            default = "Internal Server Error"
        elif status == 400:
            default = "Bad Request: chat not found"
        elif status == 409:
            default = POLL_CONFLICT
        else:
            try:
                default = HTTPStatus(status).phrase
            except ValueError:
                default = "Error"
        if fault.retry_after is not None and parameters is None:
            parameters = {"retry_after": fault.retry_after}
        description = fault.description or default
        return ApiError(status, description, record=False, parameters=parameters)

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            self.unauthorized += 1
            return self._json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
            )
        key = method.lower()
        try:
            raw = await self._read_params(request)
        except ApiError as error:
            self.requests.append((method, {}))
            return self._error_response(error, method)
        try:
            params = {name: _coerce(name, value) for name, value in raw.items()}
        except ApiError as error:
            self.requests.append((method, raw))
            return self._error_response(error, method)
        self.requests.append((method, params))
        fault = self._take_fault(key)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status != 200:
                return self._error_response(self._fault_error(fault), method)
        handler = self._methods.get(key)
        if handler is None:
            return self._error_response(
                ApiError(404, "Not Found", parameters=None), f"{method} (unknown method)"
            )
        try:
            result = await handler(params)
        except ApiError as error:
            return self._error_response(error, method)
        return self._json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            self.unauthorized += 1
            return web.Response(status=401)
        path = request.match_info["path"]
        file_id = path.removeprefix("files/")
        if file_id not in self.files:
            if self.strict:
                self.errors.append(f"file download: no file {path!r}")
            return self._json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, 404
            )
        return web.Response(body=self.files[file_id], content_type="application/octet-stream")

    async def _handle_unknown_path(self, request: web.Request) -> web.Response:
        if self.strict:
            self.errors.append(f"unexpected request {request.method} {request.path}")
        return self._json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, 404
        )

    # -- parameter checks ------------------------------------------------------------------
    def _chat_id(self, params: dict[str, Any]) -> int:
        value = params.get("chat_id")
        if value is None or value == "":
            raise _bad("chat_id is empty")
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and _INT_RE.fullmatch(value):
                return int(value)
            raise _bad("chat not found")
        return value

    @staticmethod
    def _int(params: dict[str, Any], name: str, default: int | None = None) -> int:
        value = params.get(name)
        if value is None or value == "":
            if default is None:
                raise _bad(
                    "message identifier is not specified"
                    if name == "message_id"
                    else f"{name} is empty"
                )
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INT_RE.fullmatch(value):
            return int(value)
        raise _bad(f"invalid {name} specified")

    @staticmethod
    def _text(params: dict[str, Any], name: str, limit: int, *, required: bool) -> str:
        value = params.get(name)
        if value is None or value == "":
            if required:
                raise _bad("message text is empty")
            return ""
        text = str(value)
        if len(text) > limit:
            raise _bad("message is too long" if name == "text" else "message caption is too long")
        mode = params.get("parse_mode")
        if mode:
            if str(mode).lower() not in ("html", "markdown", "markdownv2"):
                raise _bad(f"unsupported parse_mode {mode}")
            if str(mode).lower() == "html":
                _check_html(text)
        return text

    def _check_blocked(self, chat_id: int) -> None:
        if chat_id in self._blocked:
            raise ApiError(403, BLOCKED, record=False)

    # -- Bot API methods -------------------------------------------------------------------
    async def _get_me(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    def _confirm(self, offset: int) -> None:
        pending = self._pending
        if offset < 0:  # keep only the last -offset updates
            while len(pending) > -offset:
                pending.popleft()
            return
        while pending and pending[0][0] < offset:
            pending.popleft()

    def _allowed(self, kind: str) -> bool:
        if self._allowed_updates is None:
            return kind not in NOT_BY_DEFAULT
        return kind in self._allowed_updates

    def _collect(self, limit: int) -> list[dict[str, Any]]:
        pending = self._pending
        while pending and not self._allowed(pending[0][1]):
            pending.popleft()  # Telegram never queues update types that are not allowed
        batch: list[dict[str, Any]] = []
        for _, kind, payload in pending:
            if self._allowed(kind):
                batch.append(payload)
                if len(batch) >= limit:
                    break
        return batch

    def _wake_poller(self, reason: BaseException | None = None) -> None:
        poller, self._poller = self._poller, None
        if poller is not None and not poller.done():
            if reason is None:
                poller.set_result(None)
            else:
                poller.set_exception(reason)

    async def _get_updates(self, params: dict[str, Any]) -> Any:
        if self.webhook_url:
            self.conflicts += 1
            raise ApiError(409, WEBHOOK_CONFLICT, record=False)
        offset = self._int(params, "offset", 0)
        limit = max(1, min(100, self._int(params, "limit", 100)))
        timeout = max(0, self._int(params, "timeout", 0))
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            if not isinstance(allowed, list):
                raise _bad("can't parse allowed_updates JSON array")
            self._allowed_updates = frozenset(allowed) if allowed else None
        # a newer getUpdates terminates the one that is still waiting, as on Telegram
        self._wake_poller(_Superseded())
        self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self._collect(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing:
                return batch
            poller: asyncio.Future[None] = loop.create_future()
            self._poller = poller
            try:
                await asyncio.wait_for(poller, remaining)
            except TimeoutError:
                return []
            except _Superseded:
                self.conflicts += 1
                raise ApiError(409, POLL_CONFLICT, record=False) from None
            finally:
                if self._poller is poller:
                    self._poller = None
            if self.webhook_url:
                self.conflicts += 1
                raise ApiError(409, WEBHOOK_CONFLICT, record=False)

    def _bot_message(
        self,
        chat_id: int,
        text: str,
        markup: dict[str, Any] | None,
        *,
        caption: bool = False,
    ) -> dict[str, Any]:
        message_id = self._next_message_id(chat_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": BOT_USER,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
        }
        if caption:
            if text:
                message["caption"] = text
        else:
            message["text"] = text
        if markup is not None:
            message["reply_markup"] = markup
        return message

    def _record_sent(
        self, method: str, chat_id: int, message: dict[str, Any], params: dict[str, Any]
    ) -> None:
        now = time.monotonic()
        text = message.get("text", message.get("caption", ""))
        sent = SentMessage(
            method, chat_id, text, message.get("reply_markup"), message["message_id"], params, now
        )
        self.sent.append(sent)
        self._by_chat[chat_id].append(sent)
        self._messages[chat_id][sent.message_id] = message
        self._last_bot_message[chat_id] = sent.message_id
        waiting = self._injected_at.get(chat_id)
        if waiting:
            self._latencies_ms.append((now - waiting.popleft()) * 1000.0)
        self.last_sent_at = now
        self._signal_sent()

    async def _send_message(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat_id(params)
        text = self._text(params, "text", 4096, required=True)
        markup = _check_markup(params.get("reply_markup"))
        self._check_blocked(chat_id)
        message = self._bot_message(chat_id, text, markup)
        self._record_sent("sendMessage", chat_id, message, params)
        return message

    def _media_file_id(self, value: Any, kind: str) -> tuple[str, int]:
        if isinstance(value, dict) and "data" in value:  # uploaded
            data: bytes = value["data"]
            file_id = self.add_file(data, file_id=f"{kind}{len(self.files) + 1}")
            return file_id, len(data)
        if isinstance(value, str) and value.startswith("attach://"):
            raise _bad(f"{kind}: attach:// is only for sendMediaGroup and InputMedia")
        if isinstance(value, str) and value:
            return value, len(self.files.get(value, b""))
        raise _bad(f"there is no {kind} in the request")

    def _media_message(
        self, params: dict[str, Any], kind: str
    ) -> tuple[int, dict[str, Any], str, int]:
        """The checks and bot message shared by sendPhoto and sendDocument."""
        chat_id = self._chat_id(params)
        file_id, size = self._media_file_id(params.get(kind), kind)
        caption = self._text(params, "caption", 1024, required=False)
        markup = _check_markup(params.get("reply_markup"))
        self._check_blocked(chat_id)
        message = self._bot_message(chat_id, caption, markup, caption=True)
        return chat_id, message, file_id, size

    async def _send_photo(self, params: dict[str, Any]) -> Any:
        chat_id, message, file_id, size = self._media_message(params, "photo")
        photo = {"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 90, "height": 90}
        message["photo"] = [{**photo, "file_size": size}]
        self._record_sent("sendPhoto", chat_id, message, params)
        return message

    async def _send_document(self, params: dict[str, Any]) -> Any:
        chat_id, message, file_id, size = self._media_message(params, "document")
        upload = params.get("document")
        document: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": size,
        }
        if isinstance(upload, dict):
            document["file_name"] = upload.get("filename") or "file"
            document["mime_type"] = upload.get("content_type") or "application/octet-stream"
        message["document"] = document
        self._record_sent("sendDocument", chat_id, message, params)
        return message

    def _message_to_edit(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """(chat_id, message) to edit, or None for an inline message."""
        if params.get("inline_message_id"):
            return None
        chat_id = self._chat_id(params)
        message_id = self._int(params, "message_id")
        self._check_blocked(chat_id)
        message = self._messages.get(chat_id, {}).get(message_id)
        if message is None:
            raise _bad("message to edit not found")
        return chat_id, message

    def _record_edit(
        self, method: str, chat_id: int, message: dict[str, Any], params: dict[str, Any]
    ) -> None:
        self._messages[chat_id][message["message_id"]] = message
        text = message.get("text", message.get("caption", ""))
        self.edits.append(
            SentMessage(
                method,
                chat_id,
                text,
                message.get("reply_markup"),
                message["message_id"],
                params,
                time.monotonic(),
            )
        )
        self._signal_sent()

    async def _edit_message_text(self, params: dict[str, Any]) -> Any:
        text = self._text(params, "text", 4096, required=True)
        markup = _check_markup(params.get("reply_markup"))
        target = self._message_to_edit(params)
        if target is None:
            self.edits.append(SentMessage("editMessageText", 0, text, markup, 0, params))
            return True
        chat_id, old = target
        if "text" not in old:
            raise _bad("there is no text in the message to edit")
        if old.get("text") == text and old.get("reply_markup") == markup:
            raise ApiError(400, NOT_MODIFIED, record=False)
        message = {k: v for k, v in old.items() if k != "reply_markup"}
        message["text"] = text
        message["edit_date"] = int(time.time())
        if markup is not None:
            message["reply_markup"] = markup
        self._record_edit("editMessageText", chat_id, message, params)
        return message

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> Any:
        markup = _check_markup(params.get("reply_markup"))
        target = self._message_to_edit(params)
        if target is None:
            self.edits.append(SentMessage("editMessageReplyMarkup", 0, "", markup, 0, params))
            return True
        chat_id, old = target
        if old.get("reply_markup") == markup:
            raise ApiError(400, NOT_MODIFIED, record=False)
        message = {k: v for k, v in old.items() if k != "reply_markup"}
        message["edit_date"] = int(time.time())
        if markup is not None:
            message["reply_markup"] = markup
        self._record_edit("editMessageReplyMarkup", chat_id, message, params)
        return message

    async def _answer_callback_query(self, params: dict[str, Any]) -> Any:
        query_id = params.get("callback_query_id")
        if not query_id:
            raise _bad("callback_query_id is empty")
        if self._callback_ids.get(str(query_id)) is not False:  # unknown, or answered before
            raise ApiError(400, QUERY_INVALID)
        if len(str(params.get("text") or "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._callback_ids[str(query_id)] = True
        self.callback_answers.append(params)
        return True

    async def _send_chat_action(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat_id(params)
        action = params.get("action")
        if not action:
            raise _bad("action is empty")
        if action not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self._check_blocked(chat_id)
        self.chat_actions.append((chat_id, str(action)))
        return True

    async def _get_file(self, params: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id") or "")
        if not file_id:
            raise _bad("file_id is empty")
        if file_id not in self.files:
            raise _bad("invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"files/{file_id}",
        }

    def _drop_pending(self, params: dict[str, Any]) -> None:
        if params.get("drop_pending_updates") is True:
            self._pending.clear()
            self._injected_at.clear()

    async def _set_webhook(self, params: dict[str, Any]) -> Any:
        if "url" not in params:
            raise _bad("url is empty")  # an empty url is allowed: it removes the webhook
        url = str(params["url"])
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(str(secret)):
            raise _bad("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise _bad("can't parse allowed_updates JSON array")
        self._drop_pending(params)
        if not url:
            self.webhook_url = self.webhook_secret = None
            return True
        if not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        self.webhook_secret = str(secret) if secret else None
        if allowed is not None:
            self.webhook_allowed_updates = list(allowed)
            self._allowed_updates = frozenset(allowed) if allowed else None
        self._wake_poller()  # a waiting getUpdates now answers 409
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url = self.webhook_secret = None
        self.webhook_allowed_updates = None
        self._drop_pending(params)
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook_url:
            info["max_connections"] = 40
            if self.webhook_allowed_updates is not None:
                info["allowed_updates"] = self.webhook_allowed_updates
        return info

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad("can't parse BotCommandScope JSON object")
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("commands is empty" if commands is None else "can't parse commands")
        if len(commands) > 100:
            raise _bad("too many commands")
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand JSON object")
            if not _COMMAND_RE.fullmatch(str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params)
        if commands:
            self.my_commands[key] = commands
        else:
            self.my_commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> Any:
        return self.my_commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: dict[str, Any]) -> Any:
        self.my_commands.pop(self._commands_key(params), None)
        return True

    async def _close(self, params: dict[str, Any]) -> Any:
        return True

    async def _log_out(self, params: dict[str, Any]) -> Any:
        return True

    # -- control API (the server in another process) ---------------------------------------
    def stats(self) -> dict[str, Any]:
        """Counts, errors and reply latency. Latency is per chat, first in first out: each
        injected message queues its injection time; each message the bot sends to that chat
        takes the oldest. ``first_inject_at``/``last_sent_at`` are this process's
        ``time.monotonic()``."""
        return {
            "injected": self.injected,
            "sent": len(self.sent),
            "edits": len(self.edits),
            "requests": len(self.requests),
            "pending_updates": len(self._pending),
            "errors": list(self.errors),
            "conflicts": self.conflicts,
            "unauthorized": self.unauthorized,
            "latency_ms": _percentiles(self._latencies_ms),
            "first_inject_at": self.first_inject_at,
            "last_sent_at": self.last_sent_at,
        }

    @staticmethod
    async def _control_body(request: web.Request) -> dict[str, Any]:
        try:
            body = _loads(await request.read() or b"{}")
        except ValueError:
            raise web.HTTPBadRequest(text="the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="the body must be a JSON object")
        return body

    @staticmethod
    def _since(request: web.Request) -> int:
        try:
            return max(0, int(request.query.get("since", "0")))
        except ValueError:
            raise web.HTTPBadRequest(text="since must be an integer") from None

    async def _control_inject(self, request: web.Request) -> web.Response:
        body = await self._control_body(request)
        ids: list[int] = []
        try:
            for m in body.get("messages", ()):
                ids.append(
                    self.inject_message(
                        int(m["chat_id"]),
                        str(m["text"]),
                        user_id=m.get("user_id"),
                        first_name=m.get("first_name") or DEFAULT_FIRST_NAME,
                        username=m.get("username"),
                    )
                )
            for c in body.get("callbacks", ()):
                ids.append(
                    self.inject_callback(
                        int(c["chat_id"]),
                        str(c["data"]),
                        message_id=c.get("message_id"),
                        user_id=c.get("user_id"),
                    )
                )
            ids.extend(self.inject_update(u) for u in body.get("updates", ()))
        except (AssertionError, KeyError, TypeError, ValueError) as exc:
            return self._json_response({"error": repr(exc), "update_ids": ids}, 400)
        return self._json_response({"update_ids": ids})

    async def _control_sent(self, request: web.Request) -> web.Response:
        return self._json_response([m.to_json() for m in self.sent[self._since(request) :]])

    async def _control_requests(self, request: web.Request) -> web.Response:
        return self._json_response(
            [{"method": m, "params": p} for m, p in self.requests[self._since(request) :]]
        )

    async def _control_stats(self, request: web.Request) -> web.Response:
        return self._json_response(self.stats())

    async def _control_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return self._json_response({"ok": True})

    async def _control_fail_next(self, request: web.Request) -> web.Response:
        body = await self._control_body(request)
        try:
            self.fail_next(
                str(body["method"]),
                status=int(body.get("status", 429)),
                retry_after=body.get("retry_after"),
                description=body.get("description"),
                times=int(body.get("times", 1)),
                delay=float(body.get("delay", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            return self._json_response({"error": repr(exc)}, 400)
        return self._json_response({"ok": True})

    async def _control_block_chat(self, request: web.Request) -> web.Response:
        body = await self._control_body(request)
        try:
            chat_id = int(body["chat_id"])
        except (KeyError, TypeError, ValueError) as exc:
            return self._json_response({"error": repr(exc)}, 400)
        if body.get("blocked", True):
            self.block_chat(chat_id)
        else:
            self.unblock_chat(chat_id)
        return self._json_response({"ok": True})

    async def _control_webhook_post(self, request: web.Request) -> web.Response:
        body = await self._control_body(request)
        update = body.get("update_id", body.get("update"))
        if not isinstance(update, int | dict):
            return self._json_response({"error": "give update_id or update"}, 400)
        secret = body.get("secret", ...)
        try:
            status = await self.post_update_to_webhook(update, secret=secret)
        except AssertionError as exc:
            return self._json_response({"error": str(exc)}, 400)
        return self._json_response({"status": status})


async def _serve(port: int, token: str) -> None:
    server = FakeTelegramServer(token, port=port)
    await server.start()
    print(f"READY {server.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake Telegram Bot API server on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.port, args.token))


if __name__ == "__main__":
    main()
