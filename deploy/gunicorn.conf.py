"""gunicorn settings for fincore's web process: ``gunicorn -c deploy/gunicorn.conf.py fincore.wsgi``."""

import multiprocessing
import os

bind = os.environ.get("FINCORE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("FINCORE_WEB_THREADS", "4"))
# For gthread workers this bounds a worker's heartbeat, not one request; requests are bounded by
# the database's statement timeout and the ledger's group-commit wait (apps.core.idempotency).
timeout = 30
graceful_timeout = 30
keepalive = 5
# fincore logs each request itself, as JSON with its request id.
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FINCORE_FORWARDED_ALLOW_IPS", "127.0.0.1")


def child_exit(server, worker):
    """Tell prometheus_client that a worker's metrics files belong to a dead process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
