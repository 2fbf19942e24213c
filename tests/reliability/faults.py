"""What goes wrong during the chaos run, one fault at a time, each logged with its time.

    web            SIGKILL a gunicorn worker while it serves a request (it holds an accepted
                   connection; the clients do not keep connections alive), else any of them;
                   its master starts another
    payments       SIGKILL a payments pool process while it waits in a connector call (its
                   kernel wait channel is the sandbox's latency sleep), else any of them
    payments-worker  SIGKILL the payments worker, every process of it (restarted); the messages
                   it held, retries waiting for their countdown included, go back to the queue
    other-worker   SIGKILL the other queues' Celery worker, every process of it (restarted)
    beat           SIGKILL beat (restarted): no janitor until it is back
    postgres       PostgreSQL crashes (pg_ctl stop -m immediate), stays down DOWN seconds, starts
                   again and recovers from its WAL
    postgres-fast  the same with a fast shutdown (clients disconnected, a checkpoint)
    rabbitmq       RabbitMQ stops, stays down DOWN seconds, starts again
    rabbitmq-crash RabbitMQ is killed (SIGKILL), stays down DOWN seconds, starts again and
                   recovers its durable queues and persistent messages

The faults run from the main thread, which also restarts what they killed (``Stack.supervise``,
the ``tick`` they call while they wait).
"""

import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import processes
from tests.reliability.services import Postgres, RabbitMQ
from tests.reliability.stack import Stack, Supervised

NAMES = ("web", "payments", "payments-worker", "other-worker", "beat", "postgres", "postgres-fast", "rabbitmq",
         "rabbitmq-crash")
DEFAULT = ("web", "payments", "postgres", "other-worker", "rabbitmq", "payments", "beat", "payments-worker", "web",
           "postgres-fast", "rabbitmq-crash")
# How long to look for a process caught in the act (a connector call, a request) before killing any.
CAUGHT_WAIT = 10.0


@dataclass
class Fault:
    name: str
    at: float  # seconds into the run
    took: float
    detail: str


def _sleeping(pid: int) -> bool:
    """Whether the process sleeps in a timer (time.sleep: the sandbox connector's latency)."""
    try:
        return "nanosleep" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False


def _serving(pid: int, port: int) -> bool:
    """Whether the process holds an established connection accepted on ``port``: a request."""
    sockets = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            sockets.add(target[8:-1])
    try:
        table = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    for row in table:
        fields = row.split()
        # local address:port (hex), remote, state (01: established), ..., inode (10th)
        if fields[3] == "01" and int(fields[1].split(":")[1], 16) == port and fields[9] in sockets:
            return True
    return False


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


class Faults:
    def __init__(self, stack: Stack, postgres: Postgres, rabbitmq: RabbitMQ, *, down_seconds: float,
                 clock: Callable[[], float], rng: random.Random, tick: Callable[[], object]) -> None:
        self.stack, self.postgres, self.rabbitmq = stack, postgres, rabbitmq
        self.down_seconds = down_seconds
        self.clock = clock
        self.rng = rng
        self.tick = tick
        self.done: list[Fault] = []
        self.mid_call_kills = 0

    def inject(self, name: str) -> Fault:
        started = self.clock()
        detail = getattr(self, "_" + name.replace("-", "_"))()
        fault = Fault(name, started, self.clock() - started, detail)
        self.done.append(fault)
        return fault

    def _pause(self, seconds: float) -> None:
        """Sleep, the supervisor doing its rounds meanwhile."""
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            self.tick()
            time.sleep(min(0.1, left))

    def _web(self) -> str:
        deadline = time.monotonic() + CAUGHT_WAIT
        workers: list[int] = []
        while time.monotonic() < deadline and self.stack.web.pid:
            workers = processes.children(self.stack.web.pid)
            serving = [pid for pid in workers if _serving(pid, self.stack.port)]
            if serving:
                victim = self.rng.choice(serving)
                _kill(victim)
                return f"SIGKILL gunicorn worker {victim} while it served a request"
            self._pause(0.005)
        if not workers:
            return "no gunicorn worker running: nothing killed"
        victim = self.rng.choice(workers)
        _kill(victim)
        return f"SIGKILL gunicorn worker {victim} (none seen serving a request for {CAUGHT_WAIT:g} s)"

    def _payments(self) -> str:
        deadline = time.monotonic() + CAUGHT_WAIT
        pool: list[int] = []
        while time.monotonic() < deadline and self.stack.payments.pid:
            pool = processes.children(self.stack.payments.pid)
            calling = [pid for pid in pool if _sleeping(pid)]
            if calling:
                victim = self.rng.choice(calling)
                _kill(victim)
                self.mid_call_kills += 1
                return f"SIGKILL payments pool process {victim} during a connector call"
            self._pause(0.005)
        if not pool:
            return "no payments pool process running: nothing killed"
        victim = self.rng.choice(pool)
        _kill(victim)
        return (f"SIGKILL payments pool process {victim} (none seen in a connector call for "
                f"{CAUGHT_WAIT:g} s)")

    def _whole_worker(self, process: Supervised) -> str:
        main = process.pid
        if main is None:
            return f"{process.name} is not running: nothing killed"
        pool = processes.children(main)
        os.killpg(main, signal.SIGKILL)
        return f"SIGKILL {process.name} {main} and its {len(pool)} pool processes"

    def _payments_worker(self) -> str:
        return self._whole_worker(self.stack.payments)

    def _other_worker(self) -> str:
        return self._whole_worker(self.stack.other_worker)

    def _beat(self) -> str:
        pid = self.stack.beat.pid
        if pid is None:
            return "beat is not running: nothing killed"
        _kill(pid)
        return f"SIGKILL beat {pid}"

    def _postgres(self, mode: str = "immediate") -> str:
        stopped = time.monotonic()
        self.postgres.stop(mode)
        self._pause(self.down_seconds)
        self.postgres.start()
        return f"PostgreSQL stopped ({mode}) and started again: down {time.monotonic() - stopped:.1f} s"

    def _postgres_fast(self) -> str:
        return self._postgres("fast")

    def _rabbitmq(self, crash: bool = False) -> str:
        stopped = time.monotonic()
        if crash:
            self.rabbitmq.kill()
        else:
            self.rabbitmq.stop()
        self._pause(self.down_seconds)
        self.rabbitmq.start()
        return (f"RabbitMQ {'killed' if crash else 'stopped'} and started again: "
                f"down {time.monotonic() - stopped:.1f} s")

    def _rabbitmq_crash(self) -> str:
        return self._rabbitmq(crash=True)


def schedule(names: list[str], seconds: float) -> list[tuple[float, str]]:
    """The faults spread evenly over the stream, from 10% to 85% of it: the last one leaves the
    stream time to carry on past it."""
    if not names:
        return []
    if len(names) == 1:
        return [(seconds * 0.5, names[0])]
    return [(seconds * (0.10 + 0.75 * index / (len(names) - 1)), name) for index, name in enumerate(names)]
