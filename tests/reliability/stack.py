"""fincore's processes as ``make run`` starts them (``deploy/Procfile.dev``), on the chaos run's
services, each kept running as a process manager would: gunicorn (``deploy/gunicorn.conf.py``,
2 workers), a Celery worker for the ``payments`` queue, one for the bulk queues (which yields
the CPU by itself: ``apps.core.worker.cpu_yield``) and beat (the database scheduler: the payments janitor every 5 s).

Every process is started from the main thread (``bench.processes``: stopped if the run dies);
:meth:`Stack.supervise`, called from the run's main loop, restarts whichever exited, a second
after it did, and records it.
"""

import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench import processes

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REALTIME_QUEUES = "payments,ledger"  # as deploy/Procfile.dev
OTHER_QUEUES = "webhooks,settlement,reconciliation,compliance,default"
RESTART_DELAY = 1.0
READY_TIMEOUT = 120


@dataclass
class Exit:
    name: str
    at: float  # seconds into the run
    returncode: int


@dataclass
class Supervised:
    """One process of the stack: how to start it and how to tell it is ready."""

    name: str
    command: list[str]
    ready: Callable[["Supervised"], bool]
    log_path: Path
    env: Mapping[str, str]
    process: subprocess.Popen[bytes] | None = None
    exited_at: float | None = None
    starts: int = 0

    def start(self) -> None:
        # Appended to: the log keeps every start's output, each after its marker line.
        self.process = processes.spawn(self.command, cwd=ROOT, log_path=self.log_path, env=self.env, append=True)
        self.starts += 1
        self.exited_at = None

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited while starting; see {self.log_path}")
            if self.ready(self):
                return
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready within {timeout:g} s; see {self.log_path}")

    @property
    def pid(self) -> int | None:
        return None if self.process is None or self.process.poll() is not None else self.process.pid


def _log_says(text: bytes) -> Callable[[Supervised], bool]:
    """Ready once its log (since its last start) contains ``text``."""
    def ready(process: Supervised) -> bool:
        output = process.log_path.read_bytes()
        marker = f"--- start {process.starts} ---".encode()
        return text in output[output.rfind(marker):]
    return ready


def _answers(url: str) -> Callable[[Supervised], bool]:
    def ready(process: Supervised) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False
    return ready


@dataclass
class Stack:
    env: Mapping[str, str]
    log_dir: Path
    port: int
    clock: Callable[[], float]
    exits: list[Exit] = field(default_factory=list)

    def __post_init__(self) -> None:
        celery = [str(BIN / "celery"), "-A", "celery_app"]
        web_env = {**self.env, "FINCORE_BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": "2"}
        self.web = Supervised("web", [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "fincore.wsgi"],
                              _answers(f"{self.base_url}/healthz"), self.log_dir / "web.log", web_env)
        self.payments = Supervised(
            "payments-worker", [*celery, "worker", "-Q", REALTIME_QUEUES, "--loglevel", "INFO", "--concurrency", "2",
                         "--hostname", "chaos-payments@%h"],
            _log_says(b" ready."), self.log_dir / "payments-worker.log", self.env)
        self.other_worker = Supervised(
            "other-worker", [*celery, "worker", "-Q", OTHER_QUEUES, "--loglevel", "INFO",
                       "--concurrency", "2", "--hostname", "chaos-worker@%h"],
            _log_says(b" ready."), self.log_dir / "other-worker.log", self.env)
        self.beat = Supervised(
            "beat", [*celery, "beat", "--loglevel", "INFO", "--schedule", str(self.log_dir / "celerybeat-schedule")],
            _log_says(b"beat: Starting..."), self.log_dir / "beat.log", self.env)
        self.all = (self.web, self.payments, self.other_worker, self.beat)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        for process in self.all:
            self._start(process)
        for process in self.all:
            process.wait_ready()

    def _start(self, process: Supervised) -> None:
        with open(process.log_path, "ab") as log:
            log.write(f"--- start {process.starts + 1} ---\n".encode())
        process.start()

    def supervise(self) -> list[str]:
        """Restart what exited (RESTART_DELAY after it did); returns what it restarted."""
        restarted = []
        for process in self.all:
            if process.process is None or process.process.poll() is None:
                continue
            now = self.clock()
            if process.exited_at is None:
                process.exited_at = now
                self.exits.append(Exit(process.name, now, process.process.returncode))
            if now - process.exited_at >= RESTART_DELAY:
                self._start(process)
                restarted.append(process.name)
        return restarted

    def stop(self) -> None:
        processes.stop(*(process.process for process in self.all), timeout=30)
        for process in self.all:
            process.process = None
