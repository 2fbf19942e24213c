from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core import ids
from apps.core.api.limits import MAX_BATCH_BODY_BYTES
from apps.core.api.pagination import CursorPagination
from apps.core.api.problems import NotFound
from apps.core.api.views import IDEMPOTENCY_HEADER, ApiView, GenericApiView
from apps.ledger import data, selectors, services
from apps.ledger.api import serializers as s
from apps.ledger.models import Account, Transfer

ACCOUNTS = ["accounts"]
MAX_CLIENT_ID_LENGTH = Transfer._meta.get_field("client_id").max_length
TRANSFERS = ["transfers"]


def _own_account(request: Request, public_id: str) -> Account:
    """The caller's account with that id; anybody else's, or a malformed id, is not found."""
    account_id = ids.decode("acc", public_id)
    account = selectors.customer_account_get(
        merchant_id=request.user.pk, livemode=request.auth.livemode, account_id=account_id
    ) if account_id else None
    if account is None:
        raise NotFound(f"No account {public_id!r}.")
    return account


def _own_transfer(request: Request, public_id: str) -> Transfer:
    """The caller's transfer with that id (in the key's mode); anything else is not found."""
    transfer_id = ids.decode("tr", public_id)
    transfer = selectors.merchant_transfer_get(
        merchant_id=request.user.pk, livemode=request.auth.livemode, transfer_id=transfer_id
    ) if transfer_id else None
    if transfer is None:
        raise NotFound(f"No transfer {public_id!r}.")
    return transfer


def _client_id(request: Request, given: str | None = None, suffix: str = "") -> str:
    """The caller's id for the transfer: as given, else its Idempotency-Key, else new."""
    if given:
        return given
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if not key:
        return services.new_client_id()
    client_id = f"{key}{suffix}"
    if len(client_id) > MAX_CLIENT_ID_LENGTH:
        raise ValidationError({IDEMPOTENCY_HEADER: [
            f"Too long to name the transfers of this request (at most {MAX_CLIENT_ID_LENGTH - len(suffix)} "
            "characters here); send a shorter key or a client_id per transfer."
        ]})
    try:
        return s.validate_client_id(client_id)
    except ValidationError as reserved:
        raise ValidationError({IDEMPOTENCY_HEADER: reserved.detail}) from reserved


def _transfer_spec(request: Request, fields: dict[str, Any], *, suffix: str = "") -> data.TransferSpec:
    """The transfer a merchant asked for, from a TransferCreateSerializer's validated fields:
    between its own accounts, in its key's mode. ``suffix`` tells apart the transfers of one
    request named by its Idempotency-Key (a batch's index)."""
    return data.TransferSpec(
        client_id=_client_id(request, fields.get("client_id"), suffix),
        kind=data.Kind.PENDING if fields["pending"] else data.Kind.IMMEDIATE,
        debit_account_id=fields["debit_account"], credit_account_id=fields["credit_account"],
        amount=fields["amount"], currency=fields["currency"], timeout_seconds=fields.get("timeout"),
        reference=fields["reference"], metadata=fields["metadata"], code="transfer",
        merchant_id=request.user.pk, merchant_scope=True, livemode=request.auth.livemode,
        created_by=request.auth.label,
    )


def _transfer_response(posted: services.Posted) -> Response:
    # A transfer just posted has no resolution or reversal yet: no need to look for them.
    context = s.NOTHING_RESOLVED if posted.created else s.transfer_context([posted.transfer])
    body = s.TransferSerializer(posted.transfer, context=context).data
    return Response(
        body,
        status=status.HTTP_201_CREATED if posted.created else status.HTTP_200_OK,
        headers={"Location": f"/api/v1/transfers/{body['id']}"},
    )


def _query(serializer_class: type, request: Request) -> dict[str, Any]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class AccountListCreateApi(GenericApiView):
    serializer_class = s.AccountSerializer

    @extend_schema(operation_id="accounts_list", parameters=[s.AccountListQuerySerializer],
                   responses=s.AccountSerializer(many=True), tags=ACCOUNTS)
    def get(self, request: Request) -> Response:
        """Your customer accounts, newest first; filter by `reference` or `currency`."""
        accounts = selectors.customer_account_list(
            merchant_id=request.user.pk, livemode=request.auth.livemode, **_query(s.AccountListQuerySerializer, request)
        )
        page = self.paginate_queryset(accounts)
        return self.get_paginated_response(s.AccountSerializer(page, many=True).data)

    @extend_schema(operation_id="accounts_create", request=s.AccountCreateSerializer,
                   responses={201: s.AccountSerializer}, tags=ACCOUNTS)
    def post(self, request: Request) -> Response:
        """Open a customer wallet (or, with `allow_overdraft` in test mode, a funding account that may go
        negative)."""
        serializer = s.AccountCreateSerializer(
            data=request.data,
            context={"merchant_currencies": request.user.currencies, "livemode": request.auth.livemode},
        )
        serializer.is_valid(raise_exception=True)
        account = services.customer_account_open(
            merchant_id=request.user.pk, livemode=request.auth.livemode, actor=request.auth,
            **serializer.validated_data,
        )
        body = s.AccountSerializer(account).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": f"/api/v1/accounts/{body['id']}"})


class AccountRetrieveApi(ApiView):
    @extend_schema(operation_id="accounts_retrieve", responses=s.AccountSerializer, tags=ACCOUNTS)
    def get(self, request: Request, account_id: str) -> Response:
        """One of your accounts, with its balance now."""
        return Response(s.AccountSerializer(_own_account(request, account_id)).data)


class AccountBalanceApi(ApiView):
    @extend_schema(operation_id="accounts_balance", parameters=[s.AsOfQuerySerializer],
                   responses=s.BalanceSerializer, tags=ACCOUNTS)
    def get(self, request: Request, account_id: str) -> Response:
        """The account's balance now, or as it stood at `as_of`."""
        account = _own_account(request, account_id)
        balances = selectors.account_balances(account=account, **_query(s.AsOfQuerySerializer, request))
        return Response(s.BalanceSerializer(balances).data)


class StatementPagination(CursorPagination):
    ordering = "id"  # oldest first, in posting order


class AccountStatementApi(GenericApiView):
    serializer_class = s.StatementLineSerializer
    pagination_class = StatementPagination

    @extend_schema(operation_id="accounts_statement", parameters=[s.PeriodQuerySerializer],
                   responses=s.StatementLineSerializer(many=True), tags=ACCOUNTS)
    def get(self, request: Request, account_id: str) -> Response:
        """The account's entries from `from` to `to`, oldest first, each with the balance after it."""
        account = _own_account(request, account_id)
        period = _query(s.PeriodQuerySerializer, request)
        entries = selectors.account_statement(account=account, since=period.get("from"), until=period.get("to"))
        page = self.paginate_queryset(entries)
        lines = s.StatementLineSerializer(page, many=True, context={"currency": account.currency}).data
        return self.get_paginated_response(lines)


class TransferListCreateApi(GenericApiView):
    serializer_class = s.TransferSerializer

    @extend_schema(operation_id="transfers_list", parameters=[s.TransferListQuerySerializer],
                   responses=s.TransferSerializer(many=True), tags=TRANSFERS)
    def get(self, request: Request) -> Response:
        """Your transfers, newest first; filter by `account`, `status`, `from` and `to`."""
        query = _query(s.TransferListQuerySerializer, request)
        transfers = selectors.merchant_transfer_list(
            merchant_id=request.user.pk, livemode=request.auth.livemode, account_id=query.get("account"),
            status=query.get("status"),
            since=query.get("from"), until=query.get("to"),
        )
        page = self.paginate_queryset(transfers)
        return self.get_paginated_response(s.TransferSerializer(page, many=True, context=s.transfer_context(page)).data)

    @extend_schema(
        operation_id="transfers_create", request=s.TransferCreateSerializer,
        responses={201: s.TransferSerializer,
                   200: OpenApiResponse(s.TransferSerializer, description="Already posted with this client_id")},
        tags=TRANSFERS,
    )
    def post(self, request: Request) -> Response:
        """Move money from one of your accounts to another, at once or as a hold (`pending`).
        A refusal is a 422 whose `code` says why, e.g. `insufficient_funds`."""
        serializer = s.TransferCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _transfer_response(services.transfer_create(spec=_transfer_spec(request, serializer.validated_data)))


class TransferRetrieveApi(ApiView):
    @extend_schema(operation_id="transfers_retrieve", responses=s.TransferSerializer, tags=TRANSFERS)
    def get(self, request: Request, transfer_id: str) -> Response:
        """One of your transfers; a pending transfer's `status` says whether it was posted, voided or expired."""
        transfer = _own_transfer(request, transfer_id)
        return Response(s.TransferSerializer(transfer, context=s.transfer_context([transfer])).data)


class TransferPostApi(ApiView):
    @extend_schema(operation_id="transfers_post", request=s.TransferPostSerializer,
                   responses={201: s.TransferSerializer}, tags=TRANSFERS)
    def post(self, request: Request, transfer_id: str) -> Response:
        """Post a pending transfer, in full or `amount` of it; returns the posting transfer."""
        serializer = s.TransferPostSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _transfer_response(services.transfer_post_pending(
            pending_id=_own_transfer(request, transfer_id).pk, amount=serializer.validated_data.get("amount"),
            merchant_id=request.user.pk, merchant_scope=True,
            livemode=request.auth.livemode, actor=request.auth, client_id=_client_id(request),
        ))


class TransferVoidApi(ApiView):
    @extend_schema(operation_id="transfers_void", request=None, responses={201: s.TransferSerializer},
                   tags=TRANSFERS)
    def post(self, request: Request, transfer_id: str) -> Response:
        """Release a pending transfer's hold without moving money; returns the voiding transfer."""
        return _transfer_response(services.transfer_void_pending(
            pending_id=_own_transfer(request, transfer_id).pk, merchant_id=request.user.pk, merchant_scope=True,
            livemode=request.auth.livemode, actor=request.auth, client_id=_client_id(request),
        ))


class TransferReverseApi(ApiView):
    @extend_schema(operation_id="transfers_reverse", request=None, responses={201: s.TransferSerializer},
                   tags=TRANSFERS)
    def post(self, request: Request, transfer_id: str) -> Response:
        """Send posted money back with a new, opposite transfer (the original is never changed)."""
        return _transfer_response(services.transfer_reverse(
            transfer_id=_own_transfer(request, transfer_id).pk, merchant_id=request.user.pk, merchant_scope=True,
            livemode=request.auth.livemode, actor=request.auth, client_id=_client_id(request),
        ))


class TransferBatchApi(ApiView):
    max_body_bytes = MAX_BATCH_BODY_BYTES

    @extend_schema(operation_id="transfers_batch", request=s.TransferBatchSerializer,
                   responses={200: s.BatchResponseSerializer}, tags=TRANSFERS)
    def post(self, request: Request) -> Response:
        """Post up to 1,000 transfers in one go, with a result each. With `atomic`, all are posted or
        none is (a 422 `batch_refused` listing each result)."""
        serializer = s.TransferBatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        specs = [
            _transfer_spec(request, item, suffix=f":{index}")
            for index, item in enumerate(serializer.validated_data["transfers"])
        ]
        items = services.transfers_batch(specs=specs, atomic=serializer.validated_data["atomic"])
        posted = [item.transfer for item in items if item.transfer is not None]
        context = s.transfer_context(posted)
        return Response({
            "results": [
                {
                    "index": index,
                    "result": item.result,
                    "transfer": s.TransferSerializer(item.transfer, context=context).data if item.transfer else None,
                }
                for index, item in enumerate(items)
            ]
        })
