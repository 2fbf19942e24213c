"""Real Celery workers for tests: separate processes, on the test vhost and test database.

A test that needs a worker must use ``@pytest.mark.django_db(transaction=True)``: the worker
is another process and only sees committed rows.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from amqp.exceptions import ChannelError
from celery import Celery, current_app
from django.db import connection
from django_redis import get_redis_connection

from apps.events.outbox import broker, topology

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


def _process_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test process's environment, pointed at the test database (not the dev one)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fincore.settings.test",
        "FINCORE_DATABASE_URL": test_database_url(),
        **(extra or {}),
    }


class WorkerProcess:
    def __init__(self, *, queues: tuple[str, ...], concurrency: int = 1, env: dict[str, str] | None = None) -> None:
        self.queues = queues
        self.concurrency = concurrency
        self.env = env or {}
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self._ready = threading.Event()

    def start(self, timeout: float = 60, *, wait_ready: bool = True) -> "WorkerProcess":
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "celery_app", "worker",
                "--queues", ",".join(self.queues), "--concurrency", str(self.concurrency), "--pool", "prefork",
                "--hostname", self.name, "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=PROJECT_DIR, env=_process_env(self.env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )
        threading.Thread(target=self._read_output, daemon=True).start()
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until the worker consumes (it has connected to RabbitMQ)."""
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("worker did not start:\n" + "\n".join(self.output[-40:]))

    def logged(self, text: str) -> bool:
        return any(text in line for line in list(self.output))

    def _read_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self.output.append(line.rstrip())
                if " ready." in line:
                    self._ready.set()

    def log_entries(self) -> list[dict[str, Any]]:
        """The worker's structured (JSON) log lines so far."""
        entries = []
        for line in list(self.output):
            if line.startswith("{"):
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    continue
        return entries

    @property
    def hostname(self) -> str:
        return self.name.replace("%h", socket.gethostname())

    def nudge(self) -> None:
        """Wake the worker's event loop with a remote-control message (answered by nobody)."""
        current_app.control.broadcast("ping", destination=[self.hostname], reply=False)

    def pool_pids(self) -> list[int]:
        """The prefork pool's child processes (where tasks run)."""
        assert self.process is not None
        pids: list[int] = []
        # Children are listed under the thread that forked them; look at every thread.
        for children in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            try:
                pids.extend(int(pid) for pid in children.read_text().split())
            except OSError:
                continue
        return pids

    def is_alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole worker, as a crashed machine would: nothing is acknowledged."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 20) -> None:
        """A warm shutdown, as a process manager does it: SIGTERM to the main process only.

        It lets the running task finish and acknowledges it. SIGTERM to the whole group would
        also kill the pool process under it, perhaps after its task finished but before the
        main process acknowledged it: the message would be requeued and run again.
        """
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                # The worker notices the signal when its event loop next wakes up, up to 10 s
                # later when it is idle; any message for it wakes it at once.
                self.nudge()
                try:
                    self.process.wait(0.5)
                except subprocess.TimeoutExpired:
                    continue
                break
        # Whatever the worker left behind (or all of it, if it did not stop in time).
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@contextmanager
def running_worker(*queues: str, concurrency: int = 1, env: dict[str, str] | None = None) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(queues=queues, concurrency=concurrency, env=env).start()
    try:
        yield worker
    finally:
        worker.stop()


def run_django_process(code: str, *, timeout: float = 60,
                       env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a separate Python process with Django set up on the test database,
    as a web or worker process of the application would be (with ``env`` added)."""
    return django_process(code, env=env).communicate_result(timeout)


class _DjangoProcess(subprocess.Popen[str]):
    def communicate_result(self, timeout: float) -> subprocess.CompletedProcess[str]:
        stdout, stderr = self.communicate(timeout=timeout)
        return subprocess.CompletedProcess(self.args, self.returncode, stdout, stderr)


def django_process(code: str, *, env: dict[str, str] | None = None) -> _DjangoProcess:
    """Start ``code`` in a separate Python process with Django set up on the test database; several
    may run at once. ``communicate_result(timeout)`` waits for it."""
    script = "import django\ndjango.setup()\n" + textwrap.dedent(code)
    return _DjangoProcess([sys.executable, "-c", script], cwd=PROJECT_DIR, env=_process_env(env),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# --- RabbitMQ ------------------------------------------------------------------------------

def broker_vhost() -> str:
    path = urlparse(current_app.conf.broker_url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def purge_all_queues() -> None:
    """Empty every work and dead-letter queue of the test vhost (declaring them if needed)."""
    with current_app.connection_for_write() as rabbitmq:
        topology.declare(rabbitmq)
        channel = rabbitmq.default_channel
        for queue in (*topology.work_queues(), *topology.dead_letter_queues()):
            channel.queue_purge(queue.name)


def purge_queue(name: str) -> None:
    with current_app.connection_for_write() as rabbitmq:
        rabbitmq.default_channel.queue_purge(name)


def delete_queues(names: list[str]) -> None:
    with current_app.connection_for_write() as rabbitmq:
        channel = rabbitmq.default_channel
        for name in names:
            channel.queue_delete(name)


def queue_depth(name: str) -> int:
    with current_app.connection_for_write() as rabbitmq:
        _, depth, _ = rabbitmq.default_channel.queue_declare(name, passive=True)
        return depth


def queue_exists(name: str) -> bool:
    with current_app.connection_for_write() as rabbitmq:
        channel = rabbitmq.channel()
        try:
            channel.queue_declare(name, passive=True)
        except ChannelError:
            return False
        channel.close()
        return True


@dataclass(frozen=True)
class QueuedMessage:
    task_id: str
    task_name: str
    kwargs: dict[str, Any]
    priority: int | None
    headers: dict[str, Any]


def take_message(queue: str) -> QueuedMessage | None:
    """Take (and acknowledge) the next message waiting in ``queue``, as RabbitMQ holds it."""
    with current_app.connection_for_write() as rabbitmq:
        message = rabbitmq.default_channel.basic_get(queue, no_ack=True)
        if message is None:
            return None
        headers = dict(message.headers or {})
        _, kwargs, _ = json.loads(message.body)
        return QueuedMessage(
            task_id=headers["id"], task_name=headers["task"], kwargs=kwargs,
            priority=message.properties.get("priority"), headers=headers,
        )


@contextmanager
def broker_unreachable(connect_timeout: float = 1.0) -> Iterator[None]:
    """Make this process's publishing (``apps.events.outbox.broker``) talk to a closed port, as during a
    RabbitMQ outage; the database stays real. The short connect timeout only keeps tests fast."""
    down = Celery("fincore-broker-down", set_as_current=False)
    down.conf.update({key: value for key, value in current_app.conf.items() if key.startswith(("task_", "broker_"))})
    down.conf.update(broker_url="amqp://guest:guest@127.0.0.1:1//", broker_connection_timeout=connect_timeout)
    original = broker.current_app
    broker.current_app = down
    try:
        yield
    finally:
        broker.current_app = original


def declared_queues() -> dict[str, dict[str, Any]]:
    """Every queue of the test vhost with the arguments it was declared with, as RabbitMQ
    itself reports them (``rabbitmqctl``), so the check declares nothing."""
    result = subprocess.run(
        ["rabbitmqctl", "--quiet", "list_queues", "-p", broker_vhost(), "name", "arguments", "--formatter", "json"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    # Each argument comes as [name, AMQP type, value].
    return {
        queue["name"]: {name: value for name, _, value in queue["arguments"]} for queue in json.loads(result.stdout)
    }


def publish(task: str, *, queue: str, priority: int | None = None, task_id: str | None = None,
            **kwargs: Any) -> str:
    """Publish a probe task straight to RabbitMQ (confirmed), bypassing the outbox."""
    task_id = task_id or str(uuid.uuid4())
    current_app.send_task(task, kwargs=kwargs, queue=queue, priority=priority, task_id=task_id)
    return task_id


# --- what the probes recorded ----------------------------------------------------------------

def recorded() -> list[str]:
    return [entry.decode() for entry in get_redis_connection("default").lrange("tests:record", 0, -1)]


def recorded_starting(prefix: str) -> list[str]:
    return [entry for entry in recorded() if entry.startswith(prefix)]


def wait_until(condition: Callable[[], Any], *, timeout: float = 30, interval: float = 0.05,
               message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}; recorded: {recorded()}")


def drain(queue: str, *, timeout: float = 30) -> None:
    """Wait until a worker has run everything published to ``queue`` before this call.

    Publishes a marker behind it (lowest priority, so behind every message of any priority) and
    waits for it: a worker consumes a queue in order, so whatever did not happen by then never
    will. This turns "nothing happened" into a deterministic check instead of a sleep.
    """
    marker = f"drained:{queue}:{uuid.uuid4().hex[:8]}"
    publish("tests.record", queue=queue, priority=0, label=marker)
    wait_until(lambda: marker in recorded(), timeout=timeout, message=f"the marker behind everything in {queue}")
