"""Routers (one per feature module), the assembled catalog, and the dispatch of one message.

A feature module declares ``router = Router("name")`` and registers commands,
option prefixes, a free-text handler, forms and menu entries on it.
``Catalog`` joins the routers in priority order; ``Dispatcher`` runs the
middleware around the routing of one ``Incoming``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.context import Context
from bot.dialogs import CANCEL_WORDS, OPTION_PREFIX, Form
from bot.messages import ContentKind, Incoming, Reply
from bot.parsing import split_command
from storage.models import Role

Handler = Callable[[Incoming, Context], Awaitable[list[Reply]]]
TextMatch = Callable[[str], bool]
ALL_ROLES = frozenset(Role)
log = logging.getLogger("cunzhan.router")


@dataclass(frozen=True)
class Route:
    name: str
    handler: Handler
    roles: frozenset[Role] = ALL_ROLES
    summary: str | None = None  # a labels.j2 macro describing it in /help


@dataclass(frozen=True)
class MenuEntry:
    label: str  # a labels.j2 macro
    command: str
    roles: frozenset[Role]
    order: int


class Router:
    """The commands, options, forms and menu entries of one feature module."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.commands: dict[str, Route] = {}
        self.aliases: dict[str, str] = {}
        self.options: dict[str, Route] = {}
        self.text_routes: list[tuple[TextMatch | None, Route]] = []
        self.kinds: dict[ContentKind, Route] = {}
        self.forms: list[Form] = []
        self.menu_entries: list[MenuEntry] = []

    def command(
        self,
        *names: str,
        aliases: Sequence[str] = (),
        roles: Sequence[Role] = tuple(Role),
        summary: str | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register a handler for ``/name``; ``aliases`` are whole messages that mean it."""

        def register(handler: Handler) -> Handler:
            route = Route(f"{self.name}.{handler.__name__}", handler, frozenset(roles), summary)
            for name in names:
                self.commands[name] = route
            for alias in aliases:
                self.aliases[alias] = names[0]
            return handler

        return register

    def option(
        self, prefix: str, *, roles: Sequence[Role] = tuple(Role)
    ) -> Callable[[Handler], Handler]:
        """Register a handler for chosen options whose value starts with ``prefix:``."""
        if prefix == OPTION_PREFIX or ":" in prefix:
            raise ValueError(f"reserved or malformed option prefix {prefix!r}")

        def register(handler: Handler) -> Handler:
            self.options[prefix] = Route(
                f"{self.name}.{handler.__name__}", handler, frozenset(roles)
            )
            return handler

        return register

    def text(
        self, *, match: TextMatch | None = None, roles: Sequence[Role] = tuple(Role)
    ) -> Callable[[Handler], Handler]:
        """Register a handler for free text: the texts ``match`` accepts (a one-line
        ``代销 苹果 200斤 …``, ``苹果多少钱``), or, without ``match``, whatever no matcher took.

        Matchers are tried in router priority order, then registration order; the first
        that accepts the text wins, and its ``roles`` are then checked like a command's.
        """

        def register(handler: Handler) -> Handler:
            route = Route(f"{self.name}.{handler.__name__}", handler, frozenset(roles))
            self.text_routes.append((match, route))
            return handler

        return register

    def kind(
        self, kind: ContentKind, *, roles: Sequence[Role] = tuple(Role)
    ) -> Callable[[Handler], Handler]:
        """Register a handler for a non-text message kind (a shared location) outside forms."""

        def register(handler: Handler) -> Handler:
            self.kinds[kind] = Route(f"{self.name}.{handler.__name__}", handler, frozenset(roles))
            return handler

        return register

    def form(self, form: Form) -> Form:
        self.forms.append(form)
        return form

    def menu(
        self, label: str, command: str, *, roles: Sequence[Role] = tuple(Role), order: int = 50
    ) -> None:
        self.menu_entries.append(MenuEntry(label, command, frozenset(roles), order))


@dataclass(frozen=True)
class Resolved:
    """Where one message goes: a route, or a reply decided by the routing itself."""

    route: Route | None = None
    replies: list[Reply] = field(default_factory=list)
    incoming: Incoming | None = None


class Catalog:
    """All routers joined in priority order: the first router to claim a thing wins."""

    def __init__(self, routers: Sequence[Router]) -> None:
        self.routers = list(routers)
        self.commands: dict[str, Route] = {}
        self.aliases: dict[str, str] = {}
        self.options: dict[str, Route] = {}
        self.text_matchers: list[tuple[TextMatch, Route]] = []
        self.text_route: Route | None = None
        self.kinds: dict[ContentKind, Route] = {}
        for router in self.routers:
            for kind, route in router.kinds.items():
                self.kinds.setdefault(kind, route)
            for name, route in router.commands.items():
                self.commands.setdefault(name, route)
            for alias, command in router.aliases.items():
                self.aliases.setdefault(alias, command)
            for prefix, route in router.options.items():
                self.options.setdefault(prefix, route)
            for match, route in router.text_routes:
                if match is not None:
                    self.text_matchers.append((match, route))
                elif self.text_route is None:
                    self.text_route = route

    @property
    def forms(self) -> list[Form]:
        return [form for router in self.routers for form in router.forms]

    def menu_for(self, role: Role) -> list[MenuEntry]:
        entries = [e for r in self.routers for e in r.menu_entries if role in e.roles]
        return sorted(entries, key=lambda e: e.order)

    def help_for(self, role: Role) -> list[tuple[str, str]]:
        """(command, summary macro) for every documented command this role may use."""
        seen: dict[str, tuple[str, str]] = {}
        for name, route in self.commands.items():
            if route.summary and role in route.roles and route.name not in seen:
                seen[route.name] = (name, route.summary)
        return list(seen.values())

    def alias_command(self, text: str) -> str | None:
        return self.aliases.get(text)

    def resolve(self, incoming: Incoming, ctx: Context) -> Resolved:
        """Pick the route for ``incoming``; forms and cancel are handled by the dispatcher."""
        if incoming.command is not None:
            route = self.commands.get(incoming.command)
            if route is None:
                return Resolved(
                    replies=[Reply("system/unknown_command", {"command": incoming.command})]
                )
            return Resolved(route=route)
        if incoming.kind is ContentKind.OPTION and incoming.option is not None:
            prefix = incoming.option.split(":", 1)[0]
            route = self.options.get(prefix)
            if route is None:
                return Resolved(replies=[Reply("system/stale_option")])
            return Resolved(route=route)
        text = incoming.text.strip()
        for match, route in self.text_matchers:
            if match(text):
                return Resolved(route=route)
        if self.text_route is None:
            return Resolved(replies=[Reply("system/not_understood")])
        return Resolved(route=self.text_route)


def as_command(incoming: Incoming, text: str) -> Incoming | None:
    """``incoming`` re-read as the command ``text`` (a menu button's value or an alias)."""
    parsed = split_command(text)
    if parsed is None:
        return None
    name, args = parsed
    return Incoming(
        sender=incoming.sender,
        kind=ContentKind.COMMAND,
        received_at=incoming.received_at,
        text=text,
        command=name,
        args=args,
        message_id=incoming.message_id,
    )


def is_cancel(incoming: Incoming) -> bool:
    return incoming.command == "cancel" or (
        incoming.kind is ContentKind.TEXT and incoming.text.strip().lower() in CANCEL_WORDS
    )
