"""Matching rules in the admin: the list in priority order with each rule's criteria in words, no
direct edit; a request page that checks each criterion row with the catalogue (its message on the
row), dry-runs the rule as asked without writing anything, and makes one maker-checker request;
each rule's own dry run."""

import pytest
from django.urls import reverse

from apps.compliance import services as compliance_services
from apps.compliance.models import ApprovalRequest
from apps.core.actors import Actor
from apps.reconciliation.models import Expectation, Match, MatchingRule
from apps.reconciliation.services.matching import matching_run
from tests.factories.staff import SUPERVISOR, SUPPORT, TREASURY, signed_in_client, staff_user, totp_code
from tests.reconciliation.matching_support import expectation, lines, nostro

pytestmark = pytest.mark.django_db

LIST = "admin:reconciliation_matchingrule_changelist"
REQUEST = "admin:reconciliation_matchingrule_request"
PROPOSED = [{"field": "reference", "op": "exact"}, {"field": "amount", "op": "tolerance_minor", "value": "10"}]


def _form(criteria: list[dict], *, button: str = "_request", rows: int = 5, **fields) -> dict[str, str]:
    data = {"rule": "", "name": "Reference, amount within 10 fils", "priority": "60", "cardinality": "one_to_one",
            "enabled": "on", "description": "", "nostro": "", "reason": "NBB rounds some fees", button: "1",
            "criteria-TOTAL_FORMS": str(rows), "criteria-INITIAL_FORMS": "0", "criteria-MIN_NUM_FORMS": "0",
            "criteria-MAX_NUM_FORMS": "5", **fields}
    for index, criterion in enumerate(criteria):
        for key in ("field", "op", "value"):
            data[f"criteria-{index}-{key}"] = str(criterion.get(key, ""))
    return data


@pytest.fixture
def operator():
    return signed_in_client(staff_user(TREASURY, username="tariq"))


def _world() -> None:
    """On NBB's BHD nostro: two lines a reference-and-10-fils rule matches (1.250 BHD exactly, 2.000
    BHD against 1.990 expected), one it does not (no expectation)."""
    nostro()
    expectation(1250, reference="INV-1")
    expectation(1990, reference="INV-2")
    expectation(7000, reference="INV-3")
    lines([{"amount": 1250, "reference": "INV-1"}, {"amount": 2000, "reference": "inv-2 "},
           {"amount": 500, "reference": "FEE"}])


def test_the_list_shows_the_rules_in_priority_order_with_their_criteria_in_words(operator):
    page = operator.get(reverse(LIST))
    assert page.status_code == 200
    text = page.content.decode()
    assert "end-to-end id exact · amount exact" in text
    assert "reference exact · amount exact · date ± 3 days" in text
    assert text.index("End-to-end id and amount") < text.index("Reference, amount and date")
    assert "Request a new rule" in text
    rule = MatchingRule.objects.get(priority=10)
    assert operator.get(reverse("admin:reconciliation_matchingrule_add")).status_code == 403
    assert operator.post(reverse("admin:reconciliation_matchingrule_change", args=[rule.pk]), {}).status_code == 403
    detail = operator.get(reverse("admin:reconciliation_matchingrule_change", args=[rule.pk])).content.decode()
    assert "Request a change" in detail and "Dry run" in detail


@pytest.mark.parametrize("criteria, rows, refusal", [
    ([{"field": "reference", "op": "exact"}] + [{"field": "amount", "op": "exact"}] * 5, 6,
     "A rule has 1 to 5 criteria."),
    ([{"field": "reference", "op": "like"}], 5, "Field reference has no operator &#x27;like&#x27;"),
    ([{"field": "date", "op": "window_days", "value": "400"}], 5, "A date window in days must be a whole number 0-366"),
    ([{"field": "date", "op": "window_days", "value": "--5"}], 5, "A date window in days must be a whole number 0-366"),
    ([{"field": "date", "op": "window_days", "value": "²"}], 5, "A date window in days must be a whole number 0-366"),
    ([{"field": "amount", "op": "exact"}, {"field": "amount", "op": "tolerance_minor", "value": "5"}], 5,
     "Each field appears in a rule&#x27;s criteria once at most."),
    ([], 5, "A rule has 1 to 5 criteria: fill in at least one row."),
])
@pytest.mark.parametrize("button", ["_request", "_dry_run"])
def test_criteria_outside_the_catalogue_are_refused_on_the_form_and_nothing_is_stored(operator, criteria, rows,
                                                                                     refusal, button):
    rules = list(MatchingRule.objects.values_list("pk", "version"))
    page = operator.post(reverse(REQUEST), _form(criteria, rows=rows, button=button))
    assert page.status_code == 200
    assert refusal in page.content.decode()
    assert page.context["dry_run"] is None
    assert not ApprovalRequest.objects.exists()
    assert list(MatchingRule.objects.values_list("pk", "version")) == rules


def test_the_catalogues_message_is_on_the_row_it_is_about(operator):
    page = operator.post(reverse(REQUEST), _form([{"field": "reference", "op": "exact"},
                                                  {"field": "counterparty_name", "op": "fuzzy", "value": "120"}]))
    criteria = page.context["criteria"]
    assert criteria.forms[0].errors == {}
    assert criteria.forms[1].non_field_errors() == ["A name score must be a whole number 0-100, not 120."]


def test_a_valid_request_makes_one_pending_approval_request_with_its_dry_run(operator):
    _world()
    page = operator.post(reverse(REQUEST), _form(PROPOSED))
    request = ApprovalRequest.objects.get()
    assert page.status_code == 302
    assert page["Location"] == reverse("admin:compliance_approvalrequest_change", args=[request.pk])
    assert (request.state, request.action, request.maker.username) == (ApprovalRequest.State.PENDING,
                                                                       "reconciliation.matching_rule_create", "tariq")
    assert request.arguments["criteria"] == [{"field": "reference", "op": "exact"},
                                             {"field": "amount", "op": "tolerance_minor", "value": 10}]
    assert "dry run now: would match 2 statement line(s) with 2 expectation(s)" in request.target_label
    assert not MatchingRule.objects.filter(priority=60).exists()


def test_a_request_needs_a_reason(operator):
    page = operator.post(reverse(REQUEST), _form(PROPOSED, reason=""))
    assert "Say why" in page.content.decode()
    assert not ApprovalRequest.objects.exists()


def test_a_change_starts_from_the_rule_and_requests_its_change(operator):
    rule = MatchingRule.objects.get(priority=20)
    page = operator.get(reverse(REQUEST) + f"?rule={rule.pk}")
    assert page.context["form"].initial["name"] == rule.name
    assert page.context["criteria"].forms[2].initial == {"field": "date", "op": "window_days", "value": "3"}
    operator.post(reverse(REQUEST), _form([{"field": "reference", "op": "exact"}, {"field": "amount", "op": "exact"}],
                                          rule=str(rule.pk), name=rule.name, priority="20"))
    request = ApprovalRequest.objects.get()
    assert (request.action, request.arguments["rule_id"]) == ("reconciliation.matching_rule_change", str(rule.pk))


@pytest.mark.parametrize("role", [SUPPORT, SUPERVISOR])
def test_who_may_not_ask_is_refused_the_request_page(role):
    client = signed_in_client(staff_user(role))
    assert client.get(reverse(REQUEST)).status_code == 403
    assert client.post(reverse(REQUEST), _form(PROPOSED)).status_code == 403
    assert not ApprovalRequest.objects.exists()
    assert "Request a new rule" not in client.get(reverse(LIST)).content.decode()


def test_the_dry_run_writes_nothing_and_agrees_with_the_real_run_once_approved(operator):
    _world()
    MatchingRule.objects.update(enabled=False)  # the proposed rule alone, as its dry run is
    before = (Match.objects.count(), list(Expectation.objects.values_list("pk", "state", "reconciled_amount")))
    page = operator.post(reverse(REQUEST), _form(PROPOSED, button="_dry_run", nostro="nbb-bhd-01"))
    assert page.status_code == 200
    dry_run = page.context["dry_run"].report
    assert (dry_run.lines, dry_run.expectations, dry_run.matches) == (2, 2, 2)
    text = page.content.decode()
    assert 'id="dry-run-lines">2<' in text and "2.000 BHD" in text and "1.990 BHD" in text and "INV-2" in text
    assert "FEE" not in text
    assert (Match.objects.count(), list(Expectation.objects.values_list("pk", "state", "reconciled_amount"))) == before
    assert not ApprovalRequest.objects.exists() and not MatchingRule.objects.filter(priority=60).exists()

    operator.post(reverse(REQUEST), _form(PROPOSED))
    checker = staff_user(SUPERVISOR, username="sara")
    compliance_services.approval_request_approve(request_id=ApprovalRequest.objects.get().pk, user=checker,
                                                 otp_token=totp_code(checker))
    rule = MatchingRule.objects.get(priority=60)
    # The rule's own page dry-runs it as saved: the same, still writing nothing.
    saved = operator.get(reverse("admin:reconciliation_matchingrule_dry_run", args=[rule.pk]))
    assert (saved.context["dry_run"].report.lines, saved.context["dry_run"].report.expectations) == (2, 2)
    assert Match.objects.count() == before[0]

    real = matching_run(nostro_code="nbb-bhd-01", actor=Actor.system("tests"))
    assert (real.lines, real.expectations, real.matches) == (dry_run.lines, dry_run.expectations, dry_run.matches)
    assert Match.objects.count() == before[0] + 2


def test_every_staff_member_may_dry_run_a_saved_rule():
    _world()
    client = signed_in_client(staff_user(SUPPORT))
    rule = MatchingRule.objects.get(priority=20)
    page = client.get(reverse("admin:reconciliation_matchingrule_dry_run", args=[rule.pk]) + "?nostro=nbb-bhd-01")
    assert page.status_code == 200
    assert "reference exact · amount exact · date ± 3 days" in page.content.decode()
    assert page.context["dry_run"].report.lines == 1  # INV-1 only: INV-2 differs by 10 fils
    assert "Request a change" not in page.content.decode()
