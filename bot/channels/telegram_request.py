"""An aiohttp transport for python-telegram-bot (its ``BaseRequest``).

python-telegram-bot's default httpx transport spends most of a send's CPU in
httpcore's connection pool; aiohttp's connector does the same work for a
fraction of it. The Bot API calls, errors and retries stay python-telegram-bot's.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """Called by python-telegram-bot's ``Bot`` for every Bot API request."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 32,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 30.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    @staticmethod
    def _pick(value: object, default: float | None) -> float | None:
        return default if isinstance(value, DefaultValue) else value  # type: ignore[return-value]

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data else None
        params = request_data.json_parameters if request_data else None
        data: aiohttp.FormData | dict[str, str] | None = params
        if files:
            form = aiohttp.FormData()
            for name, value in (params or {}).items():
                form.add_field(name, value)
            for name, (filename, content, mime) in files.items():
                form.add_field(name, content, filename=filename, content_type=mime)
            data = form
        timeout = aiohttp.ClientTimeout(
            sock_connect=self._pick(connect_timeout, self._connect_timeout),
            sock_read=self._pick(read_timeout, self._read_timeout),
            connect=self._pick(pool_timeout, self._pool_timeout),
        )
        # aiohttp has no write timeout of its own: ``write_timeout`` is accepted and unused;
        # a stalled upload ends with the read timeout that follows it.
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as res:
                return res.status, await res.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{exc.__class__.__name__}: {exc}") from exc

    async def post_json(self, url: str, payload: dict[str, Any]) -> tuple[int, Any]:
        """One JSON POST on the same pool and timeouts, answered as (status, parsed body),
        without python-telegram-bot's objects: the outbox worker's hot path. Raises
        ``TimedOut`` / ``NetworkError`` as ``do_request`` does."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        timeout = aiohttp.ClientTimeout(
            sock_connect=self._connect_timeout,
            sock_read=self._read_timeout,
            connect=self._pool_timeout,
        )
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        try:
            async with self._session.post(url, data=body, headers=headers, timeout=timeout) as res:
                raw = await res.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{exc.__class__.__name__}: {exc}") from exc
        try:
            return res.status, json.loads(raw)
        except ValueError as exc:
            raise NetworkError(f"invalid JSON answer (HTTP {res.status})") from exc
