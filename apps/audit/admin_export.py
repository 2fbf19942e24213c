"""CSV export of any admin list, as filtered, and journaled.

Mix :class:`CsvExportMixin` into a ModelAdmin (before ``admin.ModelAdmin``): its list gets an
"Export CSV" button (object tools) that downloads every row the list holds with its current
filters, search and order — not only the page, not only selected rows.

Memory: the rows are read with ``QuerySet.iterator()`` (a PostgreSQL server-side cursor, fetched
in chunks) and written by a generator into a ``StreamingHttpResponse``, so a list of a million
rows is never held in memory, by the server or the database driver.

Money: each amount of the admin's ``money_fields`` is written in major units with exactly the
currency's decimals (``12.500``), its currency in its own column; never minor units, never a float.
Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) is written with a
leading ``'``, so an export opened in a spreadsheet runs nothing a merchant typed.

The journal. Two rows, so that an export is on the record even when its download breaks off:

* ``admin.export_started`` is written and committed *before the first byte is sent*: who, which
  list, the filters and search as a query string, and how many rows the list held at that moment
  (a COUNT stopped at :data:`EXPORT_COUNT_CAP` + 1, so a huge table costs a bounded read:
  ``rows_at_least`` says the true number is larger). If the connection drops, this row stands.
* ``admin.export_finished`` is written when the last row has been sent, with the exact number of
  rows written (rows created while the export streams may make it differ from the first count);
  ``admin.export_interrupted``, with the rows sent so far, if the client went away first.

Both rows carry the export's own id (``object_id``), so the pair reads as one story.
"""

import csv
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone

from apps.audit.services import audit_record
from apps.core import context, ids
from apps.core.actors import Actor
from apps.core.admin_merchants import MERCHANT_ID, MERCHANT_NAME
from apps.core.currencies import UnknownCurrency
from apps.core.money import Money, MoneyError

EXPORT_COUNT_CAP = 1_000_000
CHUNK_ROWS = 2_000
EXPORT_OBJECT_TYPE = "admin.export"


@dataclass(frozen=True)
class CsvColumn:
    header: str
    source: str  # a name for QuerySet.values(): a field, a ``__`` path or an annotation
    kind: str = "value"  # value | public_id | money | merchant_id
    currency_source: str = ""
    prefix: str = ""


# A spreadsheet runs a cell that starts with one of these as a formula: text a merchant wrote (a
# reference, a description) must not become one on a staff member's machine (OWASP, CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A value as a CSV cell: text defused (a leading ``'`` before a formula's first character),
    instants in UTC ISO 8601, dates ISO, JSON for objects. Other CSV downloads (the merchant API's
    settlement reports) write their cells with it too."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_STARTS) else value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def csv_major_units(amount: int | None, currency: str | None) -> str:
    """Minor units as major units with exactly the currency's decimals (``12.500`` BHD)."""
    if amount is None:
        return ""
    try:
        return Money(amount, currency).to_major_str()
    except (MoneyError, UnknownCurrency):
        # Never guess an exponent: an amount of an unknown currency is written as what it is.
        return f"{amount} minor units"


class CsvEcho:
    """A file-like object whose write returns the line, for csv.writer inside a generator."""

    def write(self, value: str) -> str:
        return value


class CsvExportMixin:
    """Export this admin's list as CSV, streamed and journaled (see the module docstring).

    Columns: ``csv_fields`` if given (names for ``QuerySet.values()``), else the public id (when the
    admin has a ``public_id_prefix``), every concrete field, and the merchant's id and legal name
    when the admin shows a merchant. Amounts of ``money_fields`` in major units.
    """

    csv_fields: tuple[str, ...] | None = None
    # Fields never to export (a secret's hash), whatever the columns.
    csv_exclude: tuple[str, ...] = ()

    # --- columns ------------------------------------------------------------------------------

    def csv_columns(self) -> list[CsvColumn]:
        opts = self.model._meta  # type: ignore[attr-defined]
        money_fields: dict[str, str] = getattr(self, "money_fields", {})
        field_names = [field.attname for field in opts.concrete_fields]
        names = [name for name in (self.csv_fields if self.csv_fields is not None else field_names)
                 if name not in self.csv_exclude]
        columns: list[CsvColumn] = []
        prefix = getattr(self, "public_id_prefix", "")
        if prefix and self.csv_fields is None:
            columns.append(CsvColumn("id", "pk", kind="public_id", prefix=prefix))
            names = [name for name in names if name != opts.pk.attname]
        if self.csv_fields is None and hasattr(self, "merchant_lookup"):
            columns.append(CsvColumn("merchant", MERCHANT_ID, kind="public_id", prefix="mer"))
            columns.append(CsvColumn("merchant_legal_name", MERCHANT_NAME))
        exported = set(names)
        for name in names:
            if name in money_fields:
                currency = money_fields[name]
                columns.append(CsvColumn(name, name, kind="money", currency_source=currency))
                if currency not in exported:
                    columns.append(CsvColumn("currency", currency))
                    exported.add(currency)
            else:
                columns.append(CsvColumn(name, name))
        return columns

    def csv_row(self, columns: list[CsvColumn], row: dict[str, Any]) -> list[str]:
        cells = []
        for column in columns:
            value = row[column.source]
            if column.kind == "public_id":
                cells.append(ids.encode(column.prefix, value) if value is not None else "")
            elif column.kind == "money":
                cells.append(csv_major_units(value, row[column.currency_source]))
            else:
                cells.append(csv_cell(value))
        return cells

    # --- views --------------------------------------------------------------------------------

    def get_urls(self) -> list:
        opts = self.model._meta  # type: ignore[attr-defined]
        name = f"{opts.app_label}_{opts.model_name}_export_csv"
        return [path("export-csv/", self.admin_site.admin_view(self.csv_export_view), name=name),  # type: ignore[attr-defined]
                *super().get_urls()]  # type: ignore[misc]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        opts = self.model._meta  # type: ignore[attr-defined]
        url = reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_export_csv")  # type: ignore[attr-defined]
        return super().changelist_view(request, {**(extra_context or {}), "csv_export_url": url})  # type: ignore[misc]

    def csv_export_view(self, request: HttpRequest) -> HttpResponse:
        """The list as the person sees it (the same ChangeList: filters, search, date drill-down,
        order), every row of it, as a streamed CSV download."""
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)  # type: ignore[attr-defined]
        except IncorrectLookupParameters:
            opts = self.model._meta  # type: ignore[attr-defined]
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") + "?e=1")
        rows: QuerySet = changelist.queryset
        columns = self.csv_columns()
        opts = self.model._meta  # type: ignore[attr-defined]
        query = changelist.get_query_string()[1:]
        counted = rows.order_by()[: EXPORT_COUNT_CAP + 1].count()
        export_id = uuid.uuid4()
        actor = Actor.staff(request.user)
        with transaction.atomic():
            audit_record(
                actor=actor, action="admin.export_started", object_type=EXPORT_OBJECT_TYPE, object_id=str(export_id),
                after={"list": opts.label_lower, "query": query, "rows": min(counted, EXPORT_COUNT_CAP),
                       "rows_at_least": counted > EXPORT_COUNT_CAP, "columns": [c.header for c in columns]},
            )
        bound = {"request_id": context.current_request_id(), "client_ip": context.current_client_ip()}
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(
            self._csv_lines(rows, columns, export_id=export_id, actor=actor, bound=bound),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{opts.app_label}-{opts.model_name}-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response

    def _csv_lines(self, rows: QuerySet, columns: list[CsvColumn], *, export_id: uuid.UUID, actor: Actor,
                   bound: dict[str, str | None]) -> Iterator[str]:
        writer = csv.writer(CsvEcho())
        written = 0
        finished = False
        try:
            yield writer.writerow([column.header for column in columns])
            sources = list(dict.fromkeys(
                [column.source for column in columns] + [c.currency_source for c in columns if c.currency_source]
            ))
            for row in rows.values(*sources).iterator(chunk_size=CHUNK_ROWS):
                line = writer.writerow(self.csv_row(columns, row))
                written += 1  # counted as handed to the server: what an interrupted download may have got
                yield line
            finished = True
        finally:
            # The view has returned by now: its request id and address are bound again for the row.
            with context.bound(**bound), transaction.atomic():
                audit_record(
                    actor=actor, action="admin.export_finished" if finished else "admin.export_interrupted",
                    object_type=EXPORT_OBJECT_TYPE, object_id=str(export_id), after={"rows": written},
                )

