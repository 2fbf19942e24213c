"""The admin's pages as a person meets them: signing in (password, then the authenticator's code),
and lists that fit the screen."""

import re

from playwright.sync_api import Page, expect

from tests.factories.staff import PASSWORD, totp_code


def sign_in(page: Page, user, *, code: str | None = None) -> None:
    """Sign ``user`` in with their password and the code their authenticator shows now."""
    page.goto("/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.fill("#id_code", code or totp_code(user))
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def list_fits(page: Page) -> bool:
    """Whether the changelist's table shows every column without scrolling sideways (staff must
    not miss a column off the edge at 1366 px: the important ones come first, the rest are on the
    object's page)."""
    return page.locator("#changelist-form .results").evaluate("table => table.scrollWidth <= table.clientWidth + 1")
