"""A real headless Chromium asks the web chat for a price and sees the trend chart drawn
(the page's Content-Security-Policy must let the data: image through)."""

from __future__ import annotations

import pytest

from tests.e2e.test_browser import FLAGS, WAIT_MS, chromium_path  # noqa: F401  (fixture)
from tests.e2e.test_info_channels import seed_prices

pytestmark = pytest.mark.browser


async def test_browser_shows_the_price_chart(app, chromium_path: str) -> None:  # noqa: F811
    from playwright.async_api import async_playwright

    await seed_prices(app)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=FLAGS
        )
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"http://127.0.0.1:{app.http_port}/")
            await page.fill("#text", "苹果多少钱")
            await page.click("#send")
            image = page.locator(".msg.bot img.attachment")
            await image.wait_for(timeout=WAIT_MS)
            await page.wait_for_function(
                "document.querySelector('.msg.bot img.attachment').naturalWidth > 0",
                timeout=WAIT_MS,
            )
            assert await image.get_attribute("alt") == "price_trend.png"
            assert "灵宝市" in await page.locator(".msg.bot").last.inner_text()
            assert errors == []
        finally:
            await browser.close()
