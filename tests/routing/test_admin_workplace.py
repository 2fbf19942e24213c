"""Routing in the admin takes and shows money in major units: a rule's amount bounds in its one
currency, the dry-run's amount, the sandbox networks' operations."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from apps.core import ids
from apps.core.ids import uuid7
from apps.routing.models import RoutingRule, SandboxOperation

pytestmark = pytest.mark.django_db

RULES = "/admin/routing/routingrule/"


def _form_data(page) -> dict[str, object]:
    return {field.html_name: field.value() for field in page.context["adminform"].form if field.value() is not None}


def _rule_data(admin_client, **fields) -> dict:
    return {**_form_data(admin_client.get(f"{RULES}add/")), "name": "big", "position": "7", "strategy": "priority",
            "connectors": "acquirer_alpha", "exploration_share": "0", "change_reason": "limits", **fields}


def test_a_rules_amount_bounds_are_typed_and_shown_in_major_units(admin_client):
    response = admin_client.post(f"{RULES}add/", _rule_data(admin_client, currencies="BHD", min_amount="0.500",
                                                             max_amount="1000"))
    assert response.status_code == 302
    rule = RoutingRule.objects.get(name="big")
    assert (rule.min_amount, rule.max_amount) == (500, 1_000_000)

    assert "amount 0.500 BHD..1000.000 BHD" in admin_client.get(RULES).content.decode()
    change = admin_client.get(f"{RULES}{rule.pk}/change/")
    assert _form_data(change)["min_amount"] == "0.500"
    assert _form_data(change)["max_amount"] == "1000.000"


@pytest.mark.parametrize(("fields", "error"), [
    ({"currencies": "BHD", "min_amount": "0.0005"},
     "min_amount: '0.0005' has 4 fractional digits but BHD allows at most 3"),
    ({"currencies": "BHD,USD", "max_amount": "10"}, "max_amount: An amount bound needs exactly one currency"),
    ({"currencies": "JPY", "min_amount": "1.5"}, "min_amount: '1.5' has a fractional part but JPY has no minor unit"),
])
def test_an_amount_bound_that_is_not_exact_is_refused_and_nothing_is_written(admin_client, fields, error):
    page = admin_client.post(f"{RULES}add/", _rule_data(admin_client, **fields))
    assert page.status_code == 200
    form = page.context["adminform"].form
    messages = [f"{name}: {message}" for name, messages in form.errors.items() for message in messages]
    assert any(message.startswith(error) for message in messages), messages
    assert not RoutingRule.objects.filter(name="big").exists()


def test_the_dry_run_takes_the_amount_in_major_units_with_its_currency(admin_client):
    page = admin_client.post("/admin/routing/routingrule/dry-run/", {
        "method": "card", "amount_0": "12.5", "amount_1": "BHD", "country": "BH", "metadata": "{}",
        "payment_id": str(uuid.uuid4())})
    assert (page.context["description"].amount, page.context["description"].currency) == (12500, "BHD")
    refused = admin_client.post("/admin/routing/routingrule/dry-run/", {
        "method": "card", "amount_0": "12.5001", "amount_1": "BHD", "country": "BH", "metadata": "{}"})
    assert "allows at most 3" in str(refused.context["form"].errors["amount"])


def test_sandbox_operations_show_money_and_are_found_by_payment_id(admin_client):
    payment_id = uuid7()
    SandboxOperation.objects.create(connector="acquirer_alpha", idempotency_key="k1", kind="authorize",
                                    reference="sbx-1", payment_id=payment_id, amount=2500, currency="KWD",
                                    outcome="approved", created_at=datetime(2030, 1, 5, tzinfo=UTC))
    page = admin_client.get("/admin/routing/sandboxoperation/", {"q": ids.encode("pay", payment_id)})
    assert [op.reference for op in page.context["cl"].result_list] == ["sbx-1"]
    assert '<span class="money">2.500 KWD</span>' in page.content.decode()


def test_a_connectors_amount_limits_are_typed_and_shown_in_major_units(admin_client):
    from apps.audit.models import AuditEvent
    from apps.routing.models import Connector

    connector = Connector.objects.get(name="acquirer_alpha")
    url = f"/admin/routing/connector/{connector.pk}/change/"
    data = {**_form_data(admin_client.get(url)), "amount_limits": '{"BHD": {"min": "0.100", "max": "1000"}}',
            "change_reason": "acquirer's new limits"}
    assert admin_client.post(url, data).status_code == 302
    connector.refresh_from_db()
    assert connector.amount_limits == {"BHD": {"min": 100, "max": 1_000_000}}
    assert AuditEvent.objects.get(action="connector.updated").after == {
        "amount_limits": {"BHD": {"min": 100, "max": 1_000_000}}}

    shown = _form_data(admin_client.get(url))
    assert json.loads(shown["amount_limits"]) == {"BHD": {"min": "0.100", "max": "1000.000"}}
    unchanged = admin_client.post(url, {**shown, "outage_rate": "0.5", "change_reason": "drill"})
    assert unchanged.status_code == 302
    assert AuditEvent.objects.filter(action="connector.updated").last().after == {"outage_rate": "0.5000"}

    refused = admin_client.post(url, {**shown, "amount_limits": '{"BHD": {"min": 0.1}}', "change_reason": "x"})
    assert "write the amount as text" in str(refused.context["adminform"].form.errors)
    refused = admin_client.post(url, {**shown, "amount_limits": '{"BHD": {"min": "0.0001"}}', "change_reason": "x"})
    assert "allows at most 3" in str(refused.context["adminform"].form.errors)
    connector.refresh_from_db()
    assert connector.amount_limits == {"BHD": {"min": 100, "max": 1_000_000}}


def test_the_sandbox_operations_list_costs_the_same_queries_for_few_or_many(admin_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add(start: int, count: int) -> None:
        for n in range(start, start + count):
            SandboxOperation.objects.create(connector="acquirer_alpha", idempotency_key=f"k{n}", kind="authorize",
                                            reference=f"sbx-{n}", payment_id=uuid7(), amount=100 + n,
                                            currency="BHD", outcome="approved",
                                            created_at=datetime(2030, 1, 5, tzinfo=UTC))

    add(0, 3)
    url = "/admin/routing/sandboxoperation/"
    admin_client.get(url)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    add(3, 27)
    with CaptureQueriesContext(connection) as more:
        assert len(admin_client.get(url).context["cl"].result_list) == 30
    assert len(more) == len(few)
