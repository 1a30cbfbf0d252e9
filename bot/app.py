"""The composition root: builds every part from the settings and runs them together."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Sequence

from aiohttp import web

from bot.channels.base import Channel
from bot.channels.webchat import WebChatChannel
from bot.clock import Clock, SystemClock
from bot.context import Services
from bot.dialogs import FormEngine
from bot.dispatcher import Dispatcher
from bot.notify import Notifier
from bot.render import Renderer, build_environment
from bot.router import Catalog, Router
from bot.settings import Settings, SettingsError
from bot.tokens import OptionSigner
from content.policy.build import load_engine
from content.regions import Gazetteer
from scheduler.delivery import DeliveryWorker
from scheduler.fanout import Fanout
from scheduler.setup import SchedulerService, build_runtime
from storage import migrate
from storage.crypto import PiiCipher, PiiKeyError
from storage.db import Database
from storage.repositories import PrivacyRepository

log = logging.getLogger("cunzhan.app")

MAX_HTTP_BODY = 1024 * 1024


class CunzhanApp:
    """Everything one cunzhan process runs: database, dispatcher, channels, HTTP server."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        routers: Sequence[Router] | None = None,
    ) -> None:
        if routers is None:
            from handlers import ROUTERS

            routers = ROUTERS
        self.settings = settings
        self.clock = clock or SystemClock()
        self.db = Database(settings.database.url)
        self.renderer = Renderer(
            build_environment(settings.timezone), OptionSigner(settings.secret_key)
        )
        catalog = Catalog(routers)
        self.notifier = Notifier(self.renderer)
        self.pii = PiiCipher(settings.secret_key)
        regions = Gazetteer.load()
        self.services = Services(
            settings=settings,
            clock=self.clock,
            catalog=catalog,
            forms=FormEngine(catalog.forms),
            regions=regions,
            notifier=self.notifier,
            pii=self.pii,
            policy=load_engine(regions),
        )
        self.dispatcher = Dispatcher(db=self.db, renderer=self.renderer, services=self.services)
        self.channels: list[Channel] = [WebChatChannel(self.renderer)]
        if settings.telegram.enabled:
            from bot.channels.telegram import TelegramChannel

            self.channels.append(TelegramChannel(settings.telegram, self.db, self.clock))
        if settings.wechat.enabled:
            from bot.channels.wechat import WechatChannel

            wechat = WechatChannel(settings.wechat, self.renderer, self.db, self.clock)
            self.channels.append(wechat)
        self.delivery = DeliveryWorker(
            self.db, {c.name: c for c in self.channels}, self.clock, config=settings.delivery
        )
        self.scheduler = SchedulerService(
            build_runtime(
                db=self.db,
                notifier=self.notifier,
                clock=self.clock,
                timezone=settings.timezone,
                pii=self.pii,
                holder=f"pid{os.getpid()}",
            )
        )
        self.fanout = Fanout(
            self.db,
            self.notifier,
            self.clock,
            chunk=settings.delivery.broadcast_chunk,
            on_enqueued=self.delivery.wake,
        )
        if settings.wechat.enabled:
            wechat.on_enqueued = self.delivery.wake
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self.http_port: int | None = None

    def channel(self, name: str) -> Channel:
        return next(c for c in self.channels if c.name == name)

    async def start(self) -> None:
        await migrate.upgrade(self.db)
        await self.check_personal_data_key()
        await self.scheduler.start()
        http = web.Application(client_max_size=MAX_HTTP_BODY)
        for channel in self.channels:
            http.add_routes(channel.routes())
        self._runner = web.AppRunner(http, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.http.host, self.settings.http.port)
        await site.start()
        sockets = site._server.sockets if site._server else ()
        self.http_port = sockets[0].getsockname()[1] if sockets else self.settings.http.port
        for channel in self.channels:
            await channel.start(self.dispatcher.handle)
        self._tasks.append(asyncio.create_task(self.delivery.run(), name="delivery"))
        self._tasks.append(asyncio.create_task(self.fanout.run(), name="broadcast-fanout"))
        log.info(
            "cunzhan started",
            extra={
                "url": f"http://{self.settings.http.host}:{self.http_port}",
                "channels": [c.name for c in self.channels],
                "database": self.db.engine.url.render_as_string(hide_password=True),
            },
        )

    async def check_personal_data_key(self) -> None:
        """Refuse to run when ID numbers are stored and CUNZHAN_SECRET_KEY is missing or is
        not the key they were encrypted with (SettingsError names the problem)."""
        async with self.db.transaction() as session:
            sample = await PrivacyRepository(session).id_number_sample()
        if sample is None:
            return
        if not self.settings.secret_key_configured:
            raise SettingsError(
                "ID-card numbers are stored: set CUNZHAN_SECRET_KEY to the key they were "
                "encrypted with"
            )
        try:
            self.pii.decrypt(sample)
        except PiiKeyError:
            raise SettingsError(
                "CUNZHAN_SECRET_KEY does not open the stored ID-card numbers"
            ) from None

    async def stop(self) -> None:
        await self.scheduler.stop()
        self.delivery.stop()
        self.fanout.stop()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=10)
            except TimeoutError:
                task.cancel()
            except Exception:
                log.exception("background task failed", extra={"task": task.get_name()})
        for channel in reversed(self.channels):
            try:
                await channel.stop()
            except Exception:
                log.exception("channel did not stop cleanly", extra={"channel": channel.name})
        if self._runner is not None:
            await self._runner.cleanup()
        await self.db.dispose()
        log.info("cunzhan stopped")

    async def run_until_stopped(self) -> None:
        """Start, wait for SIGINT/SIGTERM, stop."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
