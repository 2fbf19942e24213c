"""Is each service fincore depends on answering? (The readiness probe's question.)"""

import logging

from django.db import connection
from django_redis import get_redis_connection

from apps.events.outbox.selectors import broker_ping

logger = logging.getLogger(__name__)


def _postgresql() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    get_redis_connection("default").ping()


CHECKS = {"postgresql": _postgresql, "rabbitmq": broker_ping, "redis": _redis}


def readiness() -> dict[str, str]:
    """``{"postgresql": "ok", "rabbitmq": "down", ...}`` for every dependency.

    Why one is down goes to the log only: the probe is unauthenticated, and an error's text
    names hosts, users and versions.
    """
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"
            logger.warning(
                "dependency down", extra={"dependency": name, "error": f"{type(error).__name__}: {error}"}
            )
            results[name] = "down"
        else:
            results[name] = "ok"
    return results
