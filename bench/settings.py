"""Settings of the benchmarks: development's, on databases of their own, with DEBUG off.

The database, Redis database and RabbitMQ vhost are the benchmark's own whatever the
environment says (``FINCORE_DATABASE_URL`` is ignored on purpose: an exported development URL
must never be wiped by ``make bench``). Rate limits are so high that they never cap a figure,
yet every request still goes through the throttle, as in production.
"""

import os

BENCH_DATABASE_URL = os.environ.get("FINCORE_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fincore_bench")
os.environ["FINCORE_DATABASE_URL"] = BENCH_DATABASE_URL
os.environ["FINCORE_REDIS_URL"] = os.environ.get("FINCORE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ["FINCORE_BROKER_URL"] = os.environ.get(
    "FINCORE_BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/fincore_bench"
)
os.environ["FINCORE_API_RATE_LIMIT"] = os.environ.get("FINCORE_BENCH_API_RATE_LIMIT", "1000000/second")

from fincore.settings.development import *  # noqa: E402, F403

DEBUG = False
ROOT_URLCONF = "bench.urls"
# The benchmark's own tasks (bulk settlement work for bench.payments), loaded by its workers.
CELERY_IMPORTS = ["bench.tasks"]
