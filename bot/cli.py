"""The ``cunzhan`` command: run the bot, issue invite codes, migrate the database, answer
policy questions (`ask`), rebuild the policy corpus (`content build`), follow a broadcast's
progress, and the feature commands (ledger, reports, trainees, prices, info)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot import logs
from bot.clock import SystemClock
from bot.info_cli import add_commands, import_prices, post_info
from bot.settings import Settings, SettingsError, load_settings
from storage import migrate
from storage.crypto import PiiCipher
from storage.db import Database
from storage.models import Broadcast, BroadcastStatus, Role
from storage.repositories import Repositories
from storage.repositories.broadcasts import Progress

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
    reports = sub.add_parser("reports", help="report types and exports")
    rep_sub = reports.add_subparsers(dest="reports_command", required=True)
    rep_export = rep_sub.add_parser("export", help="write one period's reports to an .xlsx file")
    rep_export.add_argument("period", help="the period, e.g. 2026-10")
    rep_export.add_argument(
        "--type", default="progress", help="report type code (default progress)"
    )
    rep_export.add_argument("--county", help="only this county")
    rep_export.add_argument("--out", required=True, help="the .xlsx file to write")
    set_due = rep_sub.add_parser("set-due", help="change a report type's due day")
    set_due.add_argument("code")
    set_due.add_argument("day", type=int)
    add_type = rep_sub.add_parser("add-type", help="add or replace report types from YAML")
    add_type.add_argument("file", help="a YAML file with a `types:` list like report_types.yaml")
    ledger = sub.add_parser("ledger", help="the agency-order ledger (台账)")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    for name, text in (("export", "write a month's 台账 as .xlsx"), ("totals", "print figures")):
        command = ledger_sub.add_parser(name, help=text)
        command.add_argument("--county", required=True, help="county (县/市/区)")
        command.add_argument("--village", help="the station's village (default: whole county)")
        command.add_argument("--month", required=True, help="YYYY-MM")
        if name == "export":
            command.add_argument("--out", required=True, help="the .xlsx file to write")
    add_commands(sub)
    trainees = sub.add_parser("trainees", help="the training archive")
    trainees_sub = trainees.add_subparsers(dest="trainees_command", required=True)
    export = trainees_sub.add_parser("export", help="write the trainee archive as Excel")
    export.add_argument("--out", required=True, help="the .xlsx file to write")
    export.add_argument("--county", help="only trainees of this county")
    export.add_argument("--masked", action="store_true", help="mask phone and ID numbers")
    broadcast = sub.add_parser("broadcast", help="broadcasts to roles and regions")
    broadcast_sub = broadcast.add_subparsers(dest="broadcast_command", required=True)
    status = broadcast_sub.add_parser("status", help="a broadcast's progress with a bar")
    status.add_argument("id", type=int, help="the broadcast's number (shown by /broadcasts)")
    status.add_argument("--watch", action="store_true", help="redraw until it is delivered")
    status.add_argument("--interval", type=float, default=1.0, help="seconds between redraws")
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


@asynccontextmanager
async def migrated_repos(
    settings: Settings, pii: PiiCipher | None = None
) -> AsyncIterator[Repositories]:
    """Migrate the configured database, then one transaction's repositories (committed when
    the block ends without an error); the engine is disposed afterwards."""
    db = Database(settings.database.url)
    try:
        await migrate.upgrade(db)
        async with db.transaction() as session:
            yield Repositories.on(session, pii)
    finally:
        await db.dispose()


def county_option(text: str | None) -> tuple[bool, str | None]:
    """``--county``: (known, its gazetteer name); no option is known and ``None``."""
    from content.regions import Gazetteer

    if not text:
        return True, None
    found = Gazetteer.load().county(text)
    if found is None:
        print(f"unknown county: {text}", file=sys.stderr)
        return False, None
    return True, found.name


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

    app = CunzhanApp(settings)
    try:
        await app.run_until_stopped()
    except SettingsError as exc:
        await app.db.dispose()
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return 0


async def _invite(settings: Settings, args: argparse.Namespace) -> int:
    known, county = county_option(args.county)
    if not known:
        return 2
    days = args.days if args.days is not None else settings.limits.invite_days
    if not 1 <= days <= 365:
        print("--days must be between 1 and 365", file=sys.stderr)
        return 2
    now = SystemClock().now()
    async with migrated_repos(settings) as repos:
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
    expires = row.expires_at.astimezone(ZoneInfo(settings.timezone))
    print(code)
    print(
        f"role={args.role} county={county or '-'} village={args.village or '-'} "
        f"expires={expires:%Y-%m-%d %H:%M} ({settings.timezone}); send: /bind {code}",
        file=sys.stderr,
    )
    return 0


async def _trainees_export(settings: Settings, args: argparse.Namespace) -> int:
    """The administrator's archive export from the command line (audited like the chat's)."""
    from bot.render import Renderer, build_environment
    from bot.tokens import OptionSigner
    from handlers.training.export import build_workbook

    known, county = county_option(args.county)
    if not known:
        return 2
    async with migrated_repos(settings, PiiCipher(settings.secret_key)) as repos:
        rows = await repos.training.archive(county)
        content = build_workbook(
            rows,
            id_number=repos.people.id_number,
            full=not args.masked,
            timezone=settings.timezone,
            words=Renderer(
                build_environment(settings.timezone), OptionSigner(settings.secret_key)
            ),
        )
        await repos.audit.record(
            action="trainees.export",
            target_type="archive",
            target_id=county or "all",
            at=SystemClock().now(),
            actor_label="cli",
            details={"rows": len(rows), "full_numbers": not args.masked},
        )
    Path(args.out).write_bytes(content)
    print(f"{len(rows)} rows written to {args.out}", file=sys.stderr)
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


async def _ledger(settings: Settings, args: argparse.Namespace) -> int:
    """``cunzhan ledger export|totals``: an operator's export (full phones, audited) or figures."""
    import json
    from pathlib import Path

    from bot.render import Renderer, build_environment
    from bot.tokens import OptionSigner
    from content.regions import Gazetteer
    from handlers.ledger import export_month, parse_month, totals_data

    found = Gazetteer.load().county(args.county)
    month = parse_month(args.month, SystemClock().now().date())
    if found is None or month is None or "-" not in args.month:
        print("unknown county or month (use --month YYYY-MM)", file=sys.stderr)
        return 2
    year, number = month
    async with migrated_repos(settings) as repos:
        if args.ledger_command == "totals":
            totals = await repos.orders.monthly_totals(
                county=found.name, village=args.village, year=year, month=number
            )
            print(json.dumps(totals_data(totals)))
            return 0
        signer = OptionSigner(settings.secret_key)
        renderer = Renderer(build_environment(settings.timezone), signer)
        exported = await export_month(
            repos,
            renderer,
            county=found.name,
            village=args.village,
            year=year,
            month=number,
            full_phones=True,
            timezone=settings.timezone,
        )
        Path(args.out).write_bytes(exported.content)
        await repos.audit.record(
            action="ledger.export",
            target_type="ledger",
            target_id=f"{found.name}/{args.village or '*'}/{year}-{number:02d}",
            at=SystemClock().now(),
            actor_label="cli",
            details={"rows": exported.rows, "full_phones": True},
        )
    print(f"{exported.rows} orders written to {args.out}", file=sys.stderr)
    return 0


async def _reports(settings: Settings, args: argparse.Namespace) -> int:
    """``cunzhan reports export|set-due|add-type``: the same checks and audit as in chat."""
    from bot.cli_reports import run_reports

    async with migrated_repos(settings) as repos:
        code, message = await run_reports(repos, settings, args, now=SystemClock().now())
    print(message, file=sys.stdout if code == 0 else sys.stderr)
    return code


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
    if command == "ledger":
        return asyncio.run(_ledger(settings, args))
    if command == "prices":
        return asyncio.run(import_prices(settings, args))
    if command == "info":
        return asyncio.run(post_info(settings, args))
    if command == "trainees":
        return asyncio.run(_trainees_export(settings, args))
    if command == "reports":
        return asyncio.run(_reports(settings, args))
    if command == "broadcast":
        return asyncio.run(_broadcast(settings, args))
    if command == "ask":
        return _ask(settings, args)
    if command == "content":
        return _content(args)
    return asyncio.run(_db(settings, args))


if __name__ == "__main__":
    sys.exit(main())
