"""Errors as an outsider gets them over a socket: problem details under /api/, whatever refused."""

import pytest

from tests.contract.live_server import LiveServer


@pytest.mark.parametrize(
    ("request_text", "status", "code"),
    [
        (b"GET /api/v1/merchant HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", 400, "bad_request"),
        (b"GET /api/v1/nothing-here HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 404, "not_found"),
        (b"GET /api/v1/schema/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer fc_test_nope\r\n"
         b"Connection: close\r\n\r\n", 401, "invalid_api_key"),
        (b"PUT /api/v1/merchant HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
         401, "not_authenticated"),
    ],
    ids=["forged-host", "no-such-endpoint", "schema-bad-key", "unauthenticated-put"],
)
def test_an_error_under_the_api_is_a_problem(gunicorn: LiveServer, request_text: bytes, status: int,
                                             code: str) -> None:
    answer = gunicorn.raw(request_text)

    assert answer.status == status, answer.body
    assert answer.content_type == "application/problem+json"
    assert answer.json()["code"] == code
    assert answer.headers["x-request-id"] == answer.json()["request_id"]
