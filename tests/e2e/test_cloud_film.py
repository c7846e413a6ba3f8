"""Cloud film on a phone (390x844) in Debian's Chromium against the real API: the patient signs in with an SMS code,
sees exams from two alliance hospitals, scrolls one in the phone viewer with a window preset, makes a QR for it; a
clinician with no account opens the QR and the diagnostic viewer (DICOMweb limited to that exam); the patient
withdraws the QR, the clinician's page stops, and the access log shows it all. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.webapp import PHONE, shot
from tests.support.api import Api
from tests.support.cloud_film import texted_code, two_hospital_patient

pytestmark = pytest.mark.integration


async def _phone(browser: Browser) -> Page:
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


async def _image_loaded(page: Page) -> None:
    image = page.get_by_test_id("film-image")
    await expect(image).to_be_visible()
    loaded = "() => { const i = document.querySelector('[data-testid=film-image]'); return i && i.complete"
    await page.wait_for_function(loaded + " && i.naturalWidth > 0; }")


async def test_a_patient_shows_an_exam_to_a_doctor_by_qr_and_withdraws_it(
    api: Api, engine: AsyncEngine, live_api: str, browser: Browser
) -> None:
    film = await two_hospital_patient(api, engine, sign_in=False)
    patient = await _phone(browser)

    # Sign in with the phone number and the code the (local) SMS adapter recorded.
    await patient.goto(f"{live_api}/film")
    await expect(patient.get_by_role("note")).to_contain_text("仅供参考")
    await patient.get_by_label("手机号").fill(film.phone)
    await patient.get_by_role("button", name="获取验证码").click()
    await expect(patient.get_by_text("验证码已通过短信发送")).to_be_visible()
    await patient.get_by_label("6 位验证码").fill(await texted_code(api, film.phone))
    await patient.get_by_role("button", name="登录").click()

    # Exams from both hospitals, newest first, each with its signed report.
    cards = patient.locator("li.film-card")
    await expect(cards).to_have_count(2)
    assert await cards.nth(0).get_attribute("data-study") == film.qingshan_study
    assert await cards.nth(1).get_attribute("data-study") == film.anping_study
    await expect(cards.nth(0)).to_contain_text("青山")
    await expect(cards.nth(1)).to_contain_text("安平")
    await expect(cards.nth(0)).to_contain_text("报告")
    await shot(patient, "cloud-film-phone-exams")
    # 检查结果互认: the patient consents on the phone.
    await patient.get_by_role("button", name="我同意").click()
    await expect(patient.locator(".film-consent")).to_have_attribute("data-granted", "true")

    # The phone viewer: a server-rendered image, then the lung window.
    await cards.nth(1).get_by_role("link").click()
    await _image_loaded(patient)
    await shot(patient, "cloud-film-phone-viewer")
    await patient.get_by_role("button", name="肺窗").click()
    await expect(patient.get_by_test_id("film-image")).to_have_attribute("data-preset", "lung")
    await _image_loaded(patient)
    assert "preset=lung" in (await patient.get_by_test_id("film-image").get_attribute("src") or "")
    await expect(patient.get_by_role("button", name="报告 (PDF)")).to_be_visible()

    # A QR for the h-anping exam only.
    await patient.get_by_role("link", name="返回").click()
    await patient.get_by_role("tab", name="二维码").click()
    await patient.get_by_label("单次检查").select_option(film.anping_study)
    await patient.get_by_role("button", name="生成二维码").click()
    qr = patient.locator("img.film-qr")
    await expect(qr).to_have_count(1)
    url = await qr.get_attribute("data-url")
    assert url and "/c/" in url
    await shot(patient, "cloud-film-phone-qr")

    # A clinician scans it: no account, the exam and its report, and the diagnostic viewer for exactly that exam.
    doctor = await _phone(browser)
    qr_path = "/c/" + url.rsplit("/c/", 1)[1]
    await doctor.goto(f"{live_api}{qr_path}")
    shown = doctor.locator("li.film-card")
    await expect(shown).to_have_count(1)
    assert await shown.first.get_attribute("data-study") == film.anping_study
    await expect(shown.first).to_contain_text("影像所见")
    await shot(doctor, "cloud-film-clinician")
    metadata = f"/dicomweb/studies/{film.anping_study}/series"
    async with doctor.expect_response(lambda r: metadata in r.url, timeout=30_000) as answered:
        await doctor.get_by_test_id("open-viewer").click()
    assert (await answered.value).status == 200

    # The patient withdraws it; the clinician's page says so.
    await patient.get_by_role("button", name="撤销").click()
    await expect(patient.locator("li.film-card[data-state=revoked]")).to_have_count(1)
    await doctor.goto(f"{live_api}{qr_path}")
    await expect(doctor.get_by_role("alert")).to_have_attribute("data-kind", "gone")

    # Who viewed what: the clinician's opening and the refused one after the withdrawal.
    await patient.get_by_role("tab", name="查看记录").click()
    log = patient.locator(".film-log li")
    await expect(log.first).to_be_visible()
    await expect(patient.locator(".film-log li[data-viewer=clinician][data-action=opened]")).to_have_count(1)
    await expect(patient.locator(".film-log li[data-viewer=clinician][data-action=refused_revoked]")).to_have_count(1)
    await expect(patient.locator(".film-log li[data-action=consent_granted]")).to_have_count(1)
    await shot(patient, "cloud-film-phone-access-log")
    assert patient.errors == [] and doctor.errors == []  # type: ignore[attr-defined]


async def test_a_patient_signs_in_with_the_link_on_the_hospitals_result_slip(
    api: Api, engine: AsyncEngine, live_api: str, browser: Browser
) -> None:
    """Issue 17: the share link is a way in too, typed on the phone's sign-in page or from the opened share page."""
    from sqlalchemy import select

    from yilian.db.schema import referrals

    film = await two_hospital_patient(api, engine, sign_in=False)
    async with engine.connect() as conn:
        rid = await conn.scalar(select(referrals.c.id).where(referrals.c.study_instance_uid == film.anping_study))
    link = await api.ok("zhao.anping", "POST", f"/api/referrals/{rid}/share-links", 201, json={"days": 7})
    patient = await _phone(browser)

    await patient.goto(f"{live_api}/film")
    await patient.get_by_role("button", name="我有医院给的链接").click()
    await patient.get_by_label("链接或代码").fill(link["url"])
    await patient.get_by_label("出生日期").fill("1975-05-05")
    await patient.get_by_role("button", name="登录", exact=True).click()
    await expect(patient.locator("li.film-card")).to_have_count(2)  # both hospitals, not only the link's exam

    await patient.get_by_role("button", name="退出").click()
    await patient.goto(f"{live_api}/s/{link['token']}")
    await patient.get_by_label("出生日期").fill("1975-05-05")
    await patient.get_by_role("button", name="查看结果").click()
    await patient.get_by_role("button", name="查看我在所有医院的检查（云胶片）").click()
    await expect(patient).to_have_url(f"{live_api}/film")
    await expect(patient.locator("li.film-card")).to_have_count(2)
    assert patient.errors == []  # type: ignore[attr-defined]
