from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core import ids
from apps.core.api.problems import NotFound
from apps.core.api.views import ApiView, GenericApiView
from apps.treasury.api import serializers as s
from apps.treasury.selectors import fx as selectors
from apps.treasury.services import fx as services

FX = ["fx"]

_QUOTE_EXAMPLES = [
    OpenApiExample("Sell 100.000 BHD for US dollars", request_only=True,
                   value={"sell_currency": "BHD", "buy_currency": "USD", "sell_amount": 100000}),
    OpenApiExample("Buy exactly 250.00 USD with dinars", request_only=True,
                   value={"sell_currency": "BHD", "buy_currency": "USD", "buy_amount": 25000}),
    OpenApiExample("A quote", response_only=True, status_codes=["201"], value={
        "id": "fxq_01M8W0567DF08BFWCGQE1DJEE6", "livemode": False, "rate": "2.6529255319",
        "mid_rate": "2.6595744681", "spread": "0.0025", "sell": {"amount": 100000, "currency": "BHD"},
        "buy": {"amount": 26529, "currency": "USD"}, "rate_as_of": "2026-03-01T09:00:00+03:00",
        "expires_at": "2026-03-01T09:00:30+03:00", "created": "2026-03-01T09:00:00+03:00"}),
    OpenApiExample("The rate is too old", response_only=True, status_codes=["422"], value={
        "type": "/api/v1/problems/fx_rate_stale", "title": "The FX rate is older than its maximum age",
        "status": 422, "detail": "The USD/BHD rate is from 2026-03-01T06:00:00+00:00, older than its maximum age "
        "of 3600 s.", "code": "fx_rate_stale"}),
]
_CONVERSION_EXAMPLES = [
    OpenApiExample("Execute a quote", request_only=True, value={
        "quote": "fxq_01M8W0567DF08BFWCGQE1DJEE6", "sell_account": "acc_01M8W0567DF08BFWCGQE1DJEE7",
        "buy_account": "acc_01M8W0567DF08BFWCGQE1DJEE8"}),
    OpenApiExample("The quote expired", response_only=True, status_codes=["422"], value={
        "type": "/api/v1/problems/quote_expired", "title": "The FX quote has expired", "status": 422,
        "detail": "The quote expired at 2026-03-01T09:00:30+03:00.", "code": "quote_expired"}),
    OpenApiExample("Too little in the sell wallet", response_only=True, status_codes=["422"], value={
        "type": "/api/v1/problems/insufficient_funds", "title": "The account's available balance is too low",
        "status": 422, "detail": "The account's available balance is too low", "code": "insufficient_funds"}),
]


class FxQuoteCreateApi(ApiView):
    @extend_schema(operation_id="fx_quotes_create", request=s.FxQuoteCreateSerializer,
                   responses={201: s.FxQuoteSerializer}, examples=_QUOTE_EXAMPLES, tags=FX)
    def post(self, request: Request) -> Response:
        """Price a conversion between two of your currencies: give `sell_amount` or `buy_amount` and the
        other is computed at `rate` (the mid rate less fincore's spread), rounded once to minor units.
        Execute it with `POST /v1/conversions` before `expires_at`. A 422 `fx_rate_stale` means
        treasury's rate for the pair is older than its maximum age: no price is given on it."""
        serializer = s.FxQuoteCreateSerializer(data=request.data,
                                               context={"merchant_currencies": request.user.currencies})
        serializer.is_valid(raise_exception=True)
        quote = services.fx_quote_create(actor=request.auth, **serializer.validated_data)
        return Response(s.fx_quote_representation(quote), status=status.HTTP_201_CREATED)


class ConversionListCreateApi(GenericApiView):
    serializer_class = s.FxConversionSerializer

    @extend_schema(operation_id="conversions_list", responses=s.FxConversionSerializer(many=True), tags=FX)
    def get(self, request: Request) -> Response:
        """Your conversions, newest first."""
        page = self.paginate_queryset(selectors.fx_conversions(merchant_id=request.user.pk,
                                                               livemode=request.auth.livemode))
        return self.get_paginated_response([s.fx_conversion_representation(conversion) for conversion in page])

    @extend_schema(
        operation_id="conversions_create", request=s.FxConversionCreateSerializer,
        responses={201: s.FxConversionSerializer,
                   200: OpenApiResponse(s.FxConversionSerializer,
                                        description="The quote was already executed between these accounts"),
                   404: OpenApiResponse(description="No such quote or account (or it is another merchant's)"),
                   409: OpenApiResponse(description="The quote was executed between other accounts "
                                        "(`quote_already_executed`), or the Idempotency-Key is in use")},
        examples=_CONVERSION_EXAMPLES, tags=FX,
    )
    def post(self, request: Request) -> Response:
        """Execute a quote: its `sell` amount leaves your sell wallet and its `buy` amount reaches your
        buy wallet, as two ledger transfers through fincore's FX position in each currency, posted
        together or not at all. A quote is executed once; sending it again with the same accounts
        answers the first conversion (200). Refusals: 422 `quote_expired`, `insufficient_funds`,
        `fx_account_currency_mismatch`; 404 for a quote or account that is not yours."""
        serializer = s.FxConversionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = serializer.validated_data
        converted = services.fx_conversion_create(actor=request.auth, quote_id=fields["quote"],
                                                  sell_account_id=fields["sell_account"],
                                                  buy_account_id=fields["buy_account"])
        body = s.fx_conversion_representation(converted.conversion)
        return Response(body, status=status.HTTP_201_CREATED if converted.created else status.HTTP_200_OK,
                        headers={"Location": f"/api/v1/conversions/{body['id']}"})


class ConversionRetrieveApi(ApiView):
    @extend_schema(operation_id="conversions_retrieve", responses=s.FxConversionSerializer, tags=FX)
    def get(self, request: Request, conversion_id: str) -> Response:
        """One of your conversions."""
        decoded = ids.decode("fxc", conversion_id)
        conversion = selectors.fx_conversion_get(merchant_id=request.user.pk, livemode=request.auth.livemode,
                                                 conversion_id=decoded) if decoded else None
        if conversion is None:
            raise NotFound(f"No conversion {conversion_id!r}.")
        return Response(s.fx_conversion_representation(conversion))
