"""Processes a run starts and must never leave behind: what the benchmarks (``bench.harness``)
and the chaos run (``tests.reliability``) share. No Django here: importing it sets nothing up.

Each child runs in a session of its own (Ctrl-C reaches only the run, which stops its children
in order) and is sent SIGTERM by the kernel if the thread that started it dies, even by SIGKILL:
start children from the main thread, or from one that lives as long as they do.
"""

import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM it when its parent dies. Its own children it stops
    itself, as on any SIGTERM."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(command: list[str], *, cwd: Path, log_path: Path, env: Mapping[str, str],
          append: bool = False) -> subprocess.Popen[bytes]:
    """Start ``command`` in ``cwd`` with exactly ``env``, output into ``log_path`` (appended to
    with ``append``: a restarted process keeps its earlier log)."""
    with open(log_path, "ab" if append else "wb") as output:
        return subprocess.Popen(command, cwd=cwd, env=dict(env), stdout=output, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=_die_with_parent)


def stop(*processes: subprocess.Popen[bytes] | None, timeout: float = 40,
         late: Callable[[int], None] | None = None) -> None:
    """SIGTERM to each at once (a graceful stop: gunicorn finishes its requests, Celery its
    tasks), then SIGKILL to whatever is left of their process groups; ``late`` is told the pid
    of each that had not stopped within ``timeout``."""
    started = [process for process in processes if process is not None]
    for process in started:
        if process.poll() is None:
            with suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in started:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            if late is not None:
                late(process.pid)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (gunicorn's workers, a Celery worker's pool); Linux."""
    pids: list[int] = []
    # Children are listed under the thread that forked them; look at every thread.
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        with suppress(OSError):
            pids.extend(int(child) for child in listing.read_text().split())
    return pids


def exit_on_signals() -> None:
    """SIGTERM and SIGHUP end the run as Ctrl-C does: through its ``finally``, which stops every
    process it started."""
    def leave(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGHUP, leave)
