"""Driving the web app in tests: signing a person in through the real sign-in page, and saving screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, expect

from yilian.db.demo import DEMO_PASSWORD

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}


async def shot(page: Page, name: str, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


async def signed_in(browser: Browser, origin: str, username: str, **context_args: Any) -> Page:
    context = await browser.new_context(viewport=DESKTOP, locale="en-US", **context_args)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: dialog.accept())  # window.confirm of irreversible actions: the person says yes
    await page.goto(f"{origin}/login")
    await page.get_by_label("Language").select_option("en")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page
