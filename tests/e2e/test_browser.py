"""A real headless Chromium opens the web chat, sends /start, sees the menu and uses it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = (
    os.environ.get("CUNZHAN_CHROMIUM")
    or shutil.which("chromium")
    or shutil.which("chromium-browser")
)
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium_path() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium (Debian package `chromium`)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return CHROMIUM


async def test_browser_start_menu_and_profile(app, chromium_path: str, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    url = f"http://127.0.0.1:{app.http_port}/"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=FLAGS
        )
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(url)
            await page.fill("#text", "/start")
            await page.click("#send")
            await page.wait_for_selector(".msg.bot >> text=欢迎使用", timeout=10_000)
            buttons = await page.locator(".msg.bot .options button").all_inner_texts()
            assert buttons == ["政策问答", "培训课程", "我的培训", "我的信息", "修改资料", "帮助"]
            await page.click(".options button >> text=我的信息")
            await page.wait_for_selector(".msg.bot >> text=身份：农户", timeout=10_000)
            await page.click("#menu")
            await page.locator(".msg.bot .options").nth(2).wait_for(timeout=10_000)
            await page.screenshot(path=str(tmp_path / "webchat.png"), full_page=True)
            assert errors == []
        finally:
            await browser.close()
