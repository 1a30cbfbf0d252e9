"""The ``cunzhan`` command: run the bot, issue invite codes, migrate the database, follow
a broadcast's progress."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot import logs
from bot.clock import SystemClock
from bot.settings import Settings, SettingsError, load_settings
from storage import migrate
from storage.db import Database
from storage.models import Broadcast, BroadcastStatus, Role
from storage.repositories import Repositories
from storage.repositories.broadcasts import Progress

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
    broadcast = sub.add_parser("broadcast", help="broadcasts to roles and regions")
    broadcast_sub = broadcast.add_subparsers(dest="broadcast_command", required=True)
    status = broadcast_sub.add_parser("status", help="a broadcast's progress with a bar")
    status.add_argument("id", type=int, help="the broadcast's number (shown by /broadcasts)")
    status.add_argument("--watch", action="store_true", help="redraw until it is delivered")
    status.add_argument("--interval", type=float, default=1.0, help="seconds between redraws")
    return parser


def progress_line(row: Broadcast, progress: Progress, width: int = 30) -> str:
    """``[#########-----]  60%  1200/2000 sent …  29.8/s``: one broadcast's progress."""
    total = max(progress.total, 1)
    filled = min(width, round(width * progress.done / total))
    percent = 100 * progress.done // total
    return (
        f"[{'#' * filled}{'-' * (width - filled)}] {percent:3d}%  "
        f"broadcast {row.id} ({row.status}): {progress.sent}/{progress.total} sent, "
        f"{progress.pending} pending, {progress.failed} failed, {progress.unknown} unknown, "
        f"{progress.unreachable} unreachable, {progress.rate:.1f}/s"
    )


def _finished(row: Broadcast, progress: Progress) -> bool:
    if row.status == BroadcastStatus.CANCELLED.value:
        return True
    return row.status == BroadcastStatus.QUEUED.value and progress.pending == 0


async def _broadcast(settings: Settings, args: argparse.Namespace) -> int:
    db = Database(settings.database.url)
    clock = SystemClock()
    tty = sys.stdout.isatty()
    try:
        while True:
            async with db.transaction() as session:
                repos = Repositories.on(session)
                row = await repos.broadcasts.get(args.id)
                if row is None:
                    print(f"no broadcast {args.id}", file=sys.stderr)
                    return 2
                progress = await repos.broadcasts.progress(row, clock.now())
            line = progress_line(row, progress)
            done = _finished(row, progress)
            if not args.watch or done:
                print(("\r" if tty and args.watch else "") + line)
                return 0
            print(("\r" + line) if tty else line, end="" if tty else "\n", flush=True)
            await asyncio.sleep(max(0.1, args.interval))
    finally:
        await db.dispose()


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
    if command == "broadcast":
        return asyncio.run(_broadcast(settings, args))
    return asyncio.run(_db(settings, args))


if __name__ == "__main__":
    sys.exit(main())
