"""The merchant's settlement API: its settlement lines (one per business date, currency and mode),
each line's report as CSV, and the fee plan it pays."""

import csv
import logging
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.audit.admin_export import CsvEcho, csv_cell, csv_major_units
from apps.core import ids
from apps.core.api.pagination import CursorPagination
from apps.core.api.problems import NotFound
from apps.core.api.views import ApiView, GenericApiView
from apps.core.currencies import get_currency
from apps.settlement import selectors
from apps.settlement.api import serializers as s
from apps.settlement.models import SettlementLine

logger = logging.getLogger(__name__)

SETTLEMENTS = ["settlements"]
FEE_PLAN = ["fee plan"]

# One row per capture, then per refund, then five summary rows (see the README, "Settlement reports
# and the API"). Amounts in major units with the currency's decimals, as every CSV fincore writes.
REPORT_COLUMNS = ["row", "payment", "refund", "captured_at", "method", "currency", "count", "amount", "fee",
                  "fee_exact", "net", "note"]
# A line keeps its exact fees to 12 decimals of a minor unit; a refund's exact return is shown so too.
_EXACT_PLACES = Decimal("1e-12")


def _own_line(request: Request, public_id: str) -> SettlementLine:
    """The caller's settlement line with that id, in its key's mode; anything else is not found."""
    line_id = ids.decode("stl", public_id)
    line = selectors.settlement_line_get(
        merchant_id=request.user.pk, livemode=request.auth.livemode, line_id=line_id
    ) if line_id else None
    if line is None:
        raise NotFound(f"No settlement {public_id!r}.")
    return line


def _query(serializer_class: type, request: Request) -> dict[str, Any]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class SettlementPagination(CursorPagination):
    # Newest business date first; lines of one date (one per currency) in creation order, newest first.
    ordering = ("-business_date", "-id")


class SettlementListApi(GenericApiView):
    serializer_class = s.SettlementSerializer
    pagination_class = SettlementPagination

    @extend_schema(operation_id="settlements_list", parameters=[s.SettlementListQuerySerializer],
                   responses=s.SettlementSerializer(many=True), tags=SETTLEMENTS)
    def get(self, request: Request) -> Response:
        """Your settlements in this key's mode, newest business date first: one per business date and
        currency in which you had captures, refunds or reserve falling due. Filter by `currency`,
        `status` and `business_date[gte]` / `business_date[lte]`."""
        query = _query(s.SettlementListQuerySerializer, request)
        status = query.get("status")
        lines = selectors.settlement_line_list(
            merchant_id=request.user.pk, livemode=request.auth.livemode, currency=query.get("currency"),
            status=s.STATUS_FILTER[status] if status else None, business_date_gte=query.get("business_date[gte]"),
            business_date_lte=query.get("business_date[lte]"),
        )
        page = self.paginate_queryset(lines)
        return self.get_paginated_response(s.SettlementSerializer(page, many=True).data)


class SettlementRetrieveApi(ApiView):
    @extend_schema(operation_id="settlements_retrieve", responses=s.SettlementSerializer, tags=SETTLEMENTS)
    def get(self, request: Request, settlement_id: str) -> Response:
        """One of your settlements: the business date's captures, refunds, fees and reserve, and the
        net moved to your available balance, with the prices it was charged."""
        return Response(s.SettlementSerializer(_own_line(request, settlement_id)).data)


class CsvRenderer(BaseRenderer):
    """Lets a client ask for ``Accept: text/csv``. The report view streams its own response and its
    refusals are problems, which render themselves as JSON: nothing is rendered here."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: dict[str, Any] | None = None) -> bytes:
        raise NotImplementedError("The settlement report streams its own CSV.")


_REPORT_EXAMPLE = (
    "row,payment,refund,captured_at,method,currency,count,amount,fee,fee_exact,net,note\r\n"
    "payment,pay_01M8...,,2031-04-07T07:00:00+00:00,card,BHD,1,12.500,0.412,0.4125,12.088,\r\n"
    "payment,pay_01M8...,,2031-04-07T13:59:00+00:00,card,BHD,1,13.500,0.438,0.4375,13.062,\r\n"
    "refund,pay_01M8...,re_01M8...,,card,BHD,1,5.000,0.125,0.124814814815,-4.875,\r\n"
    "payments,,,,,BHD,2,26.000,0.850,,25.150,\r\n"
    "refunds,,,,,BHD,1,5.000,0.125,,-4.875,\r\n"
    "reserve_held,,,,,BHD,,0.000,,,0.000,\r\n"
    "reserve_released,,,,,BHD,,0.000,,,0.000,\r\n"
    "total,,,,,BHD,,,0.725,0.725185185185,20.275,settled\r\n"
)


class SettlementReportApi(ApiView):
    renderer_classes = [CsvRenderer]

    @extend_schema(
        operation_id="settlements_report", tags=SETTLEMENTS,
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="The report, streamed (`Content-Disposition: attachment`).",
                examples=[OpenApiExample("A BHD day: two card payments and a refund", value=_REPORT_EXAMPLE)]),
            406: OpenApiResponse(description="`Accept` does not take text/csv (`not_acceptable`)."),
        },
    )
    def get(self, request: Request, settlement_id: str) -> StreamingHttpResponse:
        """The settlement's report as CSV: a row per captured payment with the fee it was charged (the
        settlement's own prices), a row per refund with the fee it gave back, then totals rows that are
        the settlement's own figures (`payments`, `refunds`, `reserve_held`, `reserve_released`,
        `total`). Amounts in major units with the currency's decimals (12.500 BHD); `net` is what each
        row adds to (or takes from) your available balance, so the rows' `net` add up to the total's."""
        line = _own_line(request, settlement_id)
        # Read before the first byte: a refusal is then still a problem response, not a cut-off file.
        refunds = selectors.line_refunds(line)
        public_id = ids.encode("stl", line.pk)
        response = StreamingHttpResponse(_report_lines(line, refunds), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="settlement-{public_id}.csv"'
        response["Cache-Control"] = "no-store"
        return response


def _exact(exact: Decimal, currency: str) -> str:
    """Minor units before rounding as major units: the currency's decimals at least, more if the
    exact amount has them (0.4125 BHD), never an exponent."""
    exponent = get_currency(currency).exponent
    whole, _, fraction = format(exact.scaleb(-exponent), "f").partition(".")
    fraction = fraction.rstrip("0").ljust(exponent, "0")
    return f"{whole}.{fraction}" if fraction else whole


def _report_lines(line: SettlementLine, refunds: list[selectors.LineRefund]) -> Iterator[str]:
    writer = csv.writer(CsvEcho())
    currency = line.currency

    def money(amount: int) -> str:
        return csv_major_units(amount, currency)

    def row(kind: str, *, payment: str = "", refund: str = "", captured_at: Any = None, method: str = "",
            count: int | None = None, amount: int | None = None, fee: int | None = None, fee_exact: str = "",
            net: int, note: str = "") -> str:
        return writer.writerow([kind, payment, refund, csv_cell(captured_at), csv_cell(method), currency,
                                "" if count is None else count, "" if amount is None else money(amount),
                                "" if fee is None else money(fee), fee_exact, money(net), csv_cell(note)])

    yield writer.writerow(REPORT_COLUMNS)
    captures = gross = charged = 0
    for capture in selectors.line_captures(line):
        captures, gross, charged = captures + 1, gross + capture.amount, charged + capture.fee
        yield row("payment", payment=ids.encode("pay", capture.payment_id), captured_at=capture.captured_at,
                  method=capture.method, count=1, amount=capture.amount, fee=capture.fee,
                  fee_exact=_exact(capture.fee_exact, currency), net=capture.amount - capture.fee)
    for refund in refunds:
        yield row("refund", payment=ids.encode("pay", refund.payment_id), refund=ids.encode("re", refund.refund_id),
                  method=refund.method, count=1, amount=refund.amount, fee=refund.fee_returned,
                  fee_exact=_exact(refund.fee_returned_exact.quantize(_EXACT_PLACES, ROUND_HALF_EVEN), currency),
                  net=refund.fee_returned - refund.amount)
    rows = (captures, gross, charged, len(refunds), sum(r.amount for r in refunds),
            sum(r.fee_returned for r in refunds))
    figures = (line.captures, line.gross, line.fees_charged, line.refund_count, line.refunds, line.fees_returned)
    if rows != figures:
        # The totals below are what the ledger moved; rows that disagree are a bug to look into.
        logger.error("settlement report rows do not add up to the line",
                     extra={"settlement": ids.encode("stl", line.pk), "rows": rows, "line": figures})
    yield row("payments", count=line.captures, amount=line.gross, fee=line.fees_charged,
              net=line.gross - line.fees_charged)
    yield row("refunds", count=line.refund_count, amount=line.refunds, fee=line.fees_returned,
              net=line.fees_returned - line.refunds)
    yield row("reserve_held", amount=line.reserve_held, net=-line.reserve_held,
              note=f"released on {line.reserve_release_on:%Y-%m-%d}" if line.reserve_release_on else "")
    yield row("reserve_released", amount=line.reserve_released, net=line.reserve_released)
    status = s.STATUSES[line.status]
    note = f"{status}: {line.carried_note}" if line.status == SettlementLine.Status.CARRIED else status
    yield row("total", fee=line.fees, fee_exact=_exact(line.fees_exact, currency), net=line.net, note=note)


class FeePlanApi(ApiView):
    @extend_schema(operation_id="fee_plan_retrieve", responses=s.FeePlanSerializer, tags=FEE_PLAN)
    def get(self, request: Request) -> Response:
        """What you pay now in each of your currencies: per payment method, the price in force on
        today's business date (its plan, the date it took effect), your reserve and payout minimum,
        and any approved change to come (`upcoming`, from its `effective_from` on)."""
        plans = selectors.merchant_fee_plan(merchant_id=request.user.pk, currencies=list(request.user.currencies))
        return Response(s.fee_plan_of(plans))
