"""gunicorn settings for fincore's web process: ``gunicorn -c deploy/gunicorn.conf.py fincore.wsgi``."""

import multiprocessing
import os

bind = os.environ.get("FINCORE_BIND", "127.0.0.1:8000")
# One process per core, each with threads enough to wait on the database and Redis for one
# another. A process runs Python one thread at a time, so more processes than cores only take
# turns on them; and the ledger's group commit (one per process) batches the transfers of one
# process's concurrent requests, so more requests per process mean bigger, cheaper batches. On 2
# cores, 2 processes x 8 threads spent 40% less CPU per POST /api/v1/transfers (bench.ledger
# api_tps, client + PostgreSQL) than 5 x 4, with the same 16 concurrent requests served.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("FINCORE_WEB_THREADS", "8"))
# For gthread workers this bounds a worker's heartbeat, not one request; requests are bounded by
# the database's statement timeout and the ledger's group-commit wait (apps.core.idempotency).
timeout = 30
graceful_timeout = 30
keepalive = 5
# fincore logs each request itself, as JSON with its request id.
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FINCORE_FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Django's modules, settings and URL patterns live as long as the worker: frozen out of the
    garbage collector, each full collection walks only what requests made, not the whole heap
    (one took 50-100 ms of a worker's CPU, and ran inside whatever request tripped it)."""
    import gc

    gc.freeze()


def child_exit(server, worker):
    """Tell prometheus_client that a worker's metrics files belong to a dead process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
