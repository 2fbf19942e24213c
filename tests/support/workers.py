"""Real Celery workers for tests: separate processes, on the test vhost and test database.

A test that needs a worker must use ``@pytest.mark.django_db(transaction=True)``: the worker
is another process and only sees committed rows.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from celery import current_app
from django.db import connection
from django_redis import get_redis_connection

from apps.events import topology

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


class WorkerProcess:
    def __init__(self, *, queues: tuple[str, ...], concurrency: int = 1, env: dict[str, str] | None = None) -> None:
        self.queues = queues
        self.concurrency = concurrency
        self.env = env or {}
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self._ready = threading.Event()

    def start(self, timeout: float = 60) -> "WorkerProcess":
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "fincore.settings.test",
            "FINCORE_DATABASE_URL": test_database_url(),
            **self.env,
        }
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "celery_app", "worker",
                "--queues", ",".join(self.queues), "--concurrency", str(self.concurrency), "--pool", "prefork",
                "--hostname", self.name, "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read_output, daemon=True).start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("worker did not start:\n" + "\n".join(self.output[-40:]))
        return self

    def _read_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip())
            if " ready." in line:
                self._ready.set()

    def pool_pids(self) -> list[int]:
        """The prefork pool's child processes (where tasks run)."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def kill(self) -> None:
        """SIGKILL the whole worker, as a crashed machine would: nothing is acknowledged."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 20) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def running_worker(*queues: str, concurrency: int = 1, env: dict[str, str] | None = None) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(queues=queues, concurrency=concurrency, env=env).start()
    try:
        yield worker
    finally:
        worker.stop()


def purge_all_queues() -> None:
    """Empty every work and dead-letter queue of the test vhost (declaring them if needed)."""
    with current_app.connection_for_write() as broker:
        topology.declare(broker)
        channel = broker.default_channel
        for queue in (*topology.work_queues(), *topology.dead_letter_queues()):
            channel.queue_purge(queue.name)


def queue_depth(name: str) -> int:
    with current_app.connection_for_write() as broker:
        _, depth, _ = broker.default_channel.queue_declare(name, passive=True)
        return depth


def recorded() -> list[str]:
    return [entry.decode() for entry in get_redis_connection("default").lrange("tests:record", 0, -1)]


def wait_until(condition, *, timeout: float = 30, interval: float = 0.1, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}; recorded: {recorded()}")
