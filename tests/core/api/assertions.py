"""What every problem response must look like (RFC 9457, fincore's fields)."""

from typing import Any

from django.http import HttpResponse

from apps.core.exceptions import FincoreError


def assert_problem(response: HttpResponse, *, status: int, code: str, detail: str | None = None) -> dict[str, Any]:
    """Check the envelope of a problem response and return its body for further checks."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"http://testserver/api/v1/problems/{code}"
    assert body["title"] == FincoreError.catalogue[code].title
    assert body["status"] == status
    assert body["code"] == code
    assert body["instance"] == response.wsgi_request.path
    assert body["request_id"] == response["X-Request-Id"]
    if detail is not None:
        assert body["detail"] == detail
    return body
