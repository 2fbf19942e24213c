"""A RabbitMQ that is down until the test brings it up: a local port that refuses connections,
then forwards them to the real broker. For processes (workers) started while it is down."""

import socket
import threading
from contextlib import suppress
from urllib.parse import urlparse, urlunparse


class DelayedBroker:
    def __init__(self, broker_url: str) -> None:
        self._broker_url = urlparse(broker_url)
        self._target = (self._broker_url.hostname or "127.0.0.1", self._broker_url.port or 5672)
        # A free port nobody listens on (yet): connections to it are refused.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._server: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The broker URL (same vhost and credentials) through this port."""
        credentials = self._broker_url.netloc.rpartition("@")[0]
        return urlunparse(self._broker_url._replace(netloc=f"{credentials}@127.0.0.1:{self.port}"))

    def come_up(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def go_down(self) -> None:
        with self._lock:
            for sock in [self._server, *self._sockets]:
                if sock is not None:
                    with suppress(OSError):
                        sock.close()
            self._sockets.clear()

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
