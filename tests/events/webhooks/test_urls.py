"""Which URLs an endpoint may have: fincore must not be turned against private networks."""

import ipaddress

import pytest
from django.db import transaction
from django.test import override_settings

from apps.audit.models import AuditEvent
from apps.events.webhooks import transport
from apps.events.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from apps.events.webhooks.services import deliveries, endpoints
from tests.core.api.assertions import assert_problem
from tests.events.webhooks.helpers import STAFF
from tests.factories.merchants import MerchantFactory

pytestmark = pytest.mark.django_db


def _create(url: str, *, livemode: bool = False) -> WebhookEndpoint:
    return endpoints.webhook_endpoint_create(
        merchant_id=MerchantFactory().pk, livemode=livemode, url=url, events=["*"], actor=STAFF
    ).endpoint


@pytest.fixture
def public_dns(monkeypatch):
    """A resolver that knows a few names (the test machine has no DNS to the outside)."""
    names = {
        "localhost": ["127.0.0.1", "::1"],
        "hooks.example.com": ["93.184.215.14"],
        "internal.example.com": ["10.1.2.3"],
        "sneaky.example.com": ["93.184.215.14", "169.254.169.254"],
        "v6.example.com": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    }

    def resolve(host: str, port: int) -> list[str]:
        if host not in names:
            raise OSError("Name or service not known")
        return names[host]

    monkeypatch.setattr(transport, "resolve", resolve)
    return names


@pytest.mark.parametrize(("url", "why"), [
    ("ftp://hooks.example.com/x", "must start with https://"),
    ("javascript:alert(1)", "must start with https://"),
    ("hooks.example.com/x", "must start with https://"),
    ("https://user:pass@hooks.example.com/x", "user name or password"),
    ("https://user@hooks.example.com/x", "user name or password"),
    ("https:///nohost", "no host"),
    ("https://hooks.example.com:99999/x", "malformed"),
    ("https://127.0.0.1/x", "loopback"),
    ("https://localhost/x", "loopback"),
    ("https://[::1]/x", "loopback"),
    ("https://10.0.0.8/x", "private"),
    ("https://192.168.1.1/x", "private"),
    ("https://172.16.5.4/x", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[fe80::1]/x", "link-local"),
    ("https://[::ffff:127.0.0.1]/x", "loopback"),
    ("https://0.0.0.0/x", "not public"),
    ("https://100.64.0.1/x", "not public"),
    ("https://internal.example.com/x", "private"),
    ("https://sneaky.example.com/x", "link-local"),
    ("https://nowhere.invalid/x", "could not be resolved"),
])
@override_settings(FINCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
def test_urls_fincore_may_not_call_are_refused(url, why, public_dns):
    with pytest.raises(endpoints.InvalidWebhookEndpoint, match=why):
        _create(url)
    assert not WebhookEndpoint.objects.exists()


@override_settings(FINCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
def test_public_https_urls_are_accepted(public_dns):
    assert _create("https://hooks.example.com/fincore?tenant=7", livemode=True).url == (
        "https://hooks.example.com/fincore?tenant=7"
    )
    assert _create("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:8443/x").url.startswith("https://[")
    assert _create("https://v6.example.com/x").url == "https://v6.example.com/x"


@override_settings(FINCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
def test_plain_http_is_for_test_mode_only(public_dns):
    assert _create("http://hooks.example.com/x").url == "http://hooks.example.com/x"
    with pytest.raises(endpoints.InvalidWebhookEndpoint, match="Live-mode endpoints must use https"):
        _create("http://hooks.example.com/x", livemode=True)


@override_settings(FINCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS=True)
def test_private_addresses_are_allowed_when_the_setting_says_so():
    assert _create("http://127.0.0.1:8080/x").url == "http://127.0.0.1:8080/x"
    with pytest.raises(endpoints.InvalidWebhookEndpoint, match="user name or password"):
        _create("http://u:p@127.0.0.1:8080/x")


@override_settings(FINCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
def test_the_address_is_checked_again_at_delivery_time(public_dns):
    """DNS rebinding: the name resolved to a public address when the endpoint was saved, and
    to a private one when the event is sent. Nothing is sent; the attempt says why."""
    public_dns["rebind.example.com"] = ["93.184.215.14"]
    _create("https://rebind.example.com/x")
    public_dns["rebind.example.com"] = ["127.0.0.1"]
    with pytest.raises(transport.UrlRefused, match="loopback"):
        transport.post("https://rebind.example.com/x", body=b"{}", headers={}, require_https=True,
                       allow_private=False)


def test_event_types_not_in_the_catalogue_are_refused():
    with pytest.raises(endpoints.InvalidWebhookEndpoint) as refused:
        endpoints.webhook_endpoint_create(merchant_id=MerchantFactory().pk, livemode=False,
                                          url="http://127.0.0.1/x", events=["payment.succeeded", "payment.exploded"],
                                          actor=STAFF)
    assert str(refused.value) == (
        "Unknown event types: 'payment.exploded'. Known: payment.canceled, payment.captured, payment.failed, "
        "payment.requires_capture, payment.requires_review, payment.succeeded, payout.created, payout.failed, "
        "payout.paid, payout.updated, refund.failed, refund.pending, refund.succeeded, or '*'."
    )
    assert not WebhookEndpoint.objects.exists()


@override_settings(FINCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
def test_a_delivery_to_a_host_that_now_resolves_privately_is_a_failed_attempt_with_nothing_sent(public_dns):
    public_dns["rebind.example.com"] = ["93.184.215.14"]
    endpoint = _create("https://rebind.example.com/x")
    with transaction.atomic():
        deliveries.webhook_event_emit(merchant_id=endpoint.merchant_id, livemode=False, event_type="payment.succeeded",
                                      data={"object": {"id": "pay_1", "object": "payment"}})
    public_dns["rebind.example.com"] = ["10.0.0.5"]
    delivery = WebhookDelivery.objects.get()
    deliveries.webhook_delivery_send(delivery_id=delivery.pk, attempt=0)
    attempt = WebhookDeliveryAttempt.objects.get()
    assert attempt.response_status is None
    assert attempt.error == (
        "not sent: The host 'rebind.example.com' resolves to a private address (10.0.0.5); use a public address."
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)


# --- IPv6 addresses that carry an IPv4 address ---------------------------------------------------
# Each form, with a loopback, private or link-local IPv4 address inside: refused as that address
# would be, at create, update and send time. (Teredo hides its client's address XORed with ones.)
EMBEDDING_NOT_PUBLIC = [
    ("2002:7f00:1::", "a 6to4 address embedding a loopback address (127.0.0.1)"),
    ("2002:a00:1::1", "a 6to4 address embedding a private address (10.0.0.1)"),
    ("2002:a9fe:a9fe::", "a 6to4 address embedding a link-local address (169.254.169.254)"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "a Teredo address embedding a loopback address (127.0.0.1)"),
    ("2001:0:4136:e378:8000:63bf:3f57:fefe", "a Teredo address embedding a private address (192.168.1.1)"),
    ("::ffff:127.0.0.1", "an IPv4-mapped address embedding a loopback address (127.0.0.1)"),
    ("::ffff:172.16.5.4", "an IPv4-mapped address embedding a private address (172.16.5.4)"),
    ("::7f00:1", "an IPv4-compatible address embedding a loopback address (127.0.0.1)"),
    ("::a9fe:a9fe", "an IPv4-compatible address embedding a link-local address (169.254.169.254)"),
    ("64:ff9b::7f00:1", "a NAT64 address embedding a loopback address (127.0.0.1)"),
    ("64:ff9b::a00:8", "a NAT64 address embedding a private address (10.0.0.8)"),
    # (a local-use NAT64 address is refused whatever it embeds: its IPv4 address sits where the
    # network's own translator puts it)
    ("64:ff9b:1::a9fe:a9fe", "a local-use NAT64 address, translated by a network of its own"),
]


def _refusal(host: str, address: str, what: str) -> str:
    return f"The host {host!r} resolves to {address}, {what}; use a public address."


@pytest.mark.parametrize(("address", "what"), EMBEDDING_NOT_PUBLIC)
def test_an_ipv6_address_embedding_a_non_public_ipv4_address_is_refused_wherever_it_comes_from(
    address, what, public_dns
):
    public_dns["embedded.example.com"] = [address]
    with pytest.raises(transport.UrlRefused) as literal:
        transport.url_check(f"https://[{address}]/x", require_https=True, allow_private=False)
    assert str(literal.value) == _refusal(address, str(ipaddress.ip_address(address)), what)
    with pytest.raises(transport.UrlRefused) as resolved:
        transport.url_check("https://embedded.example.com/x", require_https=True, allow_private=False)
    assert str(resolved.value) == _refusal("embedded.example.com", address, what)


@pytest.mark.parametrize(("address", "refusal"), [
    # The IPv4 address is where the packets go (a dual-stack socket, a 6to4 relay, a NAT64
    # gateway): a public one is accepted, as that address is.
    ("::ffff:8.8.8.8", None),
    ("2002:808:808::", None),
    ("2002:5db8:d70e:1::1", None),
    ("64:ff9b::808:808", None),
    # Where it is not the destination, the IPv6 range itself is not public: refused whatever it embeds.
    ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "a Teredo address, a tunnel to a host behind a NAT"),
    ("::808:808", "an IPv4-compatible address, a form no longer in use"),
    ("64:ff9b:1::808:808", "a local-use NAT64 address, translated by a network of its own"),
    # (and in another of RFC 6052's layouts, 127.0.0.1 with nothing in the last 32 bits)
    ("64:ff9b:1:7f00:0:100::", "a local-use NAT64 address, translated by a network of its own"),
])
def test_an_ipv6_address_embedding_a_public_ipv4_address_is_judged_as_its_form_says(address, refusal):
    url = f"https://[{address}]/x"
    if refusal is None:
        transport.url_check(url, require_https=True, allow_private=False)
    else:
        with pytest.raises(transport.UrlRefused) as refused:
            transport.url_check(url, require_https=True, allow_private=False)
        assert str(refused.value) == _refusal(address, str(ipaddress.ip_address(address)), refusal)


@pytest.mark.parametrize(("address", "what"), EMBEDDING_NOT_PUBLIC)
@override_settings(FINCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
def test_an_endpoint_is_not_created_nor_moved_to_such_an_address(address, what, public_dns):
    public_dns["embedded.example.com"] = [address]
    with pytest.raises(endpoints.InvalidWebhookEndpoint) as created:
        _create(f"https://[{address}]/x")
    assert str(created.value) == _refusal(address, str(ipaddress.ip_address(address)), what)
    assert not WebhookEndpoint.objects.exists()

    endpoint = _create("https://hooks.example.com/x")
    with pytest.raises(endpoints.InvalidWebhookEndpoint) as updated:
        endpoints.webhook_endpoint_update(endpoint_id=endpoint.pk, changes={"url": "https://embedded.example.com/x"},
                                          actor=STAFF)
    assert str(updated.value) == _refusal("embedded.example.com", address, what)
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/x"
    assert not AuditEvent.objects.filter(action="webhook_endpoint.updated").exists()


@pytest.mark.parametrize(("address", "what"), EMBEDDING_NOT_PUBLIC)
@override_settings(FINCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
def test_nothing_is_sent_to_such_an_address_when_the_host_resolves_to_it_later(address, what, public_dns):
    public_dns["rebind.example.com"] = ["93.184.215.14"]
    endpoint = _create("https://rebind.example.com/x")
    with transaction.atomic():
        deliveries.webhook_event_emit(merchant_id=endpoint.merchant_id, livemode=False, event_type="payment.succeeded",
                                      data={"object": {"id": "pay_1", "object": "payment"}})
    public_dns["rebind.example.com"] = [address]
    delivery = WebhookDelivery.objects.get()
    deliveries.webhook_delivery_send(delivery_id=delivery.pk, attempt=0)
    attempt = WebhookDeliveryAttempt.objects.get()
    assert (attempt.response_status, attempt.succeeded) == (None, False)
    assert attempt.error == "not sent: " + _refusal("rebind.example.com", address, what)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)


@override_settings(FINCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
def test_the_6to4_address_of_loopback_the_probe_registered_is_refused_by_the_api(merchant_client):
    response = merchant_client.post("/api/v1/webhook_endpoints", {"url": "http://[2002:7f00:1::]/", "events": ["*"]},
                                    format="json")
    assert_problem(response, status=400, code="invalid_webhook_endpoint", detail=_refusal(
        "2002:7f00:1::", "2002:7f00:1::", "a 6to4 address embedding a loopback address (127.0.0.1)"
    ))
    assert not WebhookEndpoint.objects.exists()
