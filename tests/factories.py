"""Drivers that talk to cunzhan the way a person would, and conversation-table checks.

``ChatDriver`` calls the real dispatcher with neutral messages (fast, no network);
``WebChatClient`` goes through the web chat's HTTP API of a running app.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp

from bot.dispatcher import Dispatcher
from bot.messages import ContentKind, Incoming, Rendered, Sender
from bot.parsing import clean_text, split_command


def incoming(
    text: str = "",
    *,
    user: str = "u1",
    channel: str = "test",
    kind: ContentKind | None = None,
    option: str | None = None,
    name: str = "测试用户",
) -> Incoming:
    sender = Sender(channel, user, name)
    now = datetime.now(UTC)
    if option is not None:
        return Incoming(sender, ContentKind.OPTION, now, option=option)
    if kind is not None and kind is not ContentKind.TEXT:
        return Incoming(sender, kind, now, text=text)
    text = clean_text(text)
    command = split_command(text)
    if command:
        return Incoming(
            sender, ContentKind.COMMAND, now, text=text, command=command[0], args=command[1]
        )
    return Incoming(sender, ContentKind.TEXT, now, text=text)


class Chat(Protocol):
    last: list[dict[str, Any]]

    async def say(self, text: str) -> list[dict[str, Any]]: ...

    async def press(self, label: str) -> list[dict[str, Any]]: ...


def as_dicts(rendered: Sequence[Rendered]) -> list[dict[str, Any]]:
    return [
        {"text": r.text, "options": [{"label": o.label, "token": o.token} for o in r.options]}
        for r in rendered
    ]


def find_token(replies: Sequence[dict[str, Any]], label: str) -> str:
    for reply in reversed(replies):
        for option in reply["options"]:
            if option["label"] == label or option["label"].startswith(label):
                return option["token"]
    labels = [o["label"] for r in replies for o in r["options"]]
    raise AssertionError(f"no button {label!r}; buttons were {labels}")


def labels(replies: Sequence[dict[str, Any]]) -> list[str]:
    return [o["label"] for r in replies for o in r["options"]]


def joined(replies: Sequence[dict[str, Any]]) -> str:
    return "\n".join(r["text"] for r in replies)


@dataclass
class ChatDriver:
    """One person talking to the real dispatcher."""

    dispatcher: Dispatcher
    user: str = "u1"
    channel: str = "test"
    last: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, message: Incoming) -> list[dict[str, Any]]:
        self.last = as_dicts(await self.dispatcher.handle(message))
        return self.last

    async def say(self, text: str) -> list[dict[str, Any]]:
        return await self.send(incoming(text, user=self.user, channel=self.channel))

    async def press(self, label: str) -> list[dict[str, Any]]:
        token = find_token(self.last, label)
        return await self.send(incoming(option=token, user=self.user, channel=self.channel))


class WebChatClient:
    """A browser-less web chat user: keeps its session cookie like a browser would."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.last: list[dict[str, Any]] = []

    async def open(self) -> str:
        async with self.session.get(self.base_url + "/") as response:
            assert response.status == 200
            return await response.text()

    async def post(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        async with self.session.post(self.base_url + "/api/message", json=body) as response:
            return response.status, await response.json()

    async def say(self, text: str) -> list[dict[str, Any]]:
        status, data = await self.post({"text": text})
        assert status == 200, data
        self.last = data["replies"]
        return self.last

    async def press(self, label: str) -> list[dict[str, Any]]:
        status, data = await self.post({"option": find_token(self.last, label)})
        assert status == 200, data
        self.last = data["replies"]
        return self.last

    async def close(self) -> None:
        await self.session.close()


async def verify_dialog(chat: Chat, turns: Sequence[tuple[str, str | Sequence[str]]]) -> None:
    """A conversation as a table: each (person says, bot reply contains …).

    A said value starting with ``[`` and ending with ``]`` presses the button of that label.
    """
    for number, (said, expected) in enumerate(turns, 1):
        if said.startswith("[") and said.endswith("]"):
            replies = await chat.press(said[1:-1])
        else:
            replies = await chat.say(said)
        text = joined(replies)
        wanted = [expected] if isinstance(expected, str) else list(expected)
        for piece in wanted:
            assert piece in text, f"turn {number} ({said!r}): {piece!r} not in reply:\n{text}"
