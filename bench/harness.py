"""What the benchmarks share (``bench.ledger``, ``bench.payments``): their knobs, CPU accounting,
the processes they start (gunicorn, Celery workers), the API merchant, wrk, the interleaved
rounds and the report (each run, a table of medians, the targets' ratios, a final JSON line).

Importing it sets Django up on ``bench.settings`` (the benchmark's own database, Redis database
and RabbitMQ vhost). Environment: BENCH_QUICK=1, BENCH_RUNS (3), BENCH_SECONDS (12; 4 when
quick), BENCH_ONLY (comma-separated figure names), BENCH_API_CLIENTS (16), BENCH_PORT (8765).
"""

import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from bench import database, processes  # noqa: E402
from bench.urls import PING_TABLE  # noqa: E402

ROOT = Path(settings.BASE_DIR)
VAR = ROOT / "var" / "bench"
PYTHON = sys.executable
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "4" if QUICK else "12"))
API_CLIENTS = int(os.environ.get("BENCH_API_CLIENTS", "16"))
PORT = int(os.environ.get("BENCH_PORT", "8765"))
BASE_URL = f"http://127.0.0.1:{PORT}"
PING_PATH = "/api/v1/bench/ping"


def selected(figures: tuple[str, ...]) -> list[str]:
    """The figures BENCH_ONLY names (all of them when it is unset), in ``figures``' order."""
    only = {name for name in os.environ.get("BENCH_ONLY", "").split(",") if name}
    return [name for name in figures if not only or name in only]


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def begin(benchmark: str, figures: list[str], *, wrk_figures: set[str]) -> bool:
    """Whether ``benchmark`` has figures to measure; if so, ready to: wrk present when a figure
    needs it, SIGTERM and SIGHUP ending it through its ``finally``, ``VAR`` made."""
    if not figures:
        return False
    if shutil.which("wrk") is None and wrk_figures & set(figures):
        raise SystemExit("bench: wrk is missing (Debian: apt-get install wrk); `make bench` installs it as root")
    processes.exit_on_signals()
    VAR.mkdir(parents=True, exist_ok=True)
    log(f"{benchmark}: load average {load()}; {RUNS} runs of {SECONDS:g} s per figure; figures: {', '.join(figures)}")
    return True


# --- CPU accounting ----------------------------------------------------------------------------
# What bounds a figure on 2 cores: CPU seconds per operation, of the clients (Python, gunicorn,
# pgbench) and of their PostgreSQL backends, read from /proc (Linux).

_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def children_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each child of ``pid`` (gunicorn's workers, a Celery worker's pool)."""
    return {child: process_cpu(child) for child in processes.children(pid)}


def backends_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to ``database`` (by process title)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and f" {database} " in title:
            found[int(entry.name)] = process_cpu(int(entry.name))
    return found


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


@dataclass
class Sample:
    """One measurement of one figure (a rate per second, or milliseconds), and CPU
    milliseconds per operation where they are known."""

    value: float
    client_ms: float | None = None
    server_ms: float | None = None


# --- PostgreSQL --------------------------------------------------------------------------------


def pg_params() -> dict[str, Any]:
    return database.maintenance_params(os.environ["FINCORE_DATABASE_URL"])[1]


def database_name() -> str:
    return database.maintenance_params(os.environ["FINCORE_DATABASE_URL"])[0]


def pg_args() -> list[str]:
    params = pg_params()
    args = ["-h", str(params.get("host", "127.0.0.1")), "-U", str(params.get("user", "postgres"))]
    if params.get("port"):
        args += ["-p", str(params["port"])]
    return args


def checkpoint() -> None:
    """Flush the previous figure's dirty pages now, not during the next figure."""
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    connection.close()


def table_rows(table: str) -> Callable[[], int]:
    def count() -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")
            (rows,) = cursor.fetchone()
        connection.close()
        return rows
    return count


# --- processes the benchmark starts ------------------------------------------------------------

def spawn(command: list[str], *, log_path: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``command`` in ``ROOT`` on bench.settings (bench.processes: a session of its own,
    stopped if the benchmark dies), output into ``log_path``."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", **(env or {})}
    return processes.spawn(command, cwd=ROOT, log_path=log_path, env=environment)


def stop(*started: subprocess.Popen[bytes] | None, timeout: float = 40) -> None:
    """SIGTERM to each at once, then SIGKILL to whatever is left of their process groups."""
    processes.stop(*started, timeout=timeout,
                   late=lambda pid: log(f"pid {pid} did not stop within {timeout:g} s; killing it"))


class Server:
    """gunicorn with the production-ish settings of deploy/gunicorn.conf.py, on bench.settings."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = VAR / "gunicorn.log"

    def start(self) -> None:
        metrics = VAR / "prometheus"
        subprocess.run(["rm", "-rf", str(metrics)], check=True)
        metrics.mkdir(parents=True)
        self.process = spawn(
            [str(Path(PYTHON).parent / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "fincore.wsgi"],
            log_path=self.log_path,
            env={"FINCORE_BIND": f"127.0.0.1:{PORT}", "PROMETHEUS_MULTIPROC_DIR": str(metrics)},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{BASE_URL}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer within 60 s; see {self.log_path}")

    def workers_cpu(self) -> dict[int, float]:
        assert self.process is not None
        return children_cpu(self.process.pid)

    def stop(self) -> None:
        stop(self.process)
        self.process = None


# --- the API -----------------------------------------------------------------------------------


def http(method: str, path: str, secret: str, body: Any = None, *, key: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{BASE_URL}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json",
                 "Idempotency-Key": key or secrets.token_hex(16)},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def api_merchant(name: str, currency: str) -> str:
    """A merchant made by ``manage.py merchant_create --json`` (test mode); its secret key, checked
    against the running server's ping endpoint (whose table this creates if it is missing)."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {PING_TABLE} "
                       "(id bigserial PRIMARY KEY, merchant_id uuid NOT NULL, created_at timestamptz NOT NULL)")
    connection.close()
    created = subprocess.run(
        [PYTHON, "manage.py", "merchant_create", "--name", name, "--currency", currency, "--json"],
        cwd=ROOT, check=True, capture_output=True, text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"},
    )
    secret = json.loads(created.stdout.strip().splitlines()[-1])["secret_key"]
    status, _ = http("POST", PING_PATH, secret, {})
    if status != 201:
        raise RuntimeError(f"POST {PING_PATH} answered {status}")
    return secret


def lua_list(items: list[str]) -> str:
    return "{" + ", ".join(f'"{item}"' for item in items) + "}"


PING_BODY = "function make_body(n) return '{\"n\": ' .. n .. '}' end"


def wrk_script(path: str, secret: str, body: str) -> Path:
    """A wrk script POSTing to ``path``, every request with a new Idempotency-Key, as a
    well-behaved client sends; ``body`` defines the Lua function ``make_body(n)``."""
    script = VAR / f"wrk-{path.strip('/').replace('/', '-')}.lua"
    script.write_text(f"""
local path = "{path}"
local secret = "{secret}"
local prefix = ""
local counter = 0
local threads_made = 0
{body}

-- setup() runs in wrk's main Lua state, once per thread; thread_id becomes a global of that
-- thread's own state, so each thread's keys differ.
function setup(thread)
  threads_made = threads_made + 1
  thread:set("thread_id", threads_made)
end

-- Each wrk run passes a fresh prefix: keys never repeat from one run to the next.
function init(args)
  prefix = args[1] .. "-" .. thread_id
  math.randomseed(os.time() * 1000 + thread_id)
end

function request()
  counter = counter + 1
  return wrk.format("POST", path, {{
    ["Authorization"] = "Bearer " .. secret,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = prefix .. "-" .. counter,
  }}, make_body(counter))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_ms": %.2f, "p99_ms": %.2f}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
""")
    return script


def wrk_rps(script: Path, path: str, seconds: float, rows: Callable[[], int], server: Server,
            clients: int = API_CLIENTS) -> Sample:
    """Successful requests per second. Any error fails the figure, and so does a replayed
    request (fewer new rows than successes: the keys of the script must be unique)."""
    rows_before = rows()
    database = database_name()
    workers, backends = server.workers_cpu(), backends_cpu(database)
    result = subprocess.run(
        ["wrk", "-t", "2", "-c", str(clients), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s", "-s",
         str(script), f"{BASE_URL}{path}", "--", secrets.token_hex(8)],
        check=True, capture_output=True, text=True,
    )
    line = next((line for line in result.stdout.splitlines() if line.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{result.stdout}\n{result.stderr}")
    summary = json.loads(line[4:])
    workers_used, backends_used = cpu_delta(workers, server.workers_cpu()), cpu_delta(backends, backends_cpu(database))
    failed = sum(summary[key] for key in ("connect", "read", "write", "status", "timeout"))
    if failed:
        raise RuntimeError(f"wrk {path}: {failed} failed requests {summary}; see {server.log_path}")
    time.sleep(0.5)  # requests wrk gave up on at the deadline may still commit
    written = rows() - rows_before
    if written < summary["requests"]:
        raise RuntimeError(f"wrk {path}: {summary['requests']} answers but {written} rows written (replays?)")
    requests = summary["requests"]
    return Sample(requests / (summary["duration_us"] / 1e6), 1000 * workers_used / requests,
                  1000 * backends_used / requests)


# --- rounds and the report ---------------------------------------------------------------------

Measure = Callable[[], "Sample | dict[str, Sample]"]


def rounds(measures: dict[str, Measure], figures: tuple[str, ...], *,
           runs: int = RUNS) -> tuple[dict[str, list[Sample]], list[str]]:
    """Run every measure once per round, ``runs`` rounds (RUNS), so drift on a shared machine spreads over
    all figures. A measure gives one Sample (of the figure it is named after) or several by
    figure name. Returns each figure's samples and each round's load averages."""
    samples: dict[str, list[Sample]] = {name: [] for name in figures}
    loads: list[str] = []
    width = max(map(len, figures))
    for run in range(1, runs + 1 if measures else 1):
        loads.append(load())
        log(f"run {run}/{runs}, load average {loads[-1]}")
        for name, measure in measures.items():
            checkpoint()
            result = measure()
            for figure, sample in (result if isinstance(result, dict) else {name: result}).items():
                samples[figure].append(sample)
                cpu = "" if sample.client_ms is None and sample.server_ms is None else (
                    f"   CPU ms per operation: client {_ms(sample.client_ms)}, PostgreSQL {_ms(sample.server_ms)}")
                log(f"  {figure:<{width}} {shown(sample.value):>10}{unit(figure)}{cpu}")
    return samples, loads


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def unit(figure: str) -> str:
    if figure.endswith("_mb"):
        return " MB"
    return " ms" if figure.endswith("_ms") else "/s"


def shown(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"


def median(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def medians_of(samples: Mapping[str, list[Sample]]) -> dict[str, float | None]:
    return {name: median([sample.value for sample in values]) for name, values in samples.items()}


@dataclass(frozen=True)
class Target:
    """``figure / baseline`` against ``factor``: at least it (a rate), or at most it (``at_most``, a
    latency); no factor: a ratio reported for context."""

    figure: str
    baseline: str
    factor: float | None
    at_most: bool = False

    def ratio(self, medians: Mapping[str, float | None]) -> float | None:
        figure, baseline = medians.get(self.figure), medians.get(self.baseline)
        return figure / baseline if figure and baseline else None

    @property
    def label(self) -> str:
        if self.factor is None:
            return f"{self.figure} / {self.baseline}"
        return f"{self.figure} {'<=' if self.at_most else '>='} {self.factor:g} x {self.baseline}"

    def verdict(self, ratio: float | None) -> str:
        if ratio is None:
            return "not measured"
        if self.factor is None:
            return "no target"
        return "met" if (ratio <= self.factor if self.at_most else ratio >= self.factor) else "missed"


def report(figures: tuple[str, ...], samples: dict[str, list[Sample]], targets: tuple[Target, ...], *,
           notes: list[str], loads: list[str], settings_line: str, settings_json: dict[str, Any],
           baselines: Mapping[str, float] | None = None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Print the table of medians, the targets and, as the last line, one JSON object (returned):
    the medians, ``extra`` (figures derived from them), each run, CPU, targets and settings.
    ``baselines`` are figures computed rather than measured (a bound), usable by targets."""
    medians = medians_of(samples)
    cpu = {
        name: (median([s.client_ms for s in runs]), median([s.server_ms for s in runs]))
        for name, runs in samples.items()
    }
    width = max(20, *map(len, figures))
    print()
    print(f"{'figure':<{width}} {'median':>10}      {'CPU ms/op: client':>17} {'PostgreSQL':>10}   runs")
    for name in figures:
        client, server = cpu[name]
        runs = "  ".join(shown(sample.value) for sample in samples[name])
        print(f"{name:<{width}} {shown(medians[name]):>10}{unit(name):<3}   "
              f"{'—' if client is None else f'{client:.3f}':>17} {'—' if server is None else f'{server:.3f}':>10}   "
              f"{runs or 'not measured'}")
    print()
    known = {**medians, **(baselines or {})}
    verdicts = {}
    for target in targets:
        ratio = target.ratio(known)
        verdict = target.verdict(ratio)
        verdicts[target.label] = {"ratio": None if ratio is None else round(ratio, 3), "verdict": verdict}
        limit = "" if target.factor is None else f"  (target {'<=' if target.at_most else '>='} {target.factor:g})"
        print(f"{target.figure} / {target.baseline} = {'—' if ratio is None else f'{ratio:.2f}'}{limit}: {verdict}")
    for note in notes:
        print(f"note: {note}")
    print(f"settings: {settings_line}; load averages {'; '.join(loads)}")
    summary = {
        **{name: None if medians[name] is None else round(medians[name], 1) for name in figures},
        **(extra or {}),
        "runs": {name: [round(sample.value, 1) for sample in runs] for name, runs in samples.items()},
        "cpu_ms_per_op": {
            name: {"client": None if client is None else round(client, 3),
                   "postgresql": None if server is None else round(server, 3)}
            for name, (client, server) in cpu.items() if client is not None or server is not None
        },
        "targets": verdicts,
        "settings": settings_json,
        "load_averages": loads,
    }
    print(json.dumps(summary))
    return summary
