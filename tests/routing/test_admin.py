"""The routing admin: connectors with their health, validated edits through the services, rules,
the dry-run page and who may do what."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from apps.audit.models import AuditEvent
from apps.core import clock, ids
from apps.routing import selectors, services
from apps.routing.data import ConnectorResult, Outcome
from apps.routing.models import Connector, RoutingRule, SandboxOperation
from tests.factories.staff import signed_in_client, staff_user
from tests.routing.conftest import configure, describe

pytestmark = pytest.mark.django_db

CONNECTORS = "/admin/routing/connector/"
RULES = "/admin/routing/routingrule/"
DRY_RUN = "/admin/routing/routingrule/dry-run/"


def _change_url(obj) -> str:
    return f"/admin/routing/{obj._meta.model_name}/{obj.pk}/change/"


def _form_data(page) -> dict[str, object]:
    """What the browser would post back from an admin add/change page, unchanged."""
    return {field.html_name: field.value() for field in page.context["adminform"].form if field.value() is not None}


def _errors(page) -> list[str]:
    form = page.context["adminform"].form
    return [f"{name}: {message}" for name, messages in form.errors.items() for message in messages]


def _staff(role: str) -> User:
    return staff_user(role, username=role.split()[0].lower())


# --- connectors ---------------------------------------------------------------------------


def test_the_connector_list_shows_breaker_and_success_rate(admin_client, django_assert_max_num_queries):
    configure("acquirer_alpha", breaker_min_samples=2)
    for result in (ConnectorResult(Outcome.ERROR), ConnectorResult(Outcome.ERROR)):
        services.connector_result_record(connector="acquirer_alpha", description=describe(), result=result)
    for _ in range(3):
        services.connector_result_record(connector="acquirer_beta", description=describe(),
                                         result=ConnectorResult(Outcome.APPROVED))
    services.connector_result_record(connector="acquirer_beta", description=describe(),
                                     result=ConnectorResult(Outcome.DECLINED))
    admin_client.get(CONNECTORS)

    with django_assert_max_num_queries(8):
        page = admin_client.get(CONNECTORS)

    assert page.status_code == 200
    html = page.content.decode()
    rows = {connector.name: connector for connector in page.context["cl"].result_list}
    assert list(rows) == ["acquirer_alpha", "acquirer_beta", "fawri_instant", "swift_wire", "wallet", "wallet_live"]
    assert "<strong>open</strong> (open until" in html
    assert "75.0% of 4" in html
    assert "0.0% of 2" in html
    assert "no attempts" in html


def test_the_connector_page_shows_its_settings_and_health(admin_client):
    page = admin_client.get(_change_url(Connector.objects.get(name="fawri_instant")))
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("Eligibility", "Failover", "Circuit breaker", "Sandbox simulator", "invalid_iban", "closed",
                 "Reason for this change"):
        assert text in html, text
    assert "name" not in page.context["adminform"].form.fields  # fixed once created


def test_a_connector_edit_needs_a_reason(admin_client):
    connector = Connector.objects.get(name="acquirer_alpha")
    data = {**_form_data(admin_client.get(_change_url(connector))), "outage_rate": "1"}
    data.pop("change_reason", None)
    page = admin_client.post(_change_url(connector), data)
    assert _errors(page) == ["change_reason: This field is required."]
    assert Connector.objects.get(name="acquirer_alpha").outage_rate == 0


def test_a_connector_edit_is_validated(admin_client):
    connector = Connector.objects.get(name="acquirer_alpha")
    data = {
        **_form_data(admin_client.get(_change_url(connector))),
        "currencies": "BHD,XYZ", "error_codes": '{"do_not_honor": "sometimes"}', "change_reason": "typo",
    }
    page = admin_client.post(_change_url(connector), data)
    assert page.status_code == 200
    assert _errors(page) == [
        "__all__: 'XYZ' is not an ISO 4217 currency code; "
        "error code 'do_not_honor' must map to 'retryable' or 'hard', not 'sometimes'"
    ]
    assert not AuditEvent.objects.filter(action="connector.updated").exists()


def test_a_connector_edit_is_saved_through_the_service_and_journaled(admin_client, admin_user):
    connector = Connector.objects.get(name="acquirer_alpha")
    data = {
        **_form_data(admin_client.get(_change_url(connector))),
        "outage_rate": "1", "currencies": "bhd,usd", "change_reason": "outage drill",
    }
    response = admin_client.post(_change_url(connector), data)
    assert response.status_code == 302, _errors(response)
    connector.refresh_from_db()
    assert (connector.outage_rate, connector.currencies) == (Decimal(1), ["BHD", "USD"])
    event = AuditEvent.objects.get(action="connector.updated")
    assert (event.actor_type, event.actor_label, event.reason) == ("staff", "admin", "outage drill")
    assert event.after == {"outage_rate": "1.0000", "currencies": ["BHD", "USD"]}


def test_a_connector_is_added_through_the_service(admin_client):
    page = admin_client.get(f"{CONNECTORS}add/")
    assert "closed" not in page.content.decode().split("Circuit breaker", 1)[1].split("</fieldset>", 1)[0]
    data = {
        **_form_data(page),
        "name": "acquirer_gamma", "display_name": "Gamma", "adapter": "card_acquirer", "method": "card",
        "currencies": "BHD", "change_reason": "new acquirer contract",
    }
    response = admin_client.post(f"{CONNECTORS}add/", data)
    assert response.status_code == 302, _errors(response)
    assert Connector.objects.get(name="acquirer_gamma").method == "card"
    assert AuditEvent.objects.get(action="connector.created").reason == "new acquirer contract"


def test_reset_breaker_action(admin_client):
    configure("acquirer_alpha", breaker_min_samples=1)
    services.connector_result_record(connector="acquirer_alpha", description=describe(),
                                     result=ConnectorResult(Outcome.ERROR))
    connector = Connector.objects.get(name="acquirer_alpha")
    response = admin_client.post(CONNECTORS, {"action": "reset_breaker", "_selected_action": [connector.pk],
                                              "apply": "1", "change_reason": "fixed upstream"})
    assert response.status_code == 302
    assert AuditEvent.objects.get(action="connector.breaker_reset").reason == "fixed upstream"
    assert "closed" in admin_client.get(_change_url(connector)).content.decode()


def test_nothing_is_deleted_from_the_admin(admin_client):
    connector = Connector.objects.get(name="wallet")
    assert admin_client.get(f"/admin/routing/connector/{connector.pk}/delete/").status_code == 403


# --- rules --------------------------------------------------------------------------------


def test_the_rule_list_is_ordered_and_links_the_dry_run(admin_client):
    page = admin_client.get(RULES)
    assert [rule.name for rule in page.context["cl"].result_list] == ["cards", "instant", "wire", "wallet"]
    html = page.content.decode()
    assert DRY_RUN in html
    assert "acquirer_alpha, acquirer_beta (exploring 10%)" in html
    assert "method in card" in html


def test_a_rule_edit_is_validated(admin_client):
    rule = RoutingRule.objects.get(name="cards")
    data = {
        **_form_data(admin_client.get(_change_url(rule))),
        "strategy": "volume_split", "connectors": "acquirer_alpha,ghost", "weights": "70", "change_reason": "x",
    }
    page = admin_client.post(_change_url(rule), data)
    assert page.status_code == 200
    assert _errors(page) == [
        "__all__: there is no connector named 'ghost'; a volume split needs one weight per connector (2), not 1"
    ]


def test_a_rule_edit_is_saved_and_routes_at_once(admin_client):
    rule = RoutingRule.objects.get(name="cards")
    data = {
        **_form_data(admin_client.get(_change_url(rule))),
        "strategy": "volume_split", "weights": "0,100", "change_reason": "alpha maintenance",
    }
    response = admin_client.post(_change_url(rule), data)
    assert response.status_code == 302, _errors(response)
    assert services.route(description=describe()).candidates == ("acquirer_beta", "acquirer_alpha")
    event = AuditEvent.objects.get(action="routing_rule.updated")
    assert event.after == {"strategy": "volume_split", "weights": [0, 100]}


def test_a_rule_is_added_with_merchant_ids_as_merchants_see_them(admin_client):
    merchant_id = uuid.uuid4()
    data = {
        **_form_data(admin_client.get(f"{RULES}add/")),
        "name": "vip", "position": "5", "merchant_ids": ids.encode("mer", merchant_id), "currencies": "bhd",
        "min_amount": "1.000", "metadata": '{"channel": "pos"}', "strategy": "priority",
        "connectors": "acquirer_beta, acquirer_alpha", "exploration_share": "0", "change_reason": "contract",
    }
    response = admin_client.post(f"{RULES}add/", data)
    assert response.status_code == 302, _errors(response)
    rule = RoutingRule.objects.get(name="vip")
    assert (rule.merchant_ids, rule.currencies, rule.connectors, rule.min_amount) == (
        [merchant_id], ["BHD"], ["acquirer_beta", "acquirer_alpha"], 1000)
    decision = services.route(description=describe(merchant_id=merchant_id, metadata={"channel": "pos"}))
    assert (decision.rule, decision.candidates) == ("vip", ("acquirer_beta", "acquirer_alpha"))
    assert ids.encode("mer", merchant_id) in admin_client.get(_change_url(rule)).content.decode()


def test_a_duplicate_position_is_a_form_error(admin_client):
    data = {
        **_form_data(admin_client.get(f"{RULES}add/")),
        "name": "dup", "position": "10", "connectors": "acquirer_alpha", "strategy": "priority",
        "exploration_share": "0", "change_reason": "x",
    }
    page = admin_client.post(f"{RULES}add/", data)
    assert page.status_code == 200
    assert _errors(page) == ["__all__: Another rule of this mode already has this position."]


# --- dry-run ------------------------------------------------------------------------------


def test_the_dry_run_shows_candidates_scores_and_exclusions(admin_client):
    configure("acquirer_beta", enabled=False)
    assert admin_client.get(DRY_RUN).status_code == 200

    page = admin_client.post(DRY_RUN, {"method": "card", "amount_0": "12.500", "amount_1": "BHD", "country": "BH",
                                       "metadata": "{}", "payment_id": str(uuid.uuid4())})

    assert page.status_code == 200
    decision = page.context["decision"]
    assert decision.candidates == ("acquirer_alpha",)
    assert decision.excluded == {"acquirer_beta": "disabled"}
    html = page.content.decode()
    assert "acquirer_alpha" in html
    assert "0.500" in html
    assert "disabled" in html
    assert decision.reason in html


def test_the_dry_run_explains_an_impossible_payment(admin_client):
    page = admin_client.post(DRY_RUN, {"method": "instant", "amount_0": "2000", "amount_1": "BHD", "country": "BH",
                                       "metadata": "{}"})
    assert page.context["decision"].candidates == ()
    assert "amount above its maximum of 1000000 BHD minor units" in page.content.decode()


def test_the_dry_run_takes_no_breaker_probe(admin_client, time_machine):
    start = clock.now().replace(microsecond=0) + timedelta(days=1)
    time_machine.move_to(start, tick=False)
    configure("acquirer_alpha", breaker_min_samples=1, breaker_open_seconds=1)
    services.connector_result_record(connector="acquirer_alpha", description=describe(),
                                     result=ConnectorResult(Outcome.ERROR))
    time_machine.move_to(start + timedelta(seconds=2), tick=False)
    form = {"method": "card", "amount_0": "0.100", "amount_1": "BHD", "country": "BH", "metadata": "{}"}
    admin_client.post(DRY_RUN, form)
    assert "acquirer_alpha" in services.route(description=describe()).candidates  # the probe was still free


def test_the_dry_run_validates_its_form(admin_client):
    page = admin_client.post(DRY_RUN, {"method": "card", "amount_0": "0", "amount_1": "BHD", "country": "BH",
                                       "merchant": "nope", "metadata": "[1]"})
    assert page.context["form"].errors == {
        "amount": ["The amount must be more than zero."],
        "merchant": ["Not a merchant id (mer_...)."],
        "metadata": ['An object of keys to values, e.g. {"channel": "pos"}.'],
    }
    assert "decision" not in page.context


# --- roles --------------------------------------------------------------------------------


def test_support_sees_routing_but_cannot_change_it(client):
    signed_in_client(_staff("Support (read-only)"), client)
    connector = Connector.objects.get(name="acquirer_alpha")
    assert client.get(CONNECTORS).status_code == 200
    assert client.get(DRY_RUN).status_code == 200
    page = client.get(_change_url(connector))
    assert "Reason for this change" not in page.content.decode()
    assert client.post(_change_url(connector), {"outage_rate": "1"}).status_code == 403


def test_treasury_operators_run_connectors_and_rules(client):
    signed_in_client(_staff("Treasury operator"), client)
    connector = Connector.objects.get(name="acquirer_alpha")
    data = {**_form_data(client.get(_change_url(connector))), "latency_ms": "5", "change_reason": "tune"}
    assert client.post(_change_url(connector), data).status_code == 302
    assert client.get(f"{RULES}add/").status_code == 200
    assert client.get(f"{CONNECTORS}add/").status_code == 403


def test_sandbox_operations_are_read_only(admin_client):
    adapter = selectors.connector_adapter("wallet")
    adapter.authorize(idempotency_key="k", payment_id=uuid.uuid4(), amount=5, currency="BHD",
                      payment_method={"type": "wallet"}, capture=True)
    operation = SandboxOperation.objects.get()
    page = admin_client.get("/admin/routing/sandboxoperation/", {"q": operation.reference})
    assert list(page.context["cl"].result_list) == [operation]
    assert admin_client.get("/admin/routing/sandboxoperation/add/").status_code == 403
