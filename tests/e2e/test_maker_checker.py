"""Four eyes, in Chromium: an officer asks to freeze an account, a supervisor approves it with a
fresh code, and the merchant's next transfer from that account is refused over the API."""

import json

from playwright.sync_api import expect

from apps.audit.models import AuditEvent
from apps.compliance.models import ApprovalRequest
from apps.core import ids
from tests.e2e.admin_pages import list_fits, sign_in
from tests.factories import ledger as ledger_factories
from tests.factories.merchants import merchant_with_key
from tests.factories.staff import OFFICER, SUPERVISOR, staff_user, totp_code


def test_an_officer_requests_a_freeze_a_supervisor_approves_it_and_the_account_refuses_a_transfer(
    new_page, screens, admin_server
):
    merchant, secret = merchant_with_key()
    wallet = ledger_factories.wallet(merchant_id=merchant.pk, livemode=False, reference="customer-42")
    float_account = ledger_factories.funding(merchant_id=merchant.pk, livemode=False, reference="float")
    ledger_factories.fund(wallet, 12500, source=float_account)
    officer, supervisor = staff_user(OFFICER, username="olivia"), staff_user(SUPERVISOR, username="sara")

    maker = new_page()
    sign_in(maker, officer)
    maker.goto(f"/admin/ledger/account/{wallet.pk}/change/")
    screens(maker, "account")
    maker.click("text=Request freezing")
    maker.fill("textarea", "Card testing pattern on this wallet (case 2026-117)")
    screens(maker, "freeze-request")
    maker.click("input[type=submit]")
    expect(maker.locator(".messagelist")).to_contain_text("Requested")
    screens(maker, "requested")
    request = ApprovalRequest.objects.get()
    assert (request.state, request.maker_id) == (ApprovalRequest.State.PENDING, officer.pk)

    checker = new_page()
    # Signed in with this step's code; the approval needs a fresh one, the next the app shows.
    sign_in(checker, supervisor)
    expect(checker.locator(".tile-figure").first).to_contain_text("1")
    screens(checker, "dashboard-with-approval")
    checker.click("text=Approvals awaiting me")
    screens(checker, "my-approvals")
    assert list_fits(checker)
    checker.click("#result_list tbody tr th a")
    screens(checker, "request")
    checker.click("a.button:has-text('Approve')")
    expect(checker.locator(".approval-summary")).to_contain_text(ids.encode("acc", wallet.pk))
    checker.fill("#id_otp_token", totp_code(supervisor, steps=1))
    screens(checker, "approve")
    checker.click("input[type=submit]")
    expect(checker.locator(".messagelist")).to_contain_text("xecuted")
    screens(checker, "executed")

    request.refresh_from_db()
    wallet.refresh_from_db()
    assert (request.state, wallet.frozen) == (ApprovalRequest.State.EXECUTED, True)
    frozen = AuditEvent.objects.get(action="ledger.account_frozen")
    assert "olivia" in frozen.actor_label and "sara" in frozen.actor_label

    # The account's history, from its page: the request, the approval and the freeze, with who and why.
    maker.goto(f"/admin/ledger/account/{wallet.pk}/change/")
    maker.click("text=History in the journal")
    journal = maker.locator("#result_list")
    for action in ("ledger.account_frozen", "ledger.account_opened"):
        expect(journal).to_contain_text(action)
    screens(maker, "account-journal")
    assert list_fits(maker)

    refused = admin_server.request(
        "POST", "/api/v1/transfers",
        body=json.dumps({"debit_account": ids.encode("acc", wallet.pk), "credit_account": ids.encode(
            "acc", float_account.pk), "amount": 1000, "currency": "BHD"}).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    assert (refused.status, refused.json()["code"]) == (422, "account_frozen")
