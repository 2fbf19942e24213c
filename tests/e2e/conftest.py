"""The admin as staff use it: Debian's Chromium, driven by Playwright, against gunicorn serving the
test database. Every page a test visits is saved as a screenshot under ``var/test-output/e2e/``
(``FINCORE_E2E_OUTPUT``) for a person to look at after the run.

The server is another process, so these tests commit what they set up (each is transactional).
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.contract.live_server import LiveServer
from tests.support.roles import roles_restore
from tests.support.workers import PROJECT_DIR

CHROMIUM = os.environ.get("FINCORE_E2E_CHROMIUM", "/usr/bin/chromium")
# Chromium as root in a container, with nothing that calls another host: the network is closed
# here, and a back office's browser tests must not depend on it.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps",
]
OUTPUT = Path(os.environ.get("FINCORE_E2E_OUTPUT", PROJECT_DIR / "var" / "test-output" / "e2e"))
# The admin at the narrowest desktop the issue asks it to fit.
VIEWPORT = {"width": 1366, "height": 900}


@pytest.fixture(autouse=True)
def staff_roles(transactional_db) -> None:
    """Every browser test is transactional (the server is another process): the roles the
    migrations made are put back after the previous test emptied the tables."""
    roles_restore()


@pytest.fixture(scope="session")
def admin_server(django_db_setup, django_db_blocker) -> Iterator[LiveServer]:
    server = LiveServer(workers=1, threads=4).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    """One browser for the package's tests, gone before the rest of the suite runs.

    Playwright's synchronous API keeps an event loop running in this thread while it is started,
    which makes Django refuse ORM calls as if they came from async code. They do not (the tests
    are synchronous), so the check is lifted for exactly that time."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (deploy/dev/browser.sh)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()


class Screens:
    """Saves numbered screenshots of one test: ``<test>/01-dashboard.png``, ..."""

    def __init__(self, test_name: str) -> None:
        self.folder = OUTPUT / re.sub(r"[^\w.-]+", "_", test_name)
        self.taken = 0

    def __call__(self, page: Page, name: str) -> Path:
        self.taken += 1
        path = self.folder / f"{self.taken:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def screens(request: pytest.FixtureRequest) -> Screens:
    return Screens(request.node.name)


@pytest.fixture
def new_page(chromium: Browser, admin_server: LiveServer):
    """Pages in fresh browser contexts (a context per person: its own cookies), closed at the end."""
    contexts = []

    def open_page() -> Page:
        context = chromium.new_context(base_url=admin_server.url, viewport=VIEWPORT, accept_downloads=True)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
