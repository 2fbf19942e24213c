"""The exception queue in Chromium: a treasury operator sees the open breaks on the dashboard, opens
the queue, a break's page with its statement line, assigns it to herself, comments, is refused
ignoring it without a reason, then ignores it with one."""

from playwright.sync_api import expect

from apps.reconciliation.models import Break
from apps.reconciliation.services.breaks import breaks_sync
from tests.e2e.admin_pages import list_fits, sign_in
from tests.factories.staff import TREASURY, staff_user
from tests.reconciliation.breaks_world import nostro, statement


def test_an_operator_assigns_comments_on_and_ignores_a_break(new_page, screens):
    nostro()
    statement(12_500, -1_250)
    breaks_sync()
    operator = staff_user(TREASURY, username="tahani")
    fee = Break.objects.get(amount=-1_250)

    page = new_page()
    sign_in(page, operator)
    expect(page.locator("#tile-reconciliation")).to_contain_text("under a day")
    screens(page, "dashboard")

    page.goto("/admin/reconciliation/break/")
    expect(page.locator("#result_list")).to_contain_text("-1.250")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    screens(page, "queue")
    assert list_fits(page)

    page.goto(f"/admin/reconciliation/break/{fee.pk}/change/")
    expect(page.locator("#break-status")).to_contain_text("Open")
    expect(page.locator("#break-line")).to_contain_text("REF-")
    page.select_option("#assignee", "me")
    page.click("#break-assign button")
    expect(page.locator(".messagelist")).to_contain_text("Assigned to tahani")
    expect(page.locator("#break-assignee")).to_contain_text("tahani")

    page.fill("#comment-body", "NBB's monthly account fee, 1.250 BHD: finance books it.")
    page.click("#break-comment button")
    expect(page.locator("#break-comments")).to_contain_text("monthly account fee")

    page.click("#break-ignore button")
    expect(page.locator(".messagelist")).to_contain_text("Say why the break is ignored")
    expect(page.locator("#break-status")).to_contain_text("Open")
    screens(page, "refused")

    page.fill("#ignore-reason", "Bank fee, booked by finance in the fees journal")
    page.click("#break-ignore button")
    expect(page.locator("#break-status")).to_contain_text("Ignored")
    expect(page.locator("#break-resolved")).to_contain_text("Bank fee, booked by finance")
    screens(page, "ignored")

    fee.refresh_from_db()
    assert (fee.status, fee.resolution, fee.assigned_to) == ("resolved", "ignored", operator)
