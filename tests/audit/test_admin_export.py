"""CSV export of an admin list: every row of the list as filtered, streamed through a server-side
cursor (memory and queries do not grow with the rows), money in major units with its currency,
and journaled before the first byte and again at the end (or when the download breaks off)."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext

from apps.audit.admin_export import EXPORT_OBJECT_TYPE
from apps.audit.models import AuditEvent
from apps.core import ids
from tests.factories.merchants import MerchantFactory
from tests.factories.payments import bulk_payments
from tests.factories.staff import SUPPORT, signed_in_client, staff_user

pytestmark = pytest.mark.django_db

EXPORT = "/admin/payments/payment/export-csv/"


def _exports() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type=EXPORT_OBJECT_TYPE).order_by("id"))


def _csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def _open_cursors() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors")
        return cursor.fetchone()[0]


def test_the_list_offers_its_export_with_its_current_filters(admin_client):
    page = admin_client.get("/admin/payments/payment/", {"status__exact": "processing", "q": "bakery"})
    assert f'href="{EXPORT}?q=bakery&amp;status__exact=processing"' in page.content.decode()
    assert "Export CSV" in page.content.decode()


def test_the_export_round_trips_exact_values_of_every_row_as_filtered(admin_client):
    bakery, florist = MerchantFactory(legal_name="Gulf Bakery W.L.L."), MerchantFactory(legal_name="Rose Florist")
    moment = datetime(2030, 1, 5, 9, 0, 0, 123456, tzinfo=UTC)
    bread = [*bulk_payments(bakery, 1, created_at=moment, amount=1, reference='say "hi", then, go'),
             *bulk_payments(bakery, 1, created_at=moment, amount=999_999_999_999_999),
             *bulk_payments(bakery, 148, created_at=moment)]  # more than a page (100)
    bulk_payments(florist, 3, created_at=moment)
    yen = bulk_payments(bakery, 1, created_at=moment, currency="JPY", amount=5000)[0]

    response = admin_client.get(EXPORT, {"q": "bakery", "livemode__exact": "0"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="payments-payment-')
    rows = _csv(response)
    assert len(rows) == 151
    by_id = {row["id"]: row for row in rows}
    first = by_id[ids.encode("pay", bread[0].pk)]
    assert (first["amount"], first["currency"], first["reference"]) == ("0.001", "BHD", 'say "hi", then, go')
    assert (first["merchant"], first["merchant_legal_name"]) == (ids.encode("mer", bakery.pk), "Gulf Bakery W.L.L.")
    assert first["created_at"] == "2030-01-05T09:00:00.123456+00:00"
    assert first["amount_captured"] == "0.000"
    assert first["payment_method"] == '{"token": "tok_visa", "type": "card"}'
    assert first["livemode"] == "false"
    assert by_id[ids.encode("pay", bread[1].pk)]["amount"] == "999999999999.999"
    assert (by_id[ids.encode("pay", yen.pk)]["amount"], by_id[ids.encode("pay", yen.pk)]["currency"]) == ("5000",
                                                                                                        "JPY")
    assert list(rows[0])[:4] == ["id", "merchant", "merchant_legal_name", "merchant_id"]
    assert "Rose Florist" not in {row["merchant_legal_name"] for row in rows}


def test_the_export_is_journaled_before_the_first_byte_and_when_it_ends(admin_client, admin_user):
    merchant = MerchantFactory(legal_name="Gulf Bakery W.L.L.")
    bulk_payments(merchant, 7)

    response = admin_client.get(EXPORT, {"merchant": "bakery", "status__exact": "processing"})

    [started] = _exports()  # written and committed before a row is read
    assert (started.action, started.actor_type, started.actor_label) == ("admin.export_started", "staff",
                                                                        admin_user.username)
    assert started.after["list"] == "payments.payment"
    assert started.after["query"] == "merchant=bakery&status__exact=processing"
    assert (started.after["rows"], started.after["rows_at_least"]) == (7, False)
    assert started.request_id.startswith("req_")
    assert len(_csv(response)) == 7
    assert _exports()[0] == started
    finished = _exports()[1]
    assert (finished.action, finished.object_id, finished.after) == ("admin.export_finished", started.object_id,
                                                                     {"rows": 7})
    assert finished.request_id == started.request_id


@pytest.mark.django_db(transaction=True)
def test_a_download_broken_off_is_journaled_with_the_rows_sent(admin_client):
    bulk_payments(MerchantFactory(), 20)
    response = admin_client.get(EXPORT)
    chunks = iter(response.streaming_content)
    assert next(chunks).startswith(b"id,merchant,")
    assert next(chunks).startswith(b"pay_") and next(chunks).startswith(b"pay_")  # two rows sent

    response.close()  # the client went away: the server closes the response (and its database connection)

    started, interrupted = _exports()
    assert (started.after["rows"], interrupted.action, interrupted.after) == (20, "admin.export_interrupted",
                                                                              {"rows": 2})


def test_the_rows_stream_through_a_server_side_cursor_in_constant_queries(admin_client):
    merchant = MerchantFactory()
    bulk_payments(merchant, 50)

    def export() -> tuple[StreamingHttpResponse, int, int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(EXPORT)
            assert isinstance(response, StreamingHttpResponse) and response.streaming
            chunks = iter(response.streaming_content)
            next(chunks), next(chunks)
            cursors_while_streaming = _open_cursors()
            rows = sum(1 for _ in chunks) + 1
        return response, rows, len(queries), cursors_while_streaming

    _, rows, few_queries, cursors = export()
    assert rows == 50
    # The rows come from a PostgreSQL cursor, fetched in chunks: never all in the process at once.
    assert cursors == 1
    bulk_payments(merchant, 2_450)
    _, rows, more_queries, _ = export()
    assert rows == 2_500
    assert more_queries == few_queries
    assert _open_cursors() == 0


def test_staff_who_may_not_see_the_list_may_not_export_it_and_nothing_is_journaled():
    client = signed_in_client(staff_user(username="newcomer"))

    assert client.get(EXPORT).status_code == 403
    assert _exports() == []


def test_support_may_export_what_it_sees(merchant):
    client = signed_in_client(staff_user(SUPPORT, username="support"))
    bulk_payments(merchant, 2)

    assert len(_csv(client.get(EXPORT))) == 2
    assert [event.actor_label for event in _exports()] == ["support", "support"]


def test_an_export_leaves_secrets_out(admin_client, merchant):
    rows = _csv(admin_client.get("/admin/merchants/apikey/export-csv/"))
    assert rows and "secret_hash" not in rows[0]
    assert rows[0]["merchant_legal_name"] == merchant.legal_name


def test_a_malformed_filter_sends_back_to_the_list_and_exports_nothing(admin_client):
    response = admin_client.get(EXPORT, {"created_at_from": "yesterday"})
    assert (response.status_code, response["Location"]) == (302, "/admin/payments/payment/?e=1")
    assert _exports() == []


def test_text_a_spreadsheet_would_run_as_a_formula_is_defused_but_money_is_not(admin_client):
    bulk_payments(MerchantFactory(), 1, reference='=HYPERLINK("http://evil.example","click")')
    [row] = _csv(admin_client.get(EXPORT))
    assert row["reference"] == '\'=HYPERLINK("http://evil.example","click")'
    assert row["amount"] == "1.000"
