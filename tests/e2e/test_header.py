"""The header in a real browser (Debian's chromium): the organization's pages sit in one
"Organization" menu that opens by mouse and by keyboard, marks the page it leads to, and keeps
the header within a phone's width in English and in Chinese."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

# How far the page, or any row of the header, reaches past its box (0: nothing scrolls sideways).
OVERFLOW_JS = """() => Math.max(...[document.documentElement,
  ...document.querySelectorAll('header nav, header nav > ul')].map(
    el => el.scrollWidth - el.clientWidth))"""
# Each entry of the open menu: its box, and whether it is what the page shows at its middle
# (false when a scrolling row clips it or something covers it).
MENU_ENTRIES_JS = """() => [...document.querySelectorAll('[data-testid=organization-menu] li')].map(
  li => {
    const box = li.getBoundingClientRect();
    const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return {left: box.left, right: box.right, shown: li.contains(top)};
  })"""


def focused(page: Page) -> str:
    """The focused element's tag and text, as ``SUMMARY Organization``."""
    return page.evaluate(
        "() => `${document.activeElement.tagName} ${document.activeElement.innerText.trim()}`"
    )


def entry(page: Page, name: str) -> Locator:
    """An entry of the Organization menu, shown or not (closed, the menu hides its links)."""
    return page.get_by_test_id("organization-menu").get_by_role(
        "link", name=name, include_hidden=True
    )


def check_fits(page: Page) -> None:
    """Nothing scrolls sideways, and every entry of the open menu is on the screen, uncovered."""
    assert page.evaluate(OVERFLOW_JS) == 0
    entries = page.evaluate(MENU_ENTRIES_JS)
    assert entries, "the menu has no entries"
    width = page.viewport_size["width"]
    for box in entries:
        assert box["shown"] and 0 <= box["left"] and box["right"] <= width, entries


def test_the_organization_menu_opens_by_keyboard_and_marks_the_current_page(session, owner):
    page = session.page
    log_in(session, owner.username)
    menu = page.get_by_test_id("organization-menu")
    summary = menu.locator("summary")
    members = menu.get_by_role("link", name="Members")
    programs = page.get_by_role("banner").get_by_role("link", name="Programs", exact=True)
    # On the portfolio the menu is closed and not current; its links are not shown.
    expect(summary).to_have_text("Organization")
    expect(summary).not_to_have_attribute("aria-current", "true")
    expect(members).to_be_hidden()
    # A non-staff member has no Admin entry.
    expect(menu.get_by_role("link", name="Admin")).to_have_count(0)
    session.step("menu closed")

    # Tab from the last link before it: the summary takes the focus, Enter opens the menu, Tab
    # walks its links, Escape closes it again with the focus back on the summary.
    programs.focus()
    page.keyboard.press("Tab")
    assert focused(page) == "SUMMARY Organization"
    page.keyboard.press("Enter")
    expect(members).to_be_visible()
    page.keyboard.press("Tab")
    assert focused(page) == "A Members"
    session.step("menu open by keyboard")
    page.keyboard.press("Escape")
    expect(members).to_be_hidden()
    assert focused(page) == "SUMMARY Organization"
    # Space opens it too; Tab twice, Enter: the API tokens page.
    page.keyboard.press(" ")
    expect(members).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused(page) == "A API tokens"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    # The menu's summary is current, and so is the page's entry in it (the menu closed again).
    expect(summary).to_have_attribute("aria-current", "true")
    expect(entry(page, "API tokens")).to_have_attribute("aria-current", "page")
    expect(entry(page, "Members")).not_to_have_attribute("aria-current", "page")
    expect(programs).not_to_have_attribute("aria-current", "page")
    session.step("api tokens by keyboard")

    # Tabbing past the last entry closes the menu.
    summary.focus()
    page.keyboard.press("Enter")
    menu.get_by_role("link", name="Invitations").focus()
    page.keyboard.press("Tab")
    expect(members).to_be_hidden()

    # On a program page the menu is not current.
    programs.click()
    expect(programs).to_have_attribute("aria-current", "page")
    expect(summary).not_to_have_attribute("aria-current", "true")


@pytest.mark.parametrize(
    ("width", "language", "menu_name", "webhooks", "calibration"),
    [
        (390, "English", "Organization", "Webhooks", "Calibration"),
        (390, "简体中文", "组织", "Webhook", "校准"),
        # The short Chinese names put the menu at the end of the first row: a menu hung from
        # its summary there ran 5 px past a 360 px screen.
        (360, "简体中文", "组织", "Webhook", "校准"),
    ],
)
def test_on_a_phone_the_header_fits_and_the_menu_leads_to_its_pages(
    session, owner, width, language, menu_name, webhooks, calibration
):
    owner.is_staff = True  # the Admin entry too: the longest menu
    owner.save(update_fields=["is_staff"])
    page = session.page
    page.set_viewport_size({"width": width, "height": 844})
    log_in(session, owner.username)
    page.locator(".language-switch").get_by_role("button", name=language).click()
    expect(page.locator("html")).to_have_attribute(
        "lang", "en" if language == "English" else "zh-hans"
    )
    menu = page.get_by_test_id("organization-menu")
    summary = menu.locator("summary")
    expect(summary).to_have_text(menu_name)
    assert page.evaluate(OVERFLOW_JS) == 0
    session.step(f"phone header {language}")

    summary.click()
    expect(menu.get_by_role("link", name=webhooks)).to_be_visible()
    expect(menu.locator("li")).to_have_count(6)  # with Admin, for staff
    check_fits(page)
    session.step(f"phone menu open {language}")
    menu.get_by_role("link", name=webhooks).click()
    expect(summary).to_have_attribute("aria-current", "true")
    expect(entry(page, webhooks)).to_have_attribute("aria-current", "page")
    assert page.evaluate(OVERFLOW_JS) == 0

    summary.click()
    menu.get_by_role("link", name=calibration).click()
    expect(entry(page, calibration)).to_have_attribute("aria-current", "page")
    expect(entry(page, webhooks)).not_to_have_attribute("aria-current", "page")
    summary.click()
    check_fits(page)
    session.step(f"phone calibration {language}")
