"""The ``cunzhan`` command: run the bot, issue invite codes, migrate the database, answer
policy questions (`ask`) and rebuild the policy corpus (`content build`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot import logs
from bot.clock import SystemClock
from bot.settings import Settings, SettingsError, load_settings
from storage import migrate
from storage.db import Database
from storage.models import Role
from storage.repositories import Repositories

if TYPE_CHECKING:
    from jinja2 import Environment

    from content.policy.answer import PolicyEngine

INVITE_ROLES = {"admin": Role.ADMIN, "staff": Role.STAFF, "liaison": Role.LIAISON}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cunzhan", description="村站 chat assistant")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (web chat; Telegram when a token is set)")
    invite = sub.add_parser("invite", help="print a one-time code that grants a role")
    invite.add_argument("--role", required=True, choices=sorted(INVITE_ROLES))
    invite.add_argument("--county", help="county (县/市/区) the role is for")
    invite.add_argument("--village", help="village the role is for")
    invite.add_argument("--days", type=int, help="days the code stays valid (default 7)")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply all migrations")
    db_sub.add_parser("current", help="print the schema revision")
    ask = sub.add_parser("ask", help="answer a policy question (as the chat would)")
    ask.add_argument("question", nargs="?", help="the question")
    ask.add_argument(
        "--jsonl",
        action="store_true",
        help='read {"id","question"} lines on stdin, write answers as JSON lines',
    )
    content = sub.add_parser("content", help="policy content")
    content_sub = content.add_subparsers(dest="content_command", required=True)
    build = content_sub.add_parser("build", help="rebuild the policy corpus from a folder")
    build.add_argument("--source", type=Path, help="folder of *.txt documents")
    build.add_argument("--out", type=Path, help="corpus file to write")
    return parser


async def _run(settings: Settings) -> int:
    from bot.app import CunzhanApp

    await CunzhanApp(settings).run_until_stopped()
    return 0


async def _invite(settings: Settings, args: argparse.Namespace) -> int:
    from content.regions import Gazetteer

    county = None
    if args.county:
        found = Gazetteer.load().county(args.county)
        if found is None:
            print(f"unknown county: {args.county}", file=sys.stderr)
            return 2
        county = found.name
    days = args.days if args.days is not None else settings.limits.invite_days
    if not 1 <= days <= 365:
        print("--days must be between 1 and 365", file=sys.stderr)
        return 2
    db = Database(settings.database.url)
    try:
        await migrate.upgrade(db)
        now = SystemClock().now()
        async with db.transaction() as session:
            repos = Repositories.on(session)
            code, row = await repos.invites.issue(
                role=INVITE_ROLES[args.role],
                now=now,
                valid_for=timedelta(days=days),
                county=county,
                village=args.village,
            )
            await repos.audit.record(
                action="invite.issue",
                target_type="invite",
                target_id=row.id,
                at=now,
                actor_label="cli",
                details={"role": args.role, "county": county, "village": args.village},
            )
    finally:
        await db.dispose()
    expires = row.expires_at.astimezone(ZoneInfo(settings.timezone))
    print(code)
    print(
        f"role={args.role} county={county or '-'} village={args.village or '-'} "
        f"expires={expires:%Y-%m-%d %H:%M} ({settings.timezone}); send: /bind {code}",
        file=sys.stderr,
    )
    return 0


async def _db(settings: Settings, args: argparse.Namespace) -> int:
    db = Database(settings.database.url)
    try:
        if args.db_command == "upgrade":
            await migrate.upgrade(db)
        print(await migrate.current_revision(db))
    finally:
        await db.dispose()
    return 0


def ask_record(engine: PolicyEngine, env: Environment, question: str) -> dict[str, object]:
    """One question through the chat's composer and templates: answered, text, sources."""
    from handlers.policy import compose

    answer, reply = compose(engine, question)
    text = env.get_template(f"{reply.template}.j2").render(reply.data).strip()
    return {"answered": answer.answered, "answer": text, "sources": answer.sources}


def _ask(settings: Settings, args: argparse.Namespace) -> int:
    """Answer through the chat's own composer and templates; one question or JSON lines."""
    from bot.render import build_environment
    from content.policy.build import load_engine
    from content.regions import Gazetteer

    env = build_environment(settings.timezone)
    engine = load_engine(Gazetteer.load())

    def one(question: str) -> dict[str, object]:
        return ask_record(engine, env, question)

    if not args.jsonl:
        if not args.question:
            print("usage: cunzhan ask 问题 | cunzhan ask --jsonl < in.jsonl", file=sys.stderr)
            return 2
        print(one(args.question)["answer"])
        return 0
    for line in sys.stdin:
        if not line.strip():
            continue
        item = json.loads(line)
        out = {"id": item.get("id"), **one(str(item.get("question", "")))}
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return 0


def _content(args: argparse.Namespace) -> int:
    """Rebuild the corpus file and print the table checks."""
    from content.policy.build import BUILT_PATH, SOURCE_DIR, write
    from content.regions import Gazetteer

    source = args.source or SOURCE_DIR
    out = args.out or BUILT_PATH
    if not any(source.glob("*.txt")):
        print(f"no *.txt documents in {source}", file=sys.stderr)
        return 2
    data = write(source, out, Gazetteer.load())
    print(
        f"{len(data['documents'])} documents, {len(data['passages'])} passages, "
        f"{len(data['tasks'])} table rows, {len(data['standard'])} standard items, "
        f"{len(data['contacts'])} contacts -> {out}"
    )
    ok = True
    for check in data["checks"]:
        unknown = "、".join(check["unknown"]) or "-"
        print(
            f"{check['operator']}: stated {check['stated']}, rows {check['rows_sum']}, "
            f"illegible {unknown}: {'ok' if check['consistent'] else 'MISMATCH'}"
        )
        ok = ok and check["consistent"]
    garbled = [
        f"{c['city']} {c['printed'] if c['printed'] is not None else '-'}"
        for c in data["city_subtotals"]
        if not c["adds_up"]
    ]
    print(f"city 小计 not matching their rows (rows used): {', '.join(garbled) or '-'}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    command = args.command or "run"
    if command == "run":
        return asyncio.run(_run(settings))
    if command == "invite":
        return asyncio.run(_invite(settings, args))
    if command == "ask":
        return _ask(settings, args)
    if command == "content":
        return _content(args)
    return asyncio.run(_db(settings, args))


if __name__ == "__main__":
    sys.exit(main())
