"""WeChat's server API as the channel uses it: the access_token and customer-service sends.

The access_token is fetched from ``CUNZHAN_WECHAT_API_URL`` (default the public API),
cached until shortly before it expires, fetched by one caller at a time (others wait for
that fetch), refetched once when a call says it is invalid or expired (40001, 40014,
42001), and never fetched more than ``max_token_fetches`` times in 24 hours (WeChat limits
fetches per day). Each error code becomes a ``DeliveryResult`` the outbox worker
understands; 45015/45047 (outside the 48-hour window, or over its message allowance)
become HELD.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.channels.base import DeliveryResult, DeliveryStatus
from bot.settings import WechatSettings

log = logging.getLogger("cunzhan.wechat.api")

DEFAULT_API_URL = "https://api.weixin.qq.com"
TOKEN_INVALID = frozenset({40001, 40014, 42001})
OUT_OF_WINDOW = frozenset({45015, 45047})
GONE = frozenset({40003, 43004, 43019})  # bad openid, not subscribed, blacklisted
BUSY = frozenset({-1, 45009, 45011})
TOKEN_MARGIN_S = 300.0
DAY_S = 24 * 3600.0


class TokenUnavailable(Exception):
    """No access_token can be had now; ``retry_after`` says when to try again."""

    def __init__(self, reason: str, retry_after: float | None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class WechatApi:
    """One per channel; ``close`` on shutdown."""

    def __init__(
        self,
        settings: WechatSettings,
        *,
        max_token_fetches: int = 200,
        timeout_s: float = 10.0,
    ) -> None:
        self.settings = settings
        self.base = (settings.api_url or DEFAULT_API_URL).rstrip("/")
        self.max_token_fetches = max_token_fetches
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._expires: float = 0.0
        self._lock = asyncio.Lock()
        self._fetches: deque[float] = deque()

    @property
    def configured(self) -> bool:
        return bool(self.settings.app_id and self.settings.app_secret)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def token_fetches_today(self) -> int:
        self._forget_old_fetches(time.monotonic())
        return len(self._fetches)

    def _forget_old_fetches(self, now: float) -> None:
        while self._fetches and now - self._fetches[0] > DAY_S:
            self._fetches.popleft()

    async def access_token(self, *, stale: str | None = None) -> str:
        """A valid token; ``stale`` names one a call just refused, so it is refetched once
        however many callers saw it refused at the same time."""
        async with self._lock:
            now = time.monotonic()
            fresh = self._token is not None and now < self._expires
            if fresh and (stale is None or self._token != stale):
                assert self._token is not None
                return self._token
            self._forget_old_fetches(now)
            if len(self._fetches) >= self.max_token_fetches:
                wait = DAY_S - (now - self._fetches[0])
                raise TokenUnavailable("daily access_token fetch limit reached", wait)
            self._fetches.append(now)
            params = {
                "grant_type": "client_credential",
                "appid": self.settings.app_id or "",
                "secret": self.settings.app_secret or "",
            }
            try:
                async with self._http().get(f"{self.base}/cgi-bin/token", params=params) as r:
                    if r.status >= 500:
                        raise TokenUnavailable(f"token endpoint HTTP {r.status}", 5.0)
                    body = await r.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise TokenUnavailable(f"token fetch failed: {type(exc).__name__}", 5.0) from exc
            token = body.get("access_token") if isinstance(body, dict) else None
            if not token:
                code = body.get("errcode") if isinstance(body, dict) else None
                log.error("access_token refused", extra={"errcode": code})
                raise TokenUnavailable(f"access_token refused: errcode {code}", 60.0)
            lifetime = float(body.get("expires_in") or 7200)
            self._token = str(token)
            self._expires = now + max(lifetime - TOKEN_MARGIN_S, lifetime / 2)
            log.info("access_token fetched", extra={"expires_in": lifetime})
            return self._token

    async def send_text(self, openid: str, content: str) -> DeliveryResult:
        """One customer-service text message (客服消息)."""
        payload = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        return await self.call("/cgi-bin/message/custom/send", payload)

    async def send_template(self, openid: str, template_id: str, content: str) -> DeliveryResult:
        """One template message (模板消息), allowed outside the 48-hour window; the
        template's one field ``content`` carries the text."""
        payload = {
            "touser": openid,
            "template_id": template_id,
            "data": {"content": {"value": content}},
        }
        return await self.call("/cgi-bin/message/template/send", payload)

    async def send_image(
        self, openid: str, filename: str, content: bytes, mime_type: str
    ) -> DeliveryResult:
        """Upload an image as temporary media, then send it as a customer-service image."""

        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field("media", content, filename=filename, content_type=mime_type)
            return data

        uploaded = await self._post("/cgi-bin/media/upload", form, {"type": "image"})
        if isinstance(uploaded, DeliveryResult):
            return uploaded
        media_id = uploaded.get("media_id")
        if not media_id:
            return DeliveryResult(DeliveryStatus.FAILED, error="upload gave no media_id")
        payload = {"touser": openid, "msgtype": "image", "image": {"media_id": media_id}}
        return await self.call("/cgi-bin/message/custom/send", payload)

    async def call(self, path: str, payload: dict[str, Any]) -> DeliveryResult:
        """POST ``payload`` as JSON with the access_token; the outcome for the outbox."""
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        body = await self._post(path, lambda: data, {})
        return body if isinstance(body, DeliveryResult) else DeliveryResult(DeliveryStatus.SENT)

    async def _post(
        self,
        path: str,
        make_body: Callable[[], bytes | aiohttp.FormData],
        params: dict[str, str],
    ) -> dict[str, Any] | DeliveryResult:
        """WeChat's JSON answer when it says ok; otherwise the outcome. The token is
        refetched once if it was refused."""
        if not self.configured:
            return DeliveryResult(DeliveryStatus.FAILED, error="wechat app id/secret not set")
        used: str | None = None
        for _attempt in range(2):
            try:
                used = await self.access_token(stale=used)
            except TokenUnavailable as exc:
                return DeliveryResult(
                    DeliveryStatus.RETRY, retry_after=exc.retry_after, error=str(exc)
                )
            body = make_body()
            headers = (
                {"Content-Type": "application/json; charset=utf-8"}
                if isinstance(body, bytes)
                else None
            )
            try:
                async with self._http().post(
                    f"{self.base}{path}",
                    params={**params, "access_token": used},
                    data=body,
                    headers=headers,
                ) as response:
                    if response.status >= 500 or response.status == 429:
                        return DeliveryResult(
                            DeliveryStatus.RETRY, error=f"HTTP {response.status}"
                        )
                    answer = await response.json(content_type=None)
            except TimeoutError:
                return DeliveryResult(DeliveryStatus.UNKNOWN, error="timed out")
            except (aiohttp.ClientError, ValueError) as exc:
                return DeliveryResult(
                    DeliveryStatus.RETRY, retry_after=5.0, error=type(exc).__name__
                )
            if not isinstance(answer, dict):
                return DeliveryResult(DeliveryStatus.RETRY, retry_after=5.0, error="not JSON")
            code = int(answer.get("errcode", 0) or 0)
            if code in TOKEN_INVALID:
                log.info("access_token refused by the API; refetching", extra={"errcode": code})
                continue
            return answer if code == 0 else result_for(code, answer)
        return DeliveryResult(DeliveryStatus.RETRY, retry_after=5.0, error="token refused twice")


def result_for(code: int, body: Any) -> DeliveryResult:
    message = str(body.get("errmsg", "")) if isinstance(body, dict) else ""
    error = f"errcode {code}: {message}"[:200]
    if code == 0:
        return DeliveryResult(DeliveryStatus.SENT)
    if code in OUT_OF_WINDOW:
        return DeliveryResult(DeliveryStatus.HELD, error=error)
    if code in GONE:
        return DeliveryResult(DeliveryStatus.BLOCKED, error=error)
    if code in BUSY:
        return DeliveryResult(DeliveryStatus.RETRY, retry_after=60.0, error=error)
    return DeliveryResult(DeliveryStatus.FAILED, error=error)
