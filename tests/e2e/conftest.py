"""Fixtures of the browser tests: Debian's chromium driven by Playwright against pytest-django's
live server, a real Celery worker process on the real broker and the test database, and a
screenshot of every step under ``$VAR_DIR/e2e-artifacts/<test>/``.

Playwright's browser download does not work on these machines, so the tests launch
``/usr/bin/chromium`` (``scripts/test.sh`` installs Debian's package when it is missing)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.runs.worker_process import database_url_of_test_db, running_worker

CHROMIUM = Path("/usr/bin/chromium")
# The flags PITFALLS.md names for Debian's chromium under root on a headless 2-core machine: no
# sandbox (root), no GPU, and none of the background traffic a browser makes on its own (updates,
# sync, first-run pages) that would only slow the tests down and talk to the network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Generous for a loaded 2-core machine; a step that waits this long has failed.
TIMEOUT_MS = 30_000
# Requests the browser makes by itself that no page links (a site without an icon gets asked for
# /favicon.ico): a 404 on these is listed in the test's probes.txt artifact instead of failing
# it. Empty: base.html links its icon. Nothing else is ever excused.
UNLINKED_BROWSER_PROBES: set[str] = set()
PASSWORD = "correct horse battery staple"  # what tests/accounts/factories.py gives every user


@pytest.fixture(scope="session")
def artifacts_dir(django_db_setup) -> Path:
    """``$VAR_DIR/e2e-artifacts/<database>``, emptied once per session so it shows the latest run
    only. One folder per database: CI runs the suite on SQLite, then on Postgres, in one VAR_DIR."""
    path = Path(settings.VAR_DIR) / "e2e-artifacts" / connection.vendor
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@pytest.fixture(scope="module")
def allow_orm_beside_playwright() -> Iterator[None]:
    # Playwright's sync API runs an asyncio loop in the test's thread, so Django's async-safety
    # check would refuse every ORM call of the test (and pytest-django's flush after it) with
    # SynchronousOnlyOperation. Nothing here is async code: turn the check off for this module
    # only, and put the environment back afterwards.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(allow_orm_beside_playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            "the browser tests need Debian's chromium at /usr/bin/chromium: "
            "apt-get install -y chromium (./scripts/test.sh does it when run as root)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=TIMEOUT_MS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def database_url(django_db_setup, django_db_blocker) -> str:
    with django_db_blocker.unblock():
        return database_url_of_test_db()


@pytest.fixture(scope="module")
def worker(database_url, tmp_path_factory):
    """A real ``celery worker`` process, shared by the module's tests (starting one costs ~3 s)."""
    with running_worker(database_url, tmp_path_factory.mktemp("workers"), "e2e") as w:
        yield w


@dataclass
class Session:
    """One browser tab with what its pages said on the console, and a screenshot per step."""

    page: Page
    base_url: str
    folder: Path
    problems: list[str] = field(default_factory=list)
    probes: list[str] = field(default_factory=list)
    steps: int = 0

    def url(self, path: str) -> str:
        return self.base_url + path

    def step(self, name: str) -> None:
        """Screenshot the page as ``NN-name.png`` and fail if any page so far logged an error."""
        self.steps += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        self.page.screenshot(path=self.folder / f"{self.steps:02d}-{slug}.png", full_page=True)
        assert not self.problems, f"console errors up to step {name!r}: {self.problems}"

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        source = message.location.get("url", "")
        if urlsplit(source).path in UNLINKED_BROWSER_PROBES:
            self.probes.append(f"{self.page.url}: {message.text} ({source})")
            return
        self.problems.append(f"{self.page.url}: console error: {message.text} ({source})")

    def _page_error(self, error: Exception) -> None:
        self.problems.append(f"{self.page.url}: uncaught exception: {error}")


@pytest.fixture
def session(browser, live_server, artifacts_dir, request) -> Iterator[Session]:
    """A fresh browser context (no cookies) on the live server, English first as a visitor's
    browser would ask; console errors and uncaught exceptions of every page are collected."""
    context = browser.new_context(
        locale="en-US", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    folder = artifacts_dir / request.node.name
    folder.mkdir()
    session = Session(page=page, base_url=live_server.url, folder=folder)
    page.on("console", session._console)
    page.on("pageerror", session._page_error)
    try:
        yield session
    finally:
        # Whatever happened, keep the last thing the browser showed next to the steps.
        try:
            if session.probes:
                (folder / "probes.txt").write_text("\n".join(session.probes) + "\n")
            page.screenshot(path=folder / "last.png", full_page=True)
        finally:
            context.close()


def log_in(session: Session, username: str) -> None:
    """Through the login form, as a person would: the first page asks for it."""
    page = session.page
    page.goto(session.url("/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()


def open_organization_menu(session: Session) -> None:
    """Open the header's Organization menu (Members, API tokens, Webhooks, Calibration,
    Invitations, Admin), as a person must before following one of its links: closed, they are
    not shown."""
    menu = session.page.get_by_test_id("organization-menu")
    expect(menu).not_to_have_attribute("open", "")
    menu.locator("summary").click()
    expect(menu).to_have_attribute("open", "")
