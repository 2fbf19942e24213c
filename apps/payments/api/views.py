from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core import ids
from apps.core.api.problems import NotFound
from apps.core.api.views import ApiView, GenericApiView, request_idempotency_key
from apps.payments import selectors, services
from apps.payments.api import serializers as s
from apps.payments.models import Capture, Payment, Refund
from apps.payments.representations import payment_representation, payout_representation, refund_representation

PAYMENTS = ["payments"]
REFUNDS = ["refunds"]
BALANCE = ["balance"]
PAYOUTS = ["payouts"]

_CARD_EXAMPLE = OpenApiExample(
    "Card, captured at once (12.500 BHD)",
    value={"amount": 12500, "currency": "BHD", "country": "BH",
           "payment_method": {"type": "card", "token": "tok_success"}, "reference": "order-1042",
           "metadata": {"customer": "c-77"}},
    request_only=True,
)
_EXAMPLES = [
    _CARD_EXAMPLE,
    OpenApiExample(
        "Card, authorized now and captured later (250.000 BHD)",
        value={"amount": 250000, "currency": "BHD", "country": "BH",
               "payment_method": {"type": "card", "token": "tok_success"}, "capture_method": "manual"},
        request_only=True,
    ),
    OpenApiExample(
        "Instant transfer from an IBAN (5.750 BHD)",
        value={"amount": 5750, "currency": "BHD", "country": "BH",
               "payment_method": {"type": "instant", "iban": "BH67BMAG00001299123456", "name": "Fatima Ali"}},
        request_only=True,
    ),
    OpenApiExample(
        "Wire (1,200.000 BHD)",
        value={"amount": 1200000, "currency": "BHD", "country": "BH",
               "payment_method": {"type": "wire", "iban": "BH67BMAG00001299123456", "bic": "BMAGBHBM"}},
        request_only=True,
    ),
    OpenApiExample(
        "From one of your customer wallets (3.000 BHD)",
        value={"amount": 3000, "currency": "BHD", "country": "BH",
               "payment_method": {"type": "wallet", "account": "acc_0000000000000000000000000A"}},
        request_only=True,
    ),
]


def _own_payment(request: Request, public_id: str) -> Payment:
    payment_id = ids.decode("pay", public_id)
    payment = selectors.payment_get(
        merchant_id=request.user.pk, livemode=request.auth.livemode, payment_id=payment_id
    ) if payment_id else None
    if payment is None:
        raise NotFound(f"No payment {public_id!r}.")
    return payment


def _query(serializer_class: type, request: Request) -> dict[str, Any]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


def _payment_response(payment_id: Any, *, status_code: int) -> Response:
    body = payment_representation(selectors.payment_by_id(payment_id))
    return Response(body, status=status_code, headers={"Location": f"/api/v1/payments/{body['id']}"})


class PaymentListCreateApi(GenericApiView):
    serializer_class = s.PaymentSerializer

    @extend_schema(operation_id="payments_list", parameters=[s.PaymentListQuerySerializer],
                   responses=s.PaymentSerializer(many=True), tags=PAYMENTS)
    def get(self, request: Request) -> Response:
        """Your payments in this key's mode, newest first; filter by `status`, `currency`, `method`,
        `reference` and `created[gte]` / `created[lte]`."""
        query = _query(s.PaymentListQuerySerializer, request)
        payments = selectors.payment_list(
            merchant_id=request.user.pk, livemode=request.auth.livemode, status=query.get("status"),
            currency=query.get("currency"), method=query.get("method"), reference=query.get("reference"),
            created_gte=query.get("created[gte]"), created_lte=query.get("created[lte]"),
        )
        page = self.paginate_queryset(payments)
        return self.get_paginated_response([payment_representation(payment) for payment in page])

    @extend_schema(
        operation_id="payments_create", request=s.PaymentCreateSerializer, examples=_EXAMPLES,
        responses={202: OpenApiResponse(s.PaymentSerializer, description="Accepted: `processing`, or "
                                        "`requires_review` when it is held for review. Follow it with GET or the "
                                        "payment.* webhooks.")},
        tags=PAYMENTS,
    )
    def post(self, request: Request) -> Response:
        """Take a payment. It is accepted at once (`202`, status `processing`) and processed on our
        payments queue: routed to the best connector, failed over on a retryable error, and ends
        `succeeded`, `requires_capture` (manual capture) or `failed`. A payment held for review is
        `requires_review` (webhook `payment.requires_review`, no reason given) until it goes on to
        `processing` or fails with `failure.code` `declined`. A card number anywhere is refused
        (`card_number_refused`): send a token."""
        serializer = s.PaymentCreateSerializer(data=request.data,
                                               context={"merchant_currencies": request.user.currencies})
        serializer.is_valid(raise_exception=True)
        fields = serializer.validated_data
        payment = services.payment_create(
            merchant_id=request.user.pk, livemode=request.auth.livemode, amount=fields["amount"],
            currency=fields["currency"], country=fields["country"],
            payment_method=serializer.validated_payment_method(), capture_method=fields["capture_method"],
            reference=fields["reference"], metadata=fields["metadata"],
            idempotency_key=request_idempotency_key(request), actor=request.auth,
        )
        body = payment_representation(payment)
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": f"/api/v1/payments/{body['id']}"})


class PaymentRetrieveApi(ApiView):
    @extend_schema(operation_id="payments_retrieve", responses=s.PaymentSerializer, tags=PAYMENTS)
    def get(self, request: Request, payment_id: str) -> Response:
        """One of your payments, with its amounts and its attempts: each connector tried, its answer
        and why routing chose it."""
        return Response(payment_representation(_own_payment(request, payment_id)))


def _settlement_response(capture: Capture) -> Response:
    done = capture.status == Capture.Status.SUCCEEDED
    return _payment_response(capture.payment_id, status_code=status.HTTP_200_OK if done else status.HTTP_202_ACCEPTED)


class PaymentCaptureApi(ApiView):
    @extend_schema(
        operation_id="payments_capture", request=s.CaptureSerializer,
        responses={200: OpenApiResponse(s.PaymentSerializer, description="Captured: `succeeded`."),
                   202: OpenApiResponse(s.PaymentSerializer, description="The connector has not answered yet; the "
                                        "capture completes later (payment.captured webhook).")},
        examples=[OpenApiExample("Capture 200.000 BHD of 250.000 authorized", value={"amount": 200000},
                                 request_only=True)],
        tags=PAYMENTS,
    )
    def post(self, request: Request, payment_id: str) -> Response:
        """Capture a payment in `requires_capture`, all of it or `amount` (the rest of the authorization is
        released). One capture per payment: a second request for the same amount returns the first."""
        serializer = s.CaptureSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        capture = services.payment_capture(
            payment_id=_own_payment(request, payment_id).pk, amount=serializer.validated_data.get("amount"),
            actor=request.auth,
        )
        return _settlement_response(capture)


class PaymentCancelApi(ApiView):
    @extend_schema(
        operation_id="payments_cancel", request=None,
        responses={200: OpenApiResponse(s.PaymentSerializer, description="Canceled."),
                   202: OpenApiResponse(s.PaymentSerializer, description="The void completes later.")},
        tags=PAYMENTS,
    )
    def post(self, request: Request, payment_id: str) -> Response:
        """Cancel a payment in `requires_capture`: the authorization is voided and nothing is taken."""
        capture = services.payment_cancel(payment_id=_own_payment(request, payment_id).pk, actor=request.auth)
        return _settlement_response(capture)


class RefundListCreateApi(GenericApiView):
    serializer_class = s.RefundSerializer

    @extend_schema(operation_id="refunds_list", parameters=[s.RefundListQuerySerializer],
                   responses=s.RefundSerializer(many=True), tags=REFUNDS)
    def get(self, request: Request) -> Response:
        """Your refunds, newest first; filter by `payment` or `status`."""
        query = _query(s.RefundListQuerySerializer, request)
        refunds = selectors.refund_list(merchant_id=request.user.pk, livemode=request.auth.livemode,
                                        payment_id=query.get("payment"), status=query.get("status"))
        page = self.paginate_queryset(refunds)
        return self.get_paginated_response([refund_representation(refund) for refund in page])

    @extend_schema(
        operation_id="refunds_create", request=s.RefundCreateSerializer,
        responses={201: OpenApiResponse(s.RefundSerializer, description="Done: `succeeded` (or `failed`)."),
                   202: OpenApiResponse(s.RefundSerializer, description="`pending`: the connector answers later."),
                   404: OpenApiResponse(description="No such payment of yours (`not_found`).")},
        examples=[OpenApiExample("Refund 2.500 BHD", value={"payment": "pay_01JDX3ABCDEFGHJKMNPQRSTVWX",
                                                            "amount": 2500, "reason": "requested_by_customer"},
                                 request_only=True)],
        tags=REFUNDS,
    )
    def post(self, request: Request) -> Response:
        """Refund a succeeded payment, in full (no `amount`) or in part; several partial refunds may follow
        each other up to what was captured. Beyond that: 422 `refund_exceeds_captured`. The money comes
        from your pending balance, then your available balance (422 `insufficient_balance` if both are short)."""
        serializer = s.RefundCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = serializer.validated_data
        payment = _own_payment(request, ids.encode("pay", fields["payment"]))
        refund = services.payment_refund(payment_id=payment.pk, amount=fields.get("amount"),
                                         reason=fields["reason"], idempotency_key=request_idempotency_key(request),
                                         actor=request.auth)
        body = refund_representation(refund)
        code = status.HTTP_202_ACCEPTED if refund.status == Refund.Status.PENDING else status.HTTP_201_CREATED
        return Response(body, status=code, headers={"Location": f"/api/v1/refunds/{body['id']}"})


class RefundRetrieveApi(ApiView):
    @extend_schema(operation_id="refunds_retrieve", responses=s.RefundSerializer, tags=REFUNDS)
    def get(self, request: Request, refund_id: str) -> Response:
        """One of your refunds."""
        decoded = ids.decode("re", refund_id)
        refund = selectors.refund_get(merchant_id=request.user.pk, livemode=request.auth.livemode,
                                      refund_id=decoded) if decoded else None
        if refund is None:
            raise NotFound(f"No refund {refund_id!r}.")
        return Response(refund_representation(refund))


class BalanceApi(ApiView):
    @extend_schema(operation_id="balance_retrieve", responses=s.BalanceListSerializer, tags=BALANCE,
                   examples=[OpenApiExample("BHD", response_only=True, value={
                       "livemode": False,
                       "balances": [{"currency": "BHD", "pending": 12500, "available": 250000, "reserve": 0}]})])
    def get(self, request: Request) -> Response:
        """What fincore holds for you in this key's mode, per currency, in minor units: `pending` (captured,
        not yet settled), `available` (settled) and `reserve`."""
        balances = selectors.merchant_balance(merchant_id=request.user.pk, livemode=request.auth.livemode,
                                              currencies=list(request.user.currencies))
        return Response(s.BalanceListSerializer({"livemode": request.auth.livemode, "balances": balances}).data)


class PayoutListApi(GenericApiView):
    serializer_class = s.PayoutSerializer

    @extend_schema(operation_id="payouts_list", parameters=[s.PayoutListQuerySerializer],
                   responses=s.PayoutSerializer(many=True), tags=PAYOUTS)
    def get(self, request: Request) -> Response:
        """Your payouts in this key's mode, newest first: what each business day's settlement paid from your
        available balance to your bank account. Filter by `status` (`pending`, `in_transit`, `paid`, `failed`,
        `returned`), `currency` and `created[gte]` / `created[lte]`."""
        query = _query(s.PayoutListQuerySerializer, request)
        payouts = selectors.payout_list(
            merchant_id=request.user.pk, livemode=request.auth.livemode, status=query.get("status"),
            currency=query.get("currency"), created_gte=query.get("created[gte]"),
            created_lte=query.get("created[lte]"),
        )
        page = self.paginate_queryset(payouts)
        return self.get_paginated_response([payout_representation(payout) for payout in page])


class PayoutRetrieveApi(ApiView):
    @extend_schema(operation_id="payouts_retrieve", responses=s.PayoutSerializer, tags=PAYOUTS)
    def get(self, request: Request, payout_id: str) -> Response:
        """One of your payouts: where it stands, the account it goes to (the IBAN's last four characters) and,
        if it failed or came back, why."""
        decoded = ids.decode("po", payout_id)
        payout = selectors.payout_get(merchant_id=request.user.pk, livemode=request.auth.livemode,
                                      payout_id=decoded) if decoded else None
        if payout is None:
            raise NotFound(f"No payout {payout_id!r}.")
        return Response(payout_representation(payout))
