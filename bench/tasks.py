"""Tasks only the benchmark's workers load (``bench.settings`` lists this module in
``CELERY_IMPORTS``); never part of the product.

``bench.settlement_work`` stands in for bulk settlement work: ``bench.payments`` publishes
100,000 of them at priority 0 on the ``settlement`` queue and a worker consumes them while
payments are measured, so the backlog is work really running, not messages sitting.
"""

from celery import shared_task
from django.db import connection


@shared_task(name="bench.settlement_work")
def settlement_work(*, n: int) -> int:
    """One small indexed read of the ledger, as a settlement step reads an account."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM (SELECT id FROM ledger_account ORDER BY id LIMIT 1 OFFSET %s) AS one",
                       [n % 50])
        (found,) = cursor.fetchone()
    return found
