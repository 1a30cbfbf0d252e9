"""Broadcasts as a source of the background fan-out (scheduler/fanout.py): a confirmed
broadcast, once its start time has come, becomes one outbox row per recipient.

Each chunk writes its rows (dedupe key ``bc:<broadcast>:<user>``, batch id = the
broadcast) together with the broadcast's cursor (the last user id done). The rows are bulk
priority, so direct answers and reminders overtake them in the delivery worker. Once
nothing of a broadcast is left to send, its sender gets a report: how many got it, failed,
or could not be reached.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bot.messages import Reply
from bot.notify import Notifier
from scheduler.fanout import Chunk, Recipient
from storage.models import BroadcastStatus, Priority
from storage.repositories import Repositories

log = logging.getLogger("cunzhan.broadcasts")

KIND = "broadcast"
REPORT_KIND = "broadcast_report"


def dedupe_key(broadcast_id: int, user_id: int) -> str:
    return f"bc:{broadcast_id}:{user_id}"


class BroadcastSource:
    name = "broadcast"

    async def due(self, repos: Repositories, now: datetime) -> list[int]:
        return await repos.broadcasts.due(now)

    async def report_finished(self, repos: Repositories, notifier: Notifier, now: datetime) -> int:
        """Tell each sender how their finished broadcast went (sent, failed, unreachable)."""
        finished = await repos.broadcasts.finished_unreported()
        for row in finished:
            row.reported_at = now
            if row.created_by is None:
                continue
            progress = await repos.broadcasts.progress(row, now)
            data = {
                "id": row.id,
                "region": row.region,
                "total": progress.total,
                "sent": progress.sent,
                "failed": progress.failed + progress.unknown,
                "unreachable": progress.unreachable,
            }
            await notifier.send(
                repos,
                row.created_by,
                Reply("broadcast/finished", data),
                now=now,
                kind=REPORT_KIND,
                priority=Priority.DIRECT,
                dedupe_key=f"bc-report:{row.id}",
            )
        return len(finished)

    async def read(
        self, repos: Repositories, key: int, *, now: datetime, limit: int
    ) -> Chunk | None:
        row = await repos.broadcasts.get(key)
        startable = (BroadcastStatus.SCHEDULED.value, BroadcastStatus.FANNING_OUT.value)
        if row is None or row.status not in startable or row.start_at > now:
            return None
        page = await repos.broadcasts.audience_page(row, after=row.cursor, limit=limit)
        recipients = [Recipient(p.user_id, p.channel, p.address) for p in page.recipients]
        reply = Reply("broadcast/notice", {"text": row.text, "region": row.region})
        return Chunk(row.cursor, page.last_user_id, recipients, page.skipped, reply)

    def row(
        self, notifier: Notifier, chunk: Chunk, recipient: Recipient, now: datetime
    ) -> dict[str, Any]:
        rendered = notifier.render_for(recipient.user_id, chunk.content)
        return {
            **notifier.row(rendered, recipient.user_id, recipient.channel, recipient.address),
            "now": now,
            "kind": KIND,
            "priority": Priority.BULK,
        }

    async def write(
        self,
        repos: Repositories,
        notifier: Notifier,
        key: int,
        chunk: Chunk,
        rows: list[dict[str, Any]],
        *,
        now: datetime,
    ) -> tuple[bool, int]:
        row = await repos.broadcasts.lock(key)
        startable = (BroadcastStatus.SCHEDULED.value, BroadcastStatus.FANNING_OUT.value)
        if row is None or row.status not in startable or row.start_at > now:
            return False, 0
        if row.cursor != chunk.after:  # another fan-out got there first: read again
            return True, 0
        if chunk.last is None:
            row.status = BroadcastStatus.QUEUED.value
            row.fanned_out_at = now
            log.info("broadcast fanned out", extra={"broadcast": row.id, "rows": row.enqueued})
            return False, 0
        for value in rows:
            value.update(dedupe_key=dedupe_key(row.id, value["user_id"]), batch_id=row.id)
        inserted = await repos.outbox.enqueue_many(rows)
        row.status = BroadcastStatus.FANNING_OUT.value
        row.started_at = row.started_at or now
        row.enqueued += len(inserted)
        row.skipped += chunk.skipped
        row.cursor = chunk.last
        return True, len(inserted)
