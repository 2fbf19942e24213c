"""What a process builds from a few small tables (rules, lists, configuration) and keeps, read
again only when a row of them changed, whoever changed it (the admin, a command, raw SQL).

The check is one small query comparing the tables' row versions: ``xmin`` (the transaction that
wrote a row) and ``ctid`` (where it is) change with every INSERT and UPDATE, a DELETE removes a
row, and a rolled-back write is never seen again. So a change committed by any process is seen
by the next read after its commit, and a value built inside a transaction that rolled back is
never taken for the tables as they are.
"""

from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import connection
from django.db.models import Model

Value = TypeVar("Value")


class TableSnapshot(Generic[Value]):
    """``build()``'s value, kept per process while none of ``models``' tables changed (and per
    database, so test databases never share one)."""

    def __init__(self, *models: type[Model], build: Callable[[], Value]) -> None:
        self._models = models
        self._build = build
        self._version_sql = ""
        self._kept: tuple[tuple[str, ...], Value] | None = None

    def version(self) -> tuple[str, ...]:
        """The tables' row versions now (and the database's name): one query."""
        if not self._version_sql:
            self._version_sql = " UNION ALL ".join(
                "SELECT md5(coalesce(string_agg(xmin::text || ctid::text, ',' ORDER BY ctid), '')) "
                f"FROM {connection.ops.quote_name(model._meta.db_table)}" for model in self._models)
        with connection.cursor() as cursor:
            cursor.execute(self._version_sql)
            return (connection.settings_dict["NAME"], *(row[0] for row in cursor.fetchall()))

    def get(self) -> Value:
        """The value as the tables are now: built again only when they changed."""
        version = self.version()
        kept = self._kept
        if kept is not None and kept[0] == version:
            return kept[1]
        value = self._build()
        self._kept = (version, value)
        return value
