"""Shared by the webhook tests: event types of their own, endpoints, and a local receiver."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.db import transaction

from apps.core.actors import Actor
from apps.events.webhooks.services import deliveries, endpoints
from apps.merchants.models import Merchant

STAFF = Actor.system("tests.webhooks")


def endpoint_create(merchant: Merchant, *, url: str = "http://127.0.0.1:9/hook", livemode: bool = False,
                    events: list[str] | None = None) -> endpoints.IssuedWebhookEndpoint:
    return endpoints.webhook_endpoint_create(
        merchant_id=merchant.pk, livemode=livemode, url=url, events=events or ["*"], actor=STAFF
    )


def emit(merchant: Merchant, *, livemode: bool = False, event_type: str = "payment.succeeded",
         data: dict[str, Any] | None = None) -> str:
    with transaction.atomic():
        return deliveries.webhook_event_emit(
            merchant_id=merchant.pk, livemode=livemode, event_type=event_type,
            data=data if data is not None else {
                "object": {"id": "pay_1", "object": "payment", "amount": 12500, "currency": "BHD"}
            },
        )


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A merchant's webhook receiver on 127.0.0.1: answers each POST with the next of
    ``statuses`` (the last one repeats) and keeps what it received."""

    statuses: list[int] = field(default_factory=lambda: [200])
    received: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/fincore"


@contextmanager
def running_receiver(statuses: list[int] | None = None, *, delay: float = 0.0, answer: bytes | None = None,
                     headers: dict[str, str] | None = None) -> Iterator[Receiver]:
    """A receiver on a free port of 127.0.0.1; ``delay`` seconds before each answer, whose body is
    ``answer`` (default a small JSON) with ``headers``."""
    receiver = Receiver(statuses=list(statuses or [200]))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                index = min(len(receiver.received), len(receiver.statuses)) - 1
                status = receiver.statuses[index]
            if delay:
                time.sleep(delay)
            content = answer if answer is not None else json.dumps({"received": status < 300}).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(content)
            except OSError:
                pass  # the client gave up waiting

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
