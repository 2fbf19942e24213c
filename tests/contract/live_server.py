"""fincore's web process as deployed — gunicorn with deploy/gunicorn.conf.py and fincore.wsgi —
on a free port of this machine, against the test database.

Django's test client hands the view a request it built itself: it never frames a body, never
sends a Host header a proxy would, never runs the WSGI application gunicorn runs. What a real
client can do to the API over a socket (a chunked body, a body larger than the limit, a forged
Host) is tested here, over a socket.

The server is another process: it sees only committed rows, so a test that writes through the
ORM uses ``@pytest.mark.django_db(transaction=True)``, or writes outside any test transaction.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from tests.support.workers import PROJECT_DIR, test_database_url

GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        return json.loads(self.body)


class LiveServer:
    """``gunicorn -c deploy/gunicorn.conf.py fincore.wsgi`` with the test settings, or with
    ``runserver=True`` Django's development server (``manage.py runserver``)."""

    def __init__(self, *, workers: int = 2, threads: int = 4, runserver: bool = False,
                 env: Mapping[str, str] | None = None, application: str = "fincore.wsgi") -> None:
        self.port = free_port()
        self.workers = workers
        self.threads = threads
        self.runserver = runserver
        # A test may serve fincore.wsgi wrapped by a module of its own (tests/support/dying_wsgi.py).
        self.application = application
        self.env = dict(env or {})
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "LiveServer":
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "fincore.settings.test",
            "FINCORE_DATABASE_URL": test_database_url(),
            "FINCORE_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(self.workers),
            "FINCORE_WEB_THREADS": str(self.threads),
            "FINCORE_LOG_LEVEL": "WARNING",
            **self.env,
        }
        command = (
            [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{self.port}"]
            if self.runserver else [GUNICORN, "-c", "deploy/gunicorn.conf.py", self.application]
        )
        self.process = subprocess.Popen(
            command,
            cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read_output, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the server exited:\n" + "\n".join(self.output[-40:]))
            with suppress(OSError):
                if self.request("GET", "/healthz").status == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not answer /healthz:\n" + "\n".join(self.output[-40:]))

    def _read_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self.output.append(line.rstrip())

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (gunicorn finishes what it serves), then SIGKILL to whatever is left of its group:
        its database connections must be gone before the test database is dropped."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.process = None

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: Mapping[str, str] | None = None, timeout: float = 30) -> Answer:
        """One request as http.client frames it: ``Content-Length`` for a body, unless the headers
        say ``Transfer-Encoding: chunked`` (then ``body`` is sent as one chunk)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            chunked = (headers or {}).get("Transfer-Encoding", "").lower() == "chunked"
            # The server may answer (a 413, say) and close before the whole body is sent.
            with suppress(BrokenPipeError, ConnectionResetError):
                connection.request(method, path, body=iter([body]) if chunked and body else body,
                                   headers=dict(headers or {}), encode_chunked=chunked)
            response = connection.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def raw(self, data: bytes, timeout: float = 30) -> Answer:
        """Send ``data`` as written (request line, headers, body) and read one response."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(data)
            response = http.client.HTTPResponse(sock)
            response.begin()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
