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
# Generous for a loaded machine (2 cores shared by many test runs), still bounded.
WAIT_MS = 30_000
MENU = ["政策问答", "培训课程", "我的培训", "我的信息", "修改资料", "帮助"]

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium_path() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium (Debian package `chromium`)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return CHROMIUM


async def test_browser_start_menu_and_profile(app, chromium_path: str, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

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
            bot = page.locator(".msg.bot")
            await page.fill("#text", "/start")
            await page.click("#send")
            # Each step waits for its own reply bubble (by count) before the next click: the
            # page ignores a click while a request is in flight, and the welcome's words
            # (您的身份：农户) would satisfy a text-only wait for the profile.
            await expect(bot).to_have_count(1, timeout=WAIT_MS)
            await expect(bot.nth(0)).to_contain_text("欢迎使用")
            await expect(bot.nth(0).locator(".options button")).to_have_text(MENU)
            await bot.nth(0).locator(".options button", has_text="我的信息").click()
            await expect(bot).to_have_count(2, timeout=WAIT_MS)
            await expect(bot.nth(1)).to_contain_text("称呼：")
            await expect(bot.nth(1)).to_contain_text("身份：农户")
            await page.click("#menu")
            await expect(bot).to_have_count(3, timeout=WAIT_MS)
            await expect(bot.nth(2).locator(".options button")).to_have_text(MENU)
            await page.screenshot(path=str(tmp_path / "webchat.png"), full_page=True)
            assert errors == []
        finally:
            await browser.close()
