"""Information items as a source of the background fan-out (scheduler/fanout.py): an item
posted in the ``fanning_out`` state becomes one outbox row per subscriber in its region
and roles (dedupe key ``info:<item>:<user>``), a chunk at a time with the item's cursor.
When the last chunk is done the item is ``queued`` and, in that same transaction, its
author is told how many subscribers it was queued for."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bot.messages import Option, Reply
from bot.notify import Notifier
from content.regions import Gazetteer
from scheduler.fanout import Chunk, Recipient
from storage.models import InfoItem, InfoItemStatus, Priority
from storage.repositories import Repositories

log = logging.getLogger("cunzhan.info")

REPORT_KIND = "info_report"


def dedupe_key(item_id: int, user_id: int) -> str:
    return f"info:{item_id}:{user_id}"


def counties_of(regions: Gazetteer, city: str | None) -> list[str]:
    return [c.name for c in regions.counties_of(city)] if city else []


def push_reply(item: InfoItem) -> Reply:
    data = {
        "topic": item.topic,
        "title": item.title,
        "body": item.body,
        "scope": item.scope,
        "county": item.county,
        "city": item.city,
        "author": item.author_label,
        "at": item.created_at,
    }
    options = (Option("unsubscribe_topic", f"unsub:{item.topic}", {"topic": item.topic}),)
    return Reply("info/push", data, options)


class InfoItemSource:
    name = "info"

    def __init__(self, regions: Gazetteer | None = None) -> None:
        self._regions = regions

    @property
    def regions(self) -> Gazetteer:
        if self._regions is None:
            self._regions = Gazetteer.load()
        return self._regions

    async def due(self, repos: Repositories, now: datetime) -> list[int]:
        return await repos.info_items.fanning_out()

    async def report_finished(self, repos: Repositories, notifier: Notifier, now: datetime) -> int:
        return 0  # the author is told with the last chunk, see ``finish``

    async def read(
        self, repos: Repositories, key: int, *, now: datetime, limit: int
    ) -> Chunk | None:
        item = await repos.info_items.get(key)
        if item is None or item.status != InfoItemStatus.FANNING_OUT.value:
            return None
        page = await repos.subscriptions.audience(
            item.topic,
            scope=item.scope,
            county=item.county,
            city_counties=counties_of(self.regions, item.city),
            roles=item.roles,
            after_user_id=item.cursor,
            limit=limit,
        )
        identities = await repos.subscriptions.reachable_identities(page)
        recipients = [
            Recipient(user_id, identity.channel, identity.external_id)
            for user_id in page
            if (identity := identities.get(user_id)) is not None
        ]
        content = (item.id, item.topic, item.blob_id, push_reply(item))
        last = page[-1] if page else None
        return Chunk(item.cursor, last, recipients, len(page) - len(recipients), content)

    def row(
        self, notifier: Notifier, chunk: Chunk, recipient: Recipient, now: datetime
    ) -> dict[str, Any]:
        item_id, topic, blob_id, reply = chunk.content
        rendered = notifier.render_for(recipient.user_id, reply)
        row = notifier.row(rendered, recipient.user_id, recipient.channel, recipient.address)
        row.update(
            blob_id=blob_id,
            now=now,
            kind=f"info:{topic}",
            priority=Priority.BULK,
            dedupe_key=dedupe_key(item_id, recipient.user_id),
        )
        return row

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
        item = await repos.info_items.lock(key)
        if item is None or item.status != InfoItemStatus.FANNING_OUT.value:
            return False, 0
        if item.cursor != chunk.after:  # another fan-out got there first: read again
            return True, 0
        if chunk.last is None:
            await self.finish(repos, notifier, item, now)
            return False, 0
        inserted = await repos.outbox.enqueue_many(rows)
        item.recipients += len(inserted)
        item.cursor = chunk.last
        return True, len(inserted)

    async def finish(
        self, repos: Repositories, notifier: Notifier, item: InfoItem, now: datetime
    ) -> None:
        item.status = InfoItemStatus.QUEUED.value
        item.fanned_out_at = now
        log.info("info item fanned out", extra={"item": item.id, "rows": item.recipients})
        if item.author_id is None:
            return
        data = {"id": item.id, "title": item.title, "count": item.recipients}
        await notifier.send(
            repos,
            item.author_id,
            Reply("info/fanned_out", data),
            now=now,
            kind=REPORT_KIND,
            priority=Priority.DIRECT,
            dedupe_key=f"info-report:{item.id}",
        )
