"""Group commit: concurrent single transfers share one engine batch.

Each web process has one committer thread. A request hands its transfer to it and waits;
the committer takes everything queued (up to ``MAX_BATCH``), posts it as one batch — one
transaction, one lock and one write per account however many requests touched it — and
wakes each request with its own outcome. When requests are few, a batch is one transfer
and nothing waits; when they crowd, batches grow, so throughput on one hot account keeps up
with throughput spread over many.
"""

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

from django.db import DataError, close_old_connections, connection

from apps.ledger import data, engine

logger = logging.getLogger(__name__)

MAX_BATCH = 500
# Longer than any batch can take; a request never waits forever on a stuck committer.
WAIT_SECONDS = 30
CONNECTION_RECYCLE_SECONDS = 10


@dataclass(frozen=True)
class _Request:
    spec: data.TransferSpec
    outcome: Future


class GroupCommitter:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, spec: data.TransferSpec) -> data.Outcome:
        """Post one transfer in the next batch and return its outcome (or raise the batch's error).

        Inside a transaction the caller's own, the transfer is posted right there instead: it
        must commit or roll back with the caller's other changes.
        """
        if spec.linked:
            raise ValueError("a linked transfer belongs in a batch with its chain")
        if connection.in_atomic_block:
            return engine.post([spec])[0]
        request = _Request(spec, Future())
        self._ensure_running()
        self._queue.put(request)
        return request.outcome.result(timeout=WAIT_SECONDS)

    def _ensure_running(self) -> None:
        # Started lazily, in the process that uses it: a thread does not survive a fork.
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ledger-group-commit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        recycled_at = 0.0
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            # Django's per-request connection upkeep (age, health check), done now and then
            # rather than costing each batch a round trip; a failed batch closes it at once.
            if time.monotonic() - recycled_at > CONNECTION_RECYCLE_SECONDS:
                close_old_connections()
                recycled_at = time.monotonic()
            self._post(batch)

    @classmethod
    def _post(cls, batch: list[_Request]) -> None:
        try:
            outcomes = engine.post([request.spec for request in batch])
        except Exception as error:
            connection.close()
            if isinstance(error, DataError) and len(batch) > 1:
                # A value PostgreSQL refuses (a NUL in metadata, a code too long) is one request's
                # fault: it must not fail the others that happened to share its batch.
                logger.warning("group commit batch refused a value; posting its requests one by one",
                               extra={"batch_size": len(batch)})
                for request in batch:
                    cls._post([request])
                return
            logger.exception("group commit batch failed", extra={"batch_size": len(batch)})
            for request in batch:
                request.outcome.set_exception(error)
            return
        for request, outcome in zip(batch, outcomes, strict=True):
            request.outcome.set_result(outcome)


committer = GroupCommitter()
