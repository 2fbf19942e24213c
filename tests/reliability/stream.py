"""The chaos run's clients: threads sending payments and transfers through the API as a careful
merchant's integration does, each request with an Idempotency-Key of its own, and the same
request again, with the same key, until it is acknowledged.

A request is retried on a connection error, a timeout, any 5xx, 429 and 409
``idempotency_key_in_use`` (its first try is still running on a server), waiting a little
longer each time, until its deadline; any other 4xx is a failure of the run. The threads share
one pace (``rate`` requests a second in all): a stalled service is not hammered, and when it
comes back the clients carry on at the same pace instead of catching up in a burst.
"""

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

PAYMENTS_PATH = "/api/v1/payments"
TRANSFERS_PATH = "/api/v1/transfers"
PAYMENT_SHARE = 0.7
CURRENCY = "BHD"
TRY_TIMEOUT = 15.0
RETRY_FIRST, RETRY_MAX = 0.25, 2.0


@dataclass(frozen=True)
class Acknowledged:
    kind: str  # payment | transfer
    key: str
    public_id: str
    amount: int
    at: float  # wall clock (time.time()) of the 2xx answer
    tries: int


@dataclass(frozen=True)
class Abandoned:
    kind: str
    key: str
    last: str


class Pace:
    """Hands out start times ``1 / rate`` apart to every thread; never lets them fall behind."""

    def __init__(self, rate: float) -> None:
        self.interval = 1 / rate
        self.next = time.monotonic()
        self.lock = threading.Lock()

    def wait(self, stopping: threading.Event) -> None:
        with self.lock:
            slot = max(self.next, time.monotonic())
            self.next = slot + self.interval
        stopping.wait(max(0.0, slot - time.monotonic()))


def api_call(base_url: str, secret: str, method: str, path: str, body: Any = None, *, key: str | None = None,
             timeout: float = TRY_TIMEOUT) -> tuple[int, Any, dict[str, str]]:
    """One HTTP request: (status, JSON body, headers). Connection errors raise OSError."""
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(f"{base_url}{path}", method=method, headers=headers,
                                     data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null"), dict(response.headers)
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            parsed = json.loads(raw or b"null")
        except ValueError:
            parsed = raw.decode(errors="replace")[:300]
        return error.code, parsed, dict(error.headers or {})


@dataclass
class Stream:
    base_url: str
    secret: str
    funding: str  # account ids (acc_...)
    wallet: str
    clients: int
    rate: float
    seconds: float
    request_deadline: float
    tag: str  # in every Idempotency-Key
    seed: int  # of each client's choices (kinds, amounts)
    acknowledged: list[Acknowledged] = field(default_factory=list)
    abandoned: list[Abandoned] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    retries: Counter[str] = field(default_factory=Counter)
    sent_keys: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.pace = Pace(self.rate)
        self.threads = [threading.Thread(target=self._client, args=(number,), name=f"chaos-client-{number}",
                                         daemon=True) for number in range(self.clients)]

    def start(self) -> None:
        self.ends_at = time.monotonic() + self.seconds
        for thread in self.threads:
            thread.start()

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)

    def stop(self) -> None:
        """Stop at once (Ctrl-C, a failed start): no request is retried any more."""
        self.stopping.set()

    def join(self, timeout: float | None = None) -> None:
        for thread in self.threads:
            thread.join(timeout)

    def _client(self, number: int) -> None:
        rng = random.Random(f"{self.seed}-{number}")
        sent = 0
        while not self.stopping.is_set() and time.monotonic() < self.ends_at:
            self.pace.wait(self.stopping)
            if self.stopping.is_set() or time.monotonic() >= self.ends_at:
                return
            sent += 1
            key = f"chaos-{self.tag}-{number}-{sent}"
            if rng.random() < PAYMENT_SHARE:
                kind, path = "payment", PAYMENTS_PATH
                amount = rng.randint(100, 250_000)
                body: dict[str, Any] = {
                    "amount": amount, "currency": CURRENCY, "country": "BH",
                    "payment_method": {"type": "card", "token": "tok_success"}, "capture_method": "automatic",
                    "reference": key,
                }
            else:
                kind, path = "transfer", TRANSFERS_PATH
                amount = rng.randint(100, 50_000)
                body = {"debit_account": self.funding, "credit_account": self.wallet, "amount": amount,
                        "currency": CURRENCY, "reference": key}
            with self.lock:
                self.sent_keys.add(key)
            self._until_acknowledged(kind, path, key, amount, body, rng)

    def _until_acknowledged(self, kind: str, path: str, key: str, amount: int, body: dict[str, Any],
                            rng: random.Random) -> None:
        deadline = time.monotonic() + self.request_deadline
        delay, tries, last = RETRY_FIRST, 0, ""
        while not self.stopping.is_set():
            tries += 1
            retry_after = 0.0
            try:
                status, answer, headers = api_call(self.base_url, self.secret, "POST", path, body, key=key)
            except OSError as error:  # refused, reset, timed out: the same request again
                reason, last = "connection", f"{type(error).__name__}: {error}"
            else:
                if 200 <= status < 300:
                    with self.lock:
                        self.acknowledged.append(Acknowledged(kind, key, answer["id"], amount, time.time(), tries))
                    return
                code = answer.get("code", "") if isinstance(answer, dict) else ""
                last = f"{status} {code}".strip()
                if status >= 500:
                    reason = f"{status} {code}".strip()
                elif status == 429 or (status == 409 and code == "idempotency_key_in_use"):
                    reason = f"{status} {code}"
                    retry_after = float(headers.get("Retry-After") or 0)
                else:
                    with self.lock:
                        self.failures.append(f"{kind} {key}: {status} {json.dumps(answer)[:400]}")
                    return
            with self.lock:
                self.retries[reason] += 1
            if time.monotonic() + delay > deadline:
                with self.lock:
                    self.abandoned.append(Abandoned(kind, key, last))
                return
            self.stopping.wait(max(retry_after, delay * rng.uniform(0.8, 1.2)))
            delay = min(RETRY_MAX, delay * 2)

    def of_kind(self, kind: str) -> list[Acknowledged]:
        return [ack for ack in self.acknowledged if ack.kind == kind]
