"""SIGKILL between a liaison's 确认 of a monthly report and the commit of its transaction
(the report row, its revision and its audit entry already written, nothing committed), then a
restart: the report is stored whole or not at all, the liaison's form is where it was, and the
confirmation (replayed from the inbox, then sent again by the liaison) makes one report."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.db import Database
from storage.models import AuditEntry, DialogState, Report, ReportRevision
from tests.conftest import issue_invite
from tests.faults.conftest import assert_ledger, ledger, wait_for

# Loaded by the test's process only (through PYTHONPATH): after the report's audit entry is
# flushed inside the message's transaction, the process kills itself once, before the commit.
KILL_SHIM = """
import os
import signal

_marker = os.environ.get("CUNZHAN_TEST_KILL_BEFORE_REPORT_COMMIT")
if _marker:
    import storage.repositories.audit as _audit

    _record = _audit.AuditRepository.record

    async def _record_then_die(self, **kwargs):
        entry = await _record(self, **kwargs)
        if kwargs.get("action", "").startswith("report.") and os.path.exists(_marker):
            os.remove(_marker)
            os.kill(os.getpid(), signal.SIGKILL)
        return entry

    _audit.AuditRepository.record = _record_then_die
"""

CHAT = 720


async def counts(database_url: str) -> dict[str, int]:
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            result = {}
            for name, model in (
                ("reports", Report),
                ("revisions", ReportRevision),
                ("dialogs", DialogState),
            ):
                result[name] = await session.scalar(select(func.count()).select_from(model))
            result["audits"] = await session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action.like("report.%"))
            )
            forms = list(await session.scalars(select(DialogState.form)))
            report = await session.scalar(select(Report))
    finally:
        await db.dispose()
    return {**result, "forms": forms, "report": report}


async def test_kill_between_confirmation_and_commit(fake, bots, database_url, tmp_path) -> None:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(KILL_SHIM, encoding="utf-8")
    marker = tmp_path / "kill-once"
    proc = await bots.start(extra_path=shim, CUNZHAN_TEST_KILL_BEFORE_REPORT_COMMIT=str(marker))

    db = Database(database_url)
    code = await issue_invite(db, "liaison", county="滑县", village="王庄村")
    await db.dispose()
    fake.inject_message(CHAT, f"/bind {code}")
    await fake.wait_for_sent(1, chat_id=CHAT)
    fake.inject_message(CHAT, "月报 培训12人 代销8单 3200元")
    [_, check] = await fake.wait_for_sent(2, chat_id=CHAT)
    assert "请核对" in check.text
    sent_before = len(fake.messages_to(CHAT))

    marker.write_text("1", encoding="utf-8")
    fake.inject_message(CHAT, "确认")
    assert proc.proc is not None
    await wait_for(lambda: proc.proc.returncode is not None, timeout=15, what="the kill")
    await proc.kill()
    assert not marker.exists() and proc.proc.returncode == -9  # died where it was meant to
    assert len(fake.messages_to(CHAT)) == sent_before  # nothing was said about the report

    # Not at all: no report, revision or audit entry; the form still waits at its check.
    mid = await counts(database_url)
    assert (mid["reports"], mid["revisions"], mid["audits"]) == (0, 0, 0), mid
    assert mid["forms"] == ["report"], mid

    await bots.start()  # no shim: the confirmation waiting in the inbox is handled now

    def said(words: str) -> bool:
        return any(words in m.text for m in fake.messages_to(CHAT)[sent_before:])

    await fake.wait_until(lambda: said("已收到"), timeout=20, what="the stored report")
    after = await counts(database_url)
    assert (after["reports"], after["revisions"], after["audits"]) == (1, 1, 1), after
    assert after["forms"] == [], after  # the form ended with the commit
    report = after["report"]
    assert report.version == 1 and report.figures["trained"] == 12
    assert report.figures["sale_amount"] == 320000  # whole: every figure confirmed

    # The liaison, not sure it worked, confirms again: still one report, one revision.
    answered = len(fake.messages_to(CHAT))
    fake.inject_message(CHAT, "确认")
    await fake.wait_for_sent(answered + 1, chat_id=CHAT, timeout=15)
    again = await counts(database_url)
    assert (again["reports"], again["revisions"], again["audits"]) == (1, 1, 1), again
    assert again["report"].version == 1 and again["forms"] == []
    assert_ledger(await ledger(database_url), handled=4)
    assert bots.tracebacks() == [], bots.tracebacks()[:3]
