import hmac
import io
import json
import logging

import pytest
from celery import current_app
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.test import override_settings

from apps.core import context
from apps.core.logging import ContextFilter, JsonFormatter
from apps.ops import metrics
from tests.support.workers import purge_all_queues, recorded, running_worker, wait_until

CLOSED_PORT_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
}


@pytest.fixture
def broker_down():
    """Point the Celery app at a port where no broker listens, as if RabbitMQ were down."""
    conf = current_app.conf
    saved = conf.broker_url, conf.broker_connection_timeout
    conf.broker_url, conf.broker_connection_timeout = "amqp://guest:guest@127.0.0.1:1//", 0.5
    yield
    conf.broker_url, conf.broker_connection_timeout = saved


@pytest.mark.django_db
def test_healthz_answers_without_touching_dependencies(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_each_dependency(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"postgresql": "ok", "rabbitmq": "ok", "redis": "ok"}}


def _warnings(caplog, logger: str, message: str) -> list[logging.LogRecord]:
    return [
        record for record in caplog.records
        if (record.name, record.levelno, record.getMessage()) == (logger, logging.WARNING, message)
    ]


@pytest.mark.django_db
def test_readyz_names_redis_when_it_is_down(client, caplog):
    with override_settings(CACHES=CLOSED_PORT_REDIS), caplog.at_level(logging.WARNING, logger="apps.ops.health"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert body["detail"] == "Not ready: redis down."
    assert body["checks"] == {"postgresql": "ok", "rabbitmq": "ok", "redis": "down"}
    # Why it is down is for the operators' log, not for whoever asks the probe.
    assert "127.0.0.1:1" not in response.content.decode()
    [warning] = _warnings(caplog, "apps.ops.health", "dependency down")
    assert warning.dependency == "redis"
    assert warning.error.startswith("ConnectionError: ") and "127.0.0.1:1" in warning.error


@pytest.mark.django_db
def test_readyz_names_rabbitmq_when_it_is_down(client, broker_down, caplog):
    with caplog.at_level(logging.WARNING, logger="apps.ops.health"):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["detail"] == "Not ready: rabbitmq down."
    assert body["checks"] == {"postgresql": "ok", "rabbitmq": "down", "redis": "ok"}
    [warning] = _warnings(caplog, "apps.ops.health", "dependency down")
    assert warning.dependency == "rabbitmq"
    assert warning.error


@pytest.mark.django_db
def test_readyz_names_postgresql_when_it_is_down(client, postgresql_down, caplog):
    with caplog.at_level(logging.WARNING, logger="apps.ops.health"):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["detail"] == "Not ready: postgresql down."
    assert body["checks"] == {"postgresql": "down", "rabbitmq": "ok", "redis": "ok"}
    assert "port 1" not in response.content.decode()
    [warning] = _warnings(caplog, "apps.ops.health", "dependency down")
    assert warning.dependency == "postgresql"
    assert warning.error.startswith("OperationalError: ") and '"127.0.0.1", port 1 failed' in warning.error


@pytest.mark.django_db
def test_readyz_names_every_dependency_when_all_are_down(client, postgresql_down, broker_down):
    with override_settings(CACHES=CLOSED_PORT_REDIS):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["detail"] == "Not ready: postgresql, rabbitmq, redis down."
    assert body["checks"] == {"postgresql": "down", "rabbitmq": "down", "redis": "down"}


@pytest.mark.django_db
def test_readyz_names_every_dependency_that_is_down(client, broker_down):
    with override_settings(CACHES=CLOSED_PORT_REDIS):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["detail"] == "Not ready: rabbitmq, redis down."
    assert body["checks"] == {"postgresql": "ok", "rabbitmq": "down", "redis": "down"}


def _metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text format, or None."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        series, _, label_text = sample.partition("{")
        if series == name and ",".join(sorted(label_text.rstrip("}").split(","))) == wanted:
            return float(value)
    return None


@pytest.mark.django_db
def test_metrics_expose_backlogs_and_request_latency(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for queue in ("payments", "ledger", "webhooks", "settlement", "reconciliation", "compliance", "default"):
        assert _metric(text, "fincore_queue_messages", queue=queue) is not None, queue
        assert _metric(text, "fincore_queue_messages", queue=f"{queue}.dead") is not None, queue
    assert _metric(text, "fincore_outbox_unpublished_messages") == 0
    assert _metric(text, "fincore_dead_letters_open") == 0
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text


DATABASE_GAUGES = (
    "fincore_outbox_unpublished_messages",
    "fincore_outbox_oldest_unpublished_seconds",
    "fincore_dead_letters_open",
    "fincore_audit_unsealed_events",
    "fincore_ledger_verification_ok",
)


def _families(text: str) -> set[str]:
    """The metric families a scrape declares (``# TYPE name gauge``)."""
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def _metric_sources_unavailable(caplog) -> list[str]:
    return [record.source for record in _warnings(caplog, "apps.ops.metrics", "metrics source unavailable")]


@pytest.mark.django_db
def test_metrics_survive_a_broker_outage(client, broker_down, caplog):
    with caplog.at_level(logging.WARNING, logger="apps.ops.metrics"):
        response = client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert _metric(text, "fincore_outbox_unpublished_messages") == 0
    assert _metric(text, "fincore_dead_letters_open") == 0
    assert _metric(text, "fincore_audit_unsealed_events") is not None
    assert "fincore_queue_messages" not in _families(text)
    assert _metric_sources_unavailable(caplog) == ["queue depths"]


@pytest.mark.django_db
def test_metrics_survive_a_postgresql_outage(client, postgresql_down, caplog):
    with caplog.at_level(logging.WARNING, logger="apps.ops.metrics"):
        response = client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert _families(text).isdisjoint(DATABASE_GAUGES)
    assert _metric(text, "fincore_queue_messages", queue="payments") is not None
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
    assert _metric_sources_unavailable(caplog) == [
        "outbox backlog", "open dead letters", "unsealed audit events", "ledger verification"
    ]


@pytest.mark.django_db
def test_metrics_survive_both_outages_with_the_request_metrics(client, postgresql_down, broker_down):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert _families(text).isdisjoint({*DATABASE_GAUGES, "fincore_queue_messages"})
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text


@pytest.mark.django_db
def test_one_failing_gauge_drops_only_itself(client, monkeypatch, caplog):
    def refused():
        raise OperationalError("canceling statement due to statement timeout")

    monkeypatch.setattr(metrics, "audit_unsealed_count", refused)
    with caplog.at_level(logging.WARNING, logger="apps.ops.metrics"):
        response = client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert "fincore_audit_unsealed_events" not in _families(text)
    assert _metric(text, "fincore_outbox_unpublished_messages") == 0
    assert _metric(text, "fincore_dead_letters_open") == 0
    assert _metric(text, "fincore_queue_messages", queue="payments") is not None
    [warning] = _warnings(caplog, "apps.ops.metrics", "metrics source unavailable")
    assert (warning.source, warning.error) == (
        "unsealed audit events", "OperationalError('canceling statement due to statement timeout')"
    )


# --- the metrics token -------------------------------------------------------------------

METRICS_TOKEN = "mZ4t0Kq7vX2pR9sL6wB1nC8yD3fG5hJ0"


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["", None])
def test_metrics_are_open_without_a_token_configured(client, token):
    with override_settings(FINCORE_METRICS_TOKEN=token or ""):
        response = client.get("/metrics") if token is None else client.get(
            "/metrics", HTTP_AUTHORIZATION="Bearer anything"
        )
    assert response.status_code == 200
    assert _metric(response.content.decode(), "fincore_outbox_unpublished_messages") == 0


@pytest.mark.django_db
@override_settings(FINCORE_METRICS_TOKEN=METRICS_TOKEN)
@pytest.mark.parametrize("authorization", [f"Bearer {METRICS_TOKEN}", f"bearer {METRICS_TOKEN}"])
def test_metrics_answer_a_scraper_with_the_token(client, authorization):
    response = client.get("/metrics", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 200
    assert _metric(response.content.decode(), "fincore_outbox_unpublished_messages") == 0


@pytest.mark.django_db
@override_settings(FINCORE_METRICS_TOKEN=METRICS_TOKEN)
def test_metrics_without_a_token_are_401_not_authenticated(client):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    body = response.json()
    assert (body["code"], body["detail"]) == (
        "not_authenticated", "Send the metrics token as 'Authorization: Bearer <token>'."
    )
    assert "fincore_" not in response.content.decode()


@pytest.mark.django_db
@override_settings(FINCORE_METRICS_TOKEN=METRICS_TOKEN)
@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {METRICS_TOKEN[:-1]}",
        f"Bearer {METRICS_TOKEN}x",
        f"Bearer {METRICS_TOKEN.lower()}",
        f"Basic {METRICS_TOKEN}",
        METRICS_TOKEN,
        "Bearer fc_test_not-the-metrics-token",
    ],
)
def test_metrics_with_a_wrong_token_are_401_authentication_failed(client, authorization):
    response = client.get("/metrics", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    body = response.json()
    assert (body["code"], body["detail"]) == ("authentication_failed", "The metrics token is not valid.")
    assert "fincore_" not in response.content.decode()


def test_the_token_is_compared_in_constant_time(client, monkeypatch):
    compared = []
    real_compare_digest = hmac.compare_digest

    def compare_digest(presented, expected):
        compared.append((presented, expected))
        return real_compare_digest(presented, expected)

    monkeypatch.setattr(hmac, "compare_digest", compare_digest)
    with override_settings(FINCORE_METRICS_TOKEN=METRICS_TOKEN):
        response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer guess")
    assert response.status_code == 401
    assert compared == [(b"guess", METRICS_TOKEN.encode())]


@pytest.mark.django_db(transaction=True)
def test_metrics_count_and_time_tasks_run_by_workers(client):
    """Task metrics come from another process: this fails unless the worker's samples reach /metrics."""

    def tasks_succeeded() -> float:
        text = client.get("/metrics").content.decode()
        return _metric(text, "fincore_tasks_total", task="tests.record", state="SUCCESS") or 0.0

    before = tasks_succeeded()
    purge_all_queues()
    for label in ("a", "b", "c"):
        current_app.send_task("tests.record", args=[label], queue="default")
    with running_worker("default"):
        wait_until(lambda: len(recorded()) == 3, message="three probe tasks")
        wait_until(lambda: tasks_succeeded() == before + 3, message="task metrics")
    text = client.get("/metrics").content.decode()
    assert (_metric(text, "fincore_task_duration_seconds_count", task="tests.record") or 0) >= 3


def test_each_request_is_logged_with_its_request_id(client, caplog):
    with caplog.at_level("INFO", logger="fincore.request"):
        response = client.get("/healthz", HTTP_X_REQUEST_ID="checkout-7f3a9c21")
    assert response["X-Request-Id"] == "checkout-7f3a9c21"
    [record] = [r for r in caplog.records if r.name == "fincore.request"]
    assert (record.method, record.path, record.status) == ("GET", "/healthz", 200)
    # Stamped by the filter on the configured JSON handler, inside the request's context.
    assert record.request_id == "checkout-7f3a9c21"


def test_log_lines_are_json_carrying_request_and_task_ids():
    record = logging.LogRecord("fincore.test", logging.WARNING, __file__, 1, "payout %s held", ("po_1",), None)
    with context.bound(request_id="req_abc", task=("3f2b", "settlement.run")):
        ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "payout po_1 held"
    assert (line["level"], line["logger"]) == ("WARNING", "fincore.test")
    assert (line["request_id"], line["task_id"], line["task_name"]) == ("req_abc", "3f2b", "settlement.run")
    assert "time" in line


def test_an_unusable_caller_request_id_is_replaced(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces")
    assert response["X-Request-Id"].startswith("req_")


@pytest.mark.django_db
def test_metrics_export_the_last_ledger_verification(client):
    assert _metric(client.get("/metrics").content.decode(), "fincore_ledger_verification_ok") is None

    call_command("ledger_verify", stdout=io.StringIO())
    text = client.get("/metrics").content.decode()
    assert _metric(text, "fincore_ledger_verification_ok") == 1
    assert 0 <= _metric(text, "fincore_ledger_verification_age_seconds") < 60

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_append_only")
    with pytest.raises(CommandError):
        call_command("ledger_verify", stdout=io.StringIO())
    assert _metric(client.get("/metrics").content.decode(), "fincore_ledger_verification_ok") == 0
