"""Fixtures of the messaging tests: empty queues, and one worker shared by the tests that only
need their tasks run.

Queues are split by use, so tests never compete for a message:
- ``default`` and ``ledger``: consumed by the shared worker;
- ``payments``, ``compliance``, ``reconciliation``: by a worker a test starts for itself
  (those that kill workers, or need a particular configuration);
- ``settlement`` and ``webhooks``: by nobody unless a test starts a worker, so a test can count
  what was published.
"""

from collections.abc import Iterator

import pytest

from tests.support.workers import WorkerProcess, purge_all_queues, running_worker

SHARED_QUEUES = ("default", "ledger")


@pytest.fixture(autouse=True)
def _empty_queues() -> None:
    purge_all_queues()


@pytest.fixture(scope="package")
def shared_worker(django_db_setup: None) -> Iterator[WorkerProcess]:
    """One worker (concurrency 1) for the messaging tests; tests using it must be transactional.

    Package-scoped, so it is gone before other packages' tests run: it would otherwise run the
    tasks they publish to its queues.
    """
    with running_worker(*SHARED_QUEUES) as worker:
        yield worker
