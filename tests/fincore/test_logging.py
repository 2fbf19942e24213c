"""The logging configuration: every response is logged once, by fincore.request, with its id."""

import logging

import pytest

from apps.core import ids
from apps.merchants.models import ApiKey
from tests.factories.merchants import api_key_issue, api_key_of

pytestmark = pytest.mark.django_db


def _missing_key(merchant_client, merchant):
    return merchant_client.get(f"/api/v1/api_keys/{ids.encode('key', ids.uuid7())}")


def _idempotency_key_reused(merchant_client, merchant):
    target: ApiKey = api_key_of(api_key_issue(merchant, name="old checkout server"))
    path = f"/api/v1/api_keys/{ids.encode('key', target.pk)}/revoke"
    merchant_client.post(path, {"reason": "leaked"}, format="json", HTTP_IDEMPOTENCY_KEY="rotate-1")
    return merchant_client.post(path, {"reason": "rotated"}, format="json", HTTP_IDEMPOTENCY_KEY="rotate-1")


@pytest.mark.parametrize(("answer", "status"), [(_missing_key, 404), (_idempotency_key_reused, 422)])
def test_a_4xx_api_answer_is_logged_by_fincore_request_only(merchant, merchant_client, caplog, answer, status):
    with caplog.at_level(logging.DEBUG):
        response = answer(merchant_client, merchant)

    assert response.status_code == status
    # django.request would log it again after the middleware returned, without the request id.
    assert [record for record in caplog.records if record.name == "django.request"] == []
    [record] = [
        record for record in caplog.records
        if record.name == "fincore.request" and record.status == status
    ]
    assert (record.method, record.request_id) == (response.wsgi_request.method, response["X-Request-Id"])
