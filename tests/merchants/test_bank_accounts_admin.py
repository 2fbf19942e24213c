"""Bank accounts in the admin: a read-only list at a fixed number of queries, and "Request a bank
account change", which makes a maker-checker request (and nothing else)."""

import pytest
from django.urls import reverse

from apps.compliance.models import ApprovalRequest
from apps.core import ids
from apps.core.actors import Actor
from apps.merchants import services
from apps.merchants.models import BankAccount
from tests.factories.merchants import MerchantFactory
from tests.factories.staff import OFFICER, SUPPORT, signed_in_client, staff_user

pytestmark = pytest.mark.django_db

REQUEST_CHANGE = reverse("admin:merchants_bankaccount_request_change")
CHANGELIST = reverse("admin:merchants_bankaccount_changelist")


def _account(merchant, iban="BH67BMAG00001299123456"):
    return services.bank_account_set(merchant_id=merchant.pk, currency="BHD", iban=iban, bic="BMAGBHBM",
                                     beneficiary_name=merchant.legal_name, actor=Actor.system("tests"), reason="t")


def test_the_list_shows_ibans_as_printed_with_their_merchant_at_a_fixed_query_count(
        admin_client, django_assert_num_queries):
    for n in range(3):
        merchant = MerchantFactory(legal_name=f"Bakery {n} W.L.L.")
        _account(merchant)
        _account(merchant, iban="BH29BMAG1299123456BH00")
    admin_client.get(CHANGELIST)

    # The session, the user, their device, the count, the page and the currencies of the filter.
    with django_assert_num_queries(6):
        response = admin_client.get(CHANGELIST)

    page = response.content.decode()
    assert len(response.context["cl"].result_list) == 6
    assert "BH67 BMAG 0000 1299 1234 56" in page and "Bakery 2 W.L.L." in page
    assert "Request a bank account change" in page
    found = admin_client.get(CHANGELIST, {"q": "bh29 bmag 1299 1234 56bh 00"})
    assert len(found.context["cl"].result_list) == 3
    account = BankAccount.objects.first()
    detail = admin_client.get(reverse("admin:merchants_bankaccount_change", args=[account.pk]))
    assert detail.status_code == 200 and ids.encode("ba", account.pk) in detail.content.decode()


def test_an_officer_asks_for_a_change_and_nothing_changes_until_it_is_approved():
    merchant = MerchantFactory(legal_name="Gulf Coffee W.L.L.")
    current = _account(merchant)
    client = signed_in_client(staff_user(OFFICER))

    form = client.get(REQUEST_CHANGE, {"merchant": str(merchant.pk), "currency": "BHD"})
    assert form.status_code == 200
    assert form.context["form"].initial == {"merchant": ids.encode("mer", merchant.pk), "currency": "BHD"}
    assert "BH67BMAG00001299123456" in form.content.decode()  # what it is now
    response = client.post(REQUEST_CHANGE, {
        "merchant": ids.encode("mer", merchant.pk), "currency": "BHD", "iban": "bh29 bmag 1299 1234 56bh 00",
        "bic": "bmagbhbm", "beneficiary_name": " Gulf Coffee W.L.L. ", "reason": "signed letter, called back"})

    request = ApprovalRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:compliance_approvalrequest_change", args=[request.pk])
    assert (request.action, request.arguments, request.state) == (services.BANK_ACCOUNT_SET, {
        "merchant_id": str(merchant.pk), "currency": "BHD", "iban": "BH29BMAG1299123456BH00", "bic": "BMAGBHBM",
        "beneficiary_name": "Gulf Coffee W.L.L."}, ApprovalRequest.State.PENDING)
    assert list(BankAccount.objects.values_list("pk", flat=True)) == [current.pk]


@pytest.mark.parametrize(("fields", "error"), [
    ({"iban": "BH67BMAG00001299123457"}, "invalid checksum digits"),
    ({"bic": ""}, "cannot be told from the IBAN"),
    ({"merchant": "someone"}, "A merchant&#x27;s id"),
])
def test_a_request_that_cannot_be_made_is_shown_with_its_error_and_nothing_is_written(fields, error):
    merchant = MerchantFactory()
    client = signed_in_client(staff_user(OFFICER))

    response = client.post(REQUEST_CHANGE, {
        "merchant": ids.encode("mer", merchant.pk), "currency": "BHD", "iban": "BH67BMAG00001299123456",
        "bic": "BMAGBHBM", "beneficiary_name": "Gulf Coffee", "reason": "tests", **fields})

    assert response.status_code == 200
    assert error in response.content.decode()
    assert ApprovalRequest.objects.count() == 0


def test_support_sees_bank_accounts_but_may_not_ask_to_change_them():
    _account(MerchantFactory())
    client = signed_in_client(staff_user(SUPPORT))

    listed = client.get(CHANGELIST)
    assert listed.status_code == 200
    assert "Request a bank account change" not in listed.content.decode()
    assert client.get(REQUEST_CHANGE).status_code == 403
    assert ApprovalRequest.objects.count() == 0
