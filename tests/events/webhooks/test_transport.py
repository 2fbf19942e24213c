"""The HTTP edge: over TLS fincore connects to the address it checked, yet speaks to the URL's
host (Host header, SNI, certificate check), so a certificate for another name is refused; and a
request never takes longer than the total timeout, however the receiver answers."""

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from apps.events.webhooks import transport

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


@contextmanager
def _tls_receiver(cert: Path, key: Path) -> Iterator[tuple[int, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append(dict(self.headers.items()))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def dns(monkeypatch):
    monkeypatch.setattr(transport, "resolve", lambda host, port: ["127.0.0.1"])


@needs_openssl
def test_https_goes_to_the_checked_address_with_the_urls_host_and_a_verified_certificate(tmp_path, monkeypatch, dns):
    cert, key = _certificate(tmp_path, "hooks.example.com")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust our test certificate as if a CA signed it
    with _tls_receiver(cert, key) as (port, seen):
        response = transport.post(f"https://hooks.example.com:{port}/fincore", body=b"{}", headers={},
                                  require_https=True, allow_private=True)
    assert (response.status, response.error, response.address) == (204, "", "127.0.0.1")
    assert response.succeeded
    assert seen[0]["Host"] == f"hooks.example.com:{port}"


@needs_openssl
def test_a_certificate_for_another_name_is_refused(tmp_path, monkeypatch, dns):
    cert, key = _certificate(tmp_path, "other.example.com")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with _tls_receiver(cert, key) as (port, seen):
        response = transport.post(f"https://hooks.example.com:{port}/fincore", body=b"{}", headers={},
                                  require_https=True, allow_private=True)
    assert response.status is None
    assert response.error.startswith("TLS failed"), response.error
    assert "hooks.example.com" in response.error
    assert seen == []


@needs_openssl
def test_an_untrusted_certificate_is_refused(tmp_path, dns):
    cert, key = _certificate(tmp_path, "hooks.example.com")
    with _tls_receiver(cert, key) as (port, seen):
        response = transport.post(f"https://hooks.example.com:{port}/fincore", body=b"{}", headers={},
                                  require_https=True, allow_private=True)
    assert response.error.startswith("TLS failed") and "certificate verify failed" in response.error
    assert seen == []


@contextmanager
def _trickling_receiver(seconds_per_byte: float) -> Iterator[int]:
    """Answers a status line one byte at a time: no single read ever waits long."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError):
            client, _ = listener.accept()
            with client:
                client.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                    if stop.wait(seconds_per_byte):
                        return
                    client.sendall(bytes([byte]))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(5)


def test_the_total_timeout_bounds_a_receiver_that_trickles_its_answer(monkeypatch):
    monkeypatch.setattr(transport, "TOTAL_TIMEOUT_SECONDS", 0.5)
    with _trickling_receiver(seconds_per_byte=0.1) as port:
        response = transport.post(f"http://127.0.0.1:{port}/x", body=b"{}", headers={}, require_https=False,
                                  allow_private=True)
    assert response.status is None
    assert response.error == "timed out waiting for the response (after 0.5 s in all)"
    assert 500 <= response.duration_ms < 1500
