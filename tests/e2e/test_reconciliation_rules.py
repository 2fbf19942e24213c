"""Matching rules in Chromium: a treasury operator opens the rules, proposes one (reference exact,
amount within 10 fils), dry-runs it against NBB's statement and sees what it would match, requests
it; a compliance supervisor approves it from the approvals queue with a fresh code; the rule is
listed, enabled, in its place."""

from playwright.sync_api import expect

from apps.compliance.models import ApprovalRequest
from apps.reconciliation.models import Match, MatchingRule
from tests.e2e.admin_pages import list_fits, sign_in
from tests.factories.staff import SUPERVISOR, TREASURY, staff_user, totp_code
from tests.reconciliation.matching_support import expectation, lines, nostro


def test_an_operator_dry_runs_and_requests_a_rule_a_supervisor_approves_it(new_page, screens):
    nostro()
    expectation(1250, reference="INV-1")
    expectation(1990, reference="INV-2")
    expectation(7000, reference="INV-3")
    lines([{"amount": 1250, "reference": "INV-1"}, {"amount": 2000, "reference": "INV-2"},
           {"amount": 500, "reference": "FEE MAR"}])
    operator, supervisor = staff_user(TREASURY, username="tariq"), staff_user(SUPERVISOR, username="sara")

    maker = new_page()
    sign_in(maker, operator)
    maker.goto("/admin/reconciliation/matchingrule/")
    maker.click("text=Request a new rule")
    maker.fill("#id_name", "Reference, amount within 10 fils")
    maker.fill("#id_priority", "60")
    maker.check("#id_enabled")
    maker.select_option("#id_criteria-0-field", "reference")
    maker.select_option("#id_criteria-0-op", "exact")
    maker.select_option("#id_criteria-1-field", "amount")
    maker.select_option("#id_criteria-1-op", "tolerance_minor")
    maker.fill("#id_criteria-1-value", "10")
    maker.select_option("#id_nostro", "nbb-bhd-01")
    screens(maker, "proposed")
    maker.click("#dry-run-button")
    expect(maker.locator("#dry-run-lines")).to_have_text("2")
    expect(maker.locator("#dry-run-expectations")).to_have_text("2")
    sample = maker.locator("#dry-run-sample tbody tr")
    expect(sample).to_have_count(2)
    expect(sample.nth(1)).to_contain_text("2.000 BHD")
    expect(sample.nth(1)).to_contain_text("1.990 BHD")
    expect(maker.locator("#dry-run-sample")).not_to_contain_text("FEE MAR")
    # The form keeps the rule as asked, for the request.
    expect(maker.locator("#id_criteria-1-value")).to_have_value("10")
    assert maker.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screens(maker, "dry-run")
    assert Match.objects.count() == 0

    maker.fill("#id_reason", "NBB rounds its incoming transfer fees: 10 fils either side")
    maker.click("#request-button")
    expect(maker.locator(".messagelist")).to_contain_text("Requested")
    screens(maker, "requested")
    request = ApprovalRequest.objects.get()
    assert (request.state, request.maker_id) == (ApprovalRequest.State.PENDING, operator.pk)
    assert not MatchingRule.objects.filter(name="Reference, amount within 10 fils").exists()

    checker = new_page()
    sign_in(checker, supervisor)
    checker.click("text=Approvals awaiting me")
    screens(checker, "my-approvals")
    assert list_fits(checker)
    checker.click("#result_list tbody tr th a")
    screens(checker, "request")
    checker.click("a.button:has-text('Approve')")
    summary = checker.locator(".approval-summary")
    expect(summary).to_contain_text("would match 2 statement line(s) with 2 expectation(s)")
    checker.fill("#id_otp_token", totp_code(supervisor, steps=1))
    screens(checker, "approve")
    checker.click("input[type=submit]")
    expect(checker.locator(".messagelist")).to_contain_text("xecuted")

    maker.goto("/admin/reconciliation/matchingrule/")
    row = maker.locator("#result_list tbody tr", has_text="Reference, amount within 10 fils")
    expect(row).to_contain_text("reference exact · amount ± 10 minor units")
    expect(row.locator("img[alt=True]")).to_have_count(1)
    assert list_fits(maker)
    screens(maker, "rules")
    rule = MatchingRule.objects.get(name="Reference, amount within 10 fils")
    assert (rule.priority, rule.enabled, rule.version) == (60, True, 1)

    maker.click("text=Reference, amount within 10 fils")
    maker.click("text=Dry run")
    expect(maker.locator("#dry-run-lines")).to_have_text("2")
    screens(maker, "rule-dry-run")
    assert Match.objects.count() == 0
