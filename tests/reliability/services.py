"""The chaos run's own PostgreSQL cluster and RabbitMQ node, restarted at will and torn down at
the end. Never the machine's shared services: other people's test runs use those.

Both live in a temporary directory, ``fincore-chaos-*`` under the system's temp dir, holding
the pid of the run that made it; a run killed too hard to tidy up (SIGKILL) leaves one behind,
and the next run stops what still runs there and removes it (:func:`leftovers_remove`).

- PostgreSQL: ``initdb`` (the newest installed server version), trust authentication on
  127.0.0.1 only, ``fsync`` and ``synchronous_commit`` on (what is acknowledged must survive a
  crash), started and stopped with ``pg_ctl``. As root, every PostgreSQL program runs as the
  ``postgres`` user (``runuser``): the server refuses to run as root.
- RabbitMQ: a node of its own (``fincore-chaos-<pid>@localhost``) on free ports, with its own
  configuration, Erlang cookie, data, log and enabled-plugins files (none enabled: no management
  listener to clash with the shared node's), controlled with ``rabbitmqctl -n``. It registers
  with the machine's epmd like any node.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from bench import processes

RUN_PREFIX = "fincore-chaos-"
OWNER_FILE = "owner.pid"
POSTGRES_USER = "postgres"
DATABASE = "fincore_chaos"
START_TIMEOUT = 120


class ServiceFailed(RuntimeError):
    """A service of the run did not start or stop as asked."""


def free_port() -> int:
    """A TCP port nothing listens on now on 127.0.0.1 (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_directory() -> Path:
    """A new temporary directory for this run's services, readable by the ``postgres`` user."""
    root = Path(tempfile.mkdtemp(prefix=RUN_PREFIX))
    root.chmod(0o755)
    (root / OWNER_FILE).write_text(str(os.getpid()))
    return root


def leftovers_remove(log: Callable[[str], None]) -> None:
    """Stop the services of earlier runs that died without tidying up, and remove their
    directories. A directory whose run is still alive (another chaos run) is left alone."""
    for root in Path(tempfile.gettempdir()).glob(f"{RUN_PREFIX}*"):
        try:
            owner = int((root / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        log(f"removing what a killed run left in {root}")
        postgres = Postgres(root)
        if (postgres.data / "postmaster.pid").exists():
            with suppress(ServiceFailed):
                postgres.stop("immediate")
        rabbit_pid = root / "rabbitmq" / "pid"
        with suppress(OSError, ValueError, ProcessLookupError):
            os.kill(int(rabbit_pid.read_text()), signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


def _newest_postgresql_bindir() -> Path:
    """Where the newest installed PostgreSQL server's programs are (Debian's layout first)."""
    if override := os.environ.get("CHAOS_PG_BINDIR"):
        return Path(override)
    versions = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    if versions:
        return max(versions, key=lambda bindir: int(bindir.parent.name) if bindir.parent.name.isdigit() else 0)
    initdb = shutil.which("initdb")
    if initdb is None:
        raise ServiceFailed("initdb not found: install the PostgreSQL server (make services) or set CHAOS_PG_BINDIR")
    return Path(initdb).parent


class Postgres:
    """A throwaway PostgreSQL cluster in ``root/postgres``."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.dir = root / "postgres"
        self.data = self.dir / "data"
        self.log_path = self.dir / "postgresql.log"
        self.port = port or 0
        self.as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, program: str, *args: str, timeout: float = START_TIMEOUT) -> str:
        command = [str(_newest_postgresql_bindir() / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", POSTGRES_USER, "--", *command]
        try:
            done = subprocess.run(command, cwd=self.dir, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as slow:
            raise ServiceFailed(f"{program} {' '.join(args)}: no answer within {timeout:g} s") from slow
        if done.returncode != 0:
            raise ServiceFailed(f"{program} {' '.join(args)} exited {done.returncode}: "
                                f"{(done.stderr or done.stdout).strip()[-800:]}")
        return done.stdout

    def create(self) -> None:
        """initdb, configured to listen on ``port`` of 127.0.0.1 only, durably."""
        self.dir.mkdir()
        if self.as_postgres:
            shutil.chown(self.dir, POSTGRES_USER, POSTGRES_USER)
        self._run("initdb", "-D", str(self.data), "-U", POSTGRES_USER, "--auth=trust", "--encoding=UTF8",
                  "--locale=C")
        settings = {
            "port": str(self.port), "listen_addresses": "'127.0.0.1'", "unix_socket_directories": f"'{self.dir}'",
            # What is acknowledged must survive a crash of the server: the run checks exactly that.
            "fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
            "max_connections": "100", "log_min_messages": "warning", "log_line_prefix": "'%m [%p] '",
        }
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n# fincore chaos run\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-w", "-t", str(START_TIMEOUT), "start")

    def stop(self, mode: str) -> None:
        """``fast``: disconnect every client, checkpoint, stop; ``immediate``: as a crash (the
        next start recovers from the WAL)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", str(START_TIMEOUT), "stop")

    def dump(self, path: Path) -> None:
        """The run's database into ``path`` (pg_dump's custom format), as a client over TCP."""
        done = subprocess.run([str(_newest_postgresql_bindir() / "pg_dump"), "-h", "127.0.0.1", "-p", str(self.port),
                               "-U", POSTGRES_USER, "-Fc", "-f", str(path), DATABASE],
                              capture_output=True, text=True, timeout=START_TIMEOUT, check=False)
        if done.returncode != 0:
            raise ServiceFailed(f"pg_dump exited {done.returncode}: {done.stderr.strip()[-800:]}")

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


def _rabbitmq_program(name: str) -> str:
    """RabbitMQ's own script: Debian's wrapper in /usr/sbin would run it as the rabbitmq user
    with that user's home (and Erlang cookie) instead of ours."""
    upstream = Path("/usr/lib/rabbitmq/bin") / name
    if upstream.exists():
        return str(upstream)
    found = shutil.which(name)
    if found is None:
        raise ServiceFailed(f"{name} not found: install RabbitMQ (make services)")
    return found


class RabbitMQ:
    """A RabbitMQ node of the run's own, in ``root/rabbitmq``, its logs in ``log_dir``."""

    def __init__(self, root: Path, log_dir: Path) -> None:
        self.dir = root / "rabbitmq"
        self.log_dir = log_dir
        self.node = f"fincore-chaos-{os.getpid()}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def create(self) -> None:
        self.dir.mkdir()
        (self.dir / "mnesia").mkdir()
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.1 = 127.0.0.1:{self.port}\n")
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq-env.conf").write_text("# the chaos run's node reads no other environment file\n")

    def _env(self) -> dict[str, str]:
        loopback = "-kernel inet_dist_use_interface {127,0,0,1}"
        return {
            **{name: value for name, value in os.environ.items() if not name.startswith("RABBITMQ_")},
            "HOME": str(self.dir),  # its own Erlang cookie, shared with our rabbitmqctl only
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.log_dir),
            "RABBITMQ_PID_FILE": str(self.dir / "pid"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": loopback,
            "RABBITMQ_CTL_ERL_ARGS": loopback,
        }

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run([_rabbitmq_program("rabbitmqctl"), "-n", self.node, *args], env=self._env(),
                                  cwd=self.dir, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as slow:
            raise ServiceFailed(f"rabbitmqctl {' '.join(args)}: no answer within {timeout:g} s") from slow

    def start(self) -> None:
        """Start the node (from the main thread: it is stopped if that thread dies) and wait
        until it accepts connections."""
        self.process = processes.spawn([_rabbitmq_program("rabbitmq-server")], cwd=self.dir,
                                       log_path=self.log_dir / "rabbitmq-server.log", env=self._env(), append=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceFailed(f"rabbitmq-server exited {self.process.returncode}; see {self.log_dir}")
            # await_startup fails at once while the node is not yet registered with epmd.
            if self.ctl("await_startup", "--timeout", "10", timeout=30).returncode == 0:
                return
            time.sleep(1)
        raise ServiceFailed(f"RabbitMQ did not start within {START_TIMEOUT} s; see {self.log_dir}")

    def stop(self) -> None:
        """Stop the node gracefully (its script stops it on SIGTERM), forcefully if it hangs."""
        processes.stop(self.process, timeout=60)
        self.process = None

    def kill(self) -> None:
        """Crash the node: SIGKILL to every process of it."""
        if self.process is not None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None
