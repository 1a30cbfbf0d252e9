"""The channel-neutral message model: what arrives (``Incoming``) and what goes out (``Reply``).

Adapters translate their platform's update into an ``Incoming`` and a rendered
``Reply`` back into their platform's call; nothing platform-specific crosses
this line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ContentKind(StrEnum):
    """What the user actually sent; anything but text/command/option is kept as a kind."""

    TEXT = "text"
    COMMAND = "command"
    OPTION = "option"
    LOCATION = "location"
    VOICE = "voice"
    PHOTO = "photo"
    STICKER = "sticker"
    FILE = "file"
    EVENT = "event"
    OTHER = "other"


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Sender:
    """Who wrote: the channel and the channel's own id for the person."""

    channel: str
    external_id: str
    display_name: str = ""


@dataclass(frozen=True)
class Incoming:
    """One thing a person did in a chat, as every handler sees it.

    ``text`` is the text typed (or recognised from voice); ``command`` is the
    command word without its slash (``start``), ``args`` the words after it;
    ``option`` is the value of a chosen button or numbered choice.
    """

    sender: Sender
    kind: ContentKind
    received_at: datetime
    text: str = ""
    command: str | None = None
    args: tuple[str, ...] = ()
    option: str | None = None
    location: Location | None = None
    message_id: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.sender.channel, self.sender.external_id)


@dataclass(frozen=True)
class Option:
    """A choice offered with a reply: a button, or a numbered line where there are none.

    ``label`` names a macro of ``content/templates/labels.j2``, called with
    ``label_data``; ``value`` is what comes back as ``Incoming.option`` when it is
    chosen (at most 50 bytes: it travels as Telegram callback data).
    """

    label: str
    value: str
    label_data: dict[str, Any] = field(default_factory=dict)


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply (a chart, an export)."""

    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True)
class Reply:
    """What a handler returns: the template to say, its data, and optional choices or a file."""

    template: str
    data: dict[str, Any] = field(default_factory=dict)
    options: tuple[Option, ...] = ()
    attachment: Attachment | None = None


@dataclass(frozen=True)
class RenderedOption:
    label: str
    token: str


@dataclass(frozen=True)
class Rendered:
    """A reply in words, ready for a channel: text, button labels with their tokens, a file."""

    text: str
    options: tuple[RenderedOption, ...] = ()
    attachment: Attachment | None = None


def reply(template: str, /, options: tuple[Option, ...] | list[Option] = (), **data: Any) -> Reply:
    """Shorthand used by handlers: ``reply("start/menu", options=..., role=...)``."""
    return Reply(template=template, data=data, options=tuple(options))


def as_json(rendered: Rendered) -> dict[str, Any]:
    """A rendered reply as JSON (kept in the inbox until sent); a file is named, not kept."""
    return {
        "text": rendered.text,
        "options": [[o.label, o.token] for o in rendered.options],
        "file": rendered.attachment.filename if rendered.attachment else None,
    }


def from_json(data: dict[str, Any]) -> Rendered:
    """The reply ``as_json`` kept, without its file."""
    options = tuple(RenderedOption(label, token) for label, token in data.get("options") or ())
    return Rendered(text=str(data.get("text") or ""), options=options)
