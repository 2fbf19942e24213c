"""The test suite: the real services, in their own database, vhost and Redis database.

A test run never touches the development data: PostgreSQL's test database is created by
pytest-django, RabbitMQ traffic goes to the ``fincore_test`` vhost and Redis to database 15.
"""

import os
import tempfile
from datetime import timedelta

os.environ.setdefault("FINCORE_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/fincore_test")
os.environ.setdefault("FINCORE_REDIS_URL", "redis://127.0.0.1:6379/15")
# Tests run their webhook receivers on loopback.
os.environ.setdefault("FINCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "1")
# Task metrics from worker processes reach /metrics through prometheus_client's
# multiprocess files, exactly as under `make run`; this must be set before it is imported.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), "fincore-test-metrics")
)
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
# The audit chain's anchors of this run, never the development ones (nor a directory set in the
# environment for development): a test database starts a new chain, which older anchors would
# contradict. Processes the suite starts inherit the run's directory; each test in pytest's own
# process gets a directory of its own (tests/conftest.py).
_TEST_ANCHOR_PREFIX = os.path.join(tempfile.gettempdir(), "fincore-test-anchors-")
if not os.environ.get("FINCORE_AUDIT_ANCHOR_DIR", "").startswith(_TEST_ANCHOR_PREFIX):
    os.environ["FINCORE_AUDIT_ANCHOR_DIR"] = tempfile.mkdtemp(prefix=os.path.basename(_TEST_ANCHOR_PREFIX))

from fincore.settings.base import *  # noqa: E402, F403
from fincore.settings.base import from_environment  # noqa: E402
from fincore.settings.environment import Environment  # noqa: E402

globals().update(from_environment(Environment(os.environ, use_defaults=True)))

# Hashing staff passwords slowly is a production concern; it only slows the suite.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Probe tasks that exercise the queue machinery in tests/; workers started by the suite load them.
CELERY_IMPORTS = ["tests.support.tasks"]

# FINCORE_TEST_CLOCK_OFFSET_DAYS=N runs the suite N days ahead of the real clock, to prove that no
# test depends on today's date. It is started here, not in a pytest plugin, because every process
# the suite runs loads these settings — pytest itself, the Celery workers and the Django processes
# it starts (tests/support/workers.py) — so they all see the same moved, ticking clock. Only
# Python's clock moves: PostgreSQL's now(), Redis's TIME and RabbitMQ's timestamps stay real.
CLOCK_OFFSET_DAYS = int(os.environ.get("FINCORE_TEST_CLOCK_OFFSET_DAYS") or 0)
if CLOCK_OFFSET_DAYS:
    import time_machine

    time_machine.travel(timedelta(days=CLOCK_OFFSET_DAYS), tick=True).start()
