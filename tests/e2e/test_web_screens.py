"""Web screens outside the referral loop: Chinese by default, the admin's forms, a session that expires, a phone."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from playwright.async_api import Browser, expect

from tests.e2e.webapp import DESKTOP, PHONE, shot, signed_in
from tests.support.api import Api
from yilian.config import Settings

pytestmark = pytest.mark.integration


async def test_the_sign_in_page_speaks_chinese_by_default_and_refuses_a_wrong_password(
    live_api: str, web_build: Path, browser: Browser
) -> None:
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{live_api}/cases")  # signed out: sent to sign-in, which remembers where the person was going
    await expect(page).to_have_url(re.compile(r"/login$"))
    await expect(page.get_by_role("heading", name=re.compile("登录"))).to_be_visible()
    await page.get_by_label("用户名").fill("zhao.anping")
    await page.get_by_label("密码").fill("not-the-password")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    await shot(page, "login")
    await page.get_by_label("密码").fill("yilian-demo")
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(re.compile(r"/cases$"))
    await expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    await context.close()


async def test_an_expired_session_returns_to_sign_in_with_a_message(
    live_api: str, web_build: Path, browser: Browser, settings: Settings
) -> None:
    now = datetime.now(UTC)
    claims = {"sub": "zhao.anping", "role": "county_doctor", "hospital_id": "h-anping", "iat": now, "gen": 0}
    token = jwt.encode({**claims, "exp": now + timedelta(seconds=4)}, settings.jwt_secret, algorithm="HS256")
    context = await browser.new_context(viewport=DESKTOP, locale="en-US")
    await context.add_init_script(f"sessionStorage.setItem('yilian.token', '{token}')")
    page = await context.new_page()
    await page.goto(f"{live_api}/cases")
    await expect(page.get_by_role("heading", name="My cases")).to_be_visible()
    # Nobody touches the page: the session ends on its own when the token does.
    await expect(page).to_have_url(re.compile(r"/login$"), timeout=15_000)
    await expect(page.get_by_role("status").filter(has_text="session has expired")).to_be_visible()
    assert await page.evaluate("() => sessionStorage.getItem('yilian.token')") is None
    await context.close()


async def test_the_admin_adds_a_hospital_and_the_change_is_logged(
    api: Api, live_api: str, web_build: Path, browser: Browser
) -> None:
    name = f"E2E 白石镇卫生院 {uuid.uuid4().hex[:6]}"
    page = await signed_in(browser, live_api, "admin")
    await expect(page).to_have_url(re.compile(r"/admin"))
    await page.get_by_role("link", name="Hospitals").click()
    await page.get_by_role("button", name="New hospital").click()
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("Level").select_option("township")
    await page.get_by_label("Patient ID issuer").fill("BAISHI")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    hospitals = await api.ok("admin", "GET", "/api/admin/hospitals")
    created = next(h for h in hospitals["items"] if h["name"] == name)
    assert created["level"] == "township" and created["patient_id_issuer"] == "BAISHI"
    await page.get_by_role("link", name="Change log").click()
    await expect(page.get_by_text(created["id"]).first).to_be_visible()
    await page.get_by_role("link", name="Agreements").click()
    await shot(page, "admin-agreements")
    await page.context.close()


async def test_an_expert_on_call_gets_the_worklist_on_a_phone(
    api: Api, live_api: str, web_build: Path, browser: Browser
) -> None:
    referral = await api.submit("zhao.anping", priority="urgent")
    offered = (await api.wait_for("zhao.anping", referral["id"], "offered", timeout=30))["offered_to"]
    page = await signed_in(browser, live_api, offered, is_mobile=True, has_touch=True)
    await page.set_viewport_size(PHONE)
    row = page.get_by_test_id(f"worklist-row-{referral['id']}")
    await expect(row).to_be_visible()
    await expect(row.get_by_role("button", name="Accept")).to_be_visible()
    assert await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    await shot(page, "expert-worklist-phone", full_page=False)
    await page.context.close()
