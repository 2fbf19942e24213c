from datetime import timedelta
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core import ids
from apps.core.api.problems import NotFound
from apps.core.api.views import ApiView, GenericApiView
from apps.events.webhooks import selectors
from apps.events.webhooks.api import serializers as s
from apps.events.webhooks.models import WebhookEndpoint, WebhookEvent
from apps.events.webhooks.services import deliveries, endpoints

ENDPOINTS = ["webhook endpoints"]
EVENTS = ["events"]


def _own_endpoint(request: Request, public_id: str) -> WebhookEndpoint:
    """The caller's endpoint with that id, in the key's mode; anybody else's, the other mode's, a
    deleted one, or a malformed id, is not found."""
    endpoint_id = ids.decode(endpoints.ENDPOINT_PREFIX, public_id)
    endpoint = selectors.webhook_endpoint_get(
        merchant_id=request.user.pk, livemode=request.auth.livemode, endpoint_id=endpoint_id
    ) if endpoint_id else None
    if endpoint is None:
        raise NotFound(f"No webhook endpoint {public_id!r}.")
    return endpoint


def _own_event(request: Request, public_id: str) -> WebhookEvent:
    event_id = ids.decode(endpoints.EVENT_PREFIX, public_id)
    event = selectors.webhook_event_get(
        merchant_id=request.user.pk, livemode=request.auth.livemode, event_id=event_id
    ) if event_id else None
    if event is None:
        raise NotFound(f"No event {public_id!r}.")
    return event


def _scope(request: Request) -> dict[str, Any]:
    return {"merchant_id": request.user.pk, "livemode": request.auth.livemode, "actor": request.auth}


def _endpoint_gone(public_id: str) -> NotFound:
    # Deleted between our read and the service's locked one.
    return NotFound(f"No webhook endpoint {public_id!r}.")


def _event_detail(event: WebhookEvent) -> dict[str, Any]:
    event.delivery_list = list(selectors.webhook_event_deliveries(event=event))
    return s.EventDetailSerializer(event).data


class WebhookEndpointListCreateApi(GenericApiView):
    serializer_class = s.WebhookEndpointSerializer

    @extend_schema(operation_id="webhook_endpoints_list", responses=s.WebhookEndpointSerializer(many=True),
                   tags=ENDPOINTS)
    def get(self, request: Request) -> Response:
        """Your webhook endpoints of the calling key's mode, newest first (secrets are never shown again)."""
        page = self.paginate_queryset(
            selectors.webhook_endpoint_list(merchant_id=request.user.pk, livemode=request.auth.livemode)
        )
        return self.get_paginated_response(s.WebhookEndpointSerializer(page, many=True).data)

    @extend_schema(operation_id="webhook_endpoints_create", request=s.WebhookEndpointCreateSerializer,
                   responses={201: s.WebhookEndpointWithSecretSerializer}, tags=ENDPOINTS)
    def post(self, request: Request) -> Response:
        """Add an endpoint that receives the listed event types. The response carries its signing `secret`:
        it is shown only this once. Endpoints of a test key receive test events; of a live key, live events
        (live endpoints must use https)."""
        serializer = s.WebhookEndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = endpoints.webhook_endpoint_create(**_scope(request), **serializer.validated_data)
        body = s.WebhookEndpointWithSecretSerializer(issued.endpoint, context={"secret": issued.secret}).data
        response = Response(body, status=status.HTTP_201_CREATED,
                            headers={"Location": f"/api/v1/webhook_endpoints/{body['id']}"})
        response["Cache-Control"] = "no-store"
        return response


class WebhookEndpointDetailApi(ApiView):
    @extend_schema(operation_id="webhook_endpoints_retrieve", responses=s.WebhookEndpointSerializer, tags=ENDPOINTS)
    def get(self, request: Request, endpoint_id: str) -> Response:
        """One of your webhook endpoints."""
        return Response(s.WebhookEndpointSerializer(_own_endpoint(request, endpoint_id)).data)

    @extend_schema(operation_id="webhook_endpoints_update", request=s.WebhookEndpointUpdateSerializer,
                   responses=s.WebhookEndpointSerializer, tags=ENDPOINTS)
    def post(self, request: Request, endpoint_id: str) -> Response:
        """Change an endpoint's `url`, `events` or `description`, or disable it (`"enabled": false`) and
        enable it again."""
        endpoint = _own_endpoint(request, endpoint_id)
        serializer = s.WebhookEndpointUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            updated = endpoints.webhook_endpoint_update(
                endpoint_id=endpoint.pk, changes=serializer.validated_data, **_scope(request)
            )
        except WebhookEndpoint.DoesNotExist as gone:
            raise _endpoint_gone(endpoint_id) from gone
        return Response(s.WebhookEndpointSerializer(updated).data)

    @extend_schema(operation_id="webhook_endpoints_delete", responses={200: s.WebhookEndpointSerializer},
                   tags=ENDPOINTS)
    def delete(self, request: Request, endpoint_id: str) -> Response:
        """Delete an endpoint for good: nothing more is sent to it (pending retries stop), and it is no longer
        listed. Its past deliveries stay visible on the events."""
        endpoint = _own_endpoint(request, endpoint_id)
        try:
            deleted = endpoints.webhook_endpoint_delete(endpoint_id=endpoint.pk, **_scope(request))
        except WebhookEndpoint.DoesNotExist as gone:
            raise _endpoint_gone(endpoint_id) from gone
        return Response(s.WebhookEndpointSerializer(deleted).data)


class WebhookEndpointRotateSecretApi(ApiView):
    @extend_schema(operation_id="webhook_endpoints_rotate_secret", request=s.RotateSecretSerializer,
                   responses=s.WebhookEndpointWithSecretSerializer, tags=ENDPOINTS)
    def post(self, request: Request, endpoint_id: str) -> Response:
        """Give the endpoint a new signing secret, shown only in this response. The previous secret keeps
        signing requests too (a second `v1` in `Fincore-Signature`) for `expires_in` seconds, 24 h by
        default, so you can switch your receiver over without missing an event."""
        endpoint = _own_endpoint(request, endpoint_id)
        serializer = s.RotateSecretSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            issued = endpoints.webhook_endpoint_rotate_secret(
                endpoint_id=endpoint.pk, expires_in=timedelta(seconds=serializer.validated_data["expires_in"]),
                **_scope(request),
            )
        except WebhookEndpoint.DoesNotExist as gone:
            raise _endpoint_gone(endpoint_id) from gone
        response = Response(s.WebhookEndpointWithSecretSerializer(issued.endpoint, context={"secret": issued.secret})
                            .data)
        response["Cache-Control"] = "no-store"
        return response


class EventTypeListApi(ApiView):
    @extend_schema(operation_id="event_types_list", responses=s.EventTypeSerializer(many=True), tags=EVENTS)
    def get(self, request: Request) -> Response:
        """Every event type a webhook endpoint can subscribe to: what it means, and the kind of object
        (`payment`, `refund`) its `data.object` carries."""
        return Response(s.EventTypeSerializer(selectors.webhook_event_types(), many=True).data)


class EventListApi(GenericApiView):
    serializer_class = s.EventSerializer

    @extend_schema(operation_id="events_list", parameters=[s.EventListQuerySerializer],
                   responses=s.EventSerializer(many=True), tags=EVENTS)
    def get(self, request: Request) -> Response:
        """Your events of the calling key's mode, newest first; filter by `type` (or `payment.*`), `from`
        and `to`. Events are kept whether or not an endpoint received them."""
        query = s.EventListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        events = selectors.webhook_event_list(
            merchant_id=request.user.pk, livemode=request.auth.livemode, event_type=query.validated_data.get("type"),
            since=query.validated_data.get("from"), until=query.validated_data.get("to"),
        )
        page = self.paginate_queryset(events)
        return self.get_paginated_response(s.EventSerializer(page, many=True).data)


class EventRetrieveApi(ApiView):
    @extend_schema(operation_id="events_retrieve", responses=s.EventDetailSerializer, tags=EVENTS)
    def get(self, request: Request, event_id: str) -> Response:
        """One event, with each of its deliveries and every attempt made (status, timing, your response)."""
        return Response(_event_detail(_own_event(request, event_id)))


class EventRedeliverApi(ApiView):
    @extend_schema(
        operation_id="events_redeliver", request=s.RedeliverSerializer,
        responses={202: OpenApiResponse(s.EventDetailSerializer, description="The event with its new deliveries")},
        tags=EVENTS,
    )
    def post(self, request: Request, event_id: str) -> Response:
        """Send an event again, to one endpoint (`endpoint`) or to every enabled endpoint it went to. Each
        redelivery is a new delivery, retried like the first; answers at once, before it is sent."""
        event = _own_event(request, event_id)
        serializer = s.RedeliverSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint_id = serializer.validated_data.get("endpoint")
        try:
            deliveries.webhook_event_redeliver(event_id=event.pk, endpoint_id=endpoint_id, **_scope(request))
        except WebhookEndpoint.DoesNotExist as gone:
            raise NotFound(f"No webhook endpoint {request.data.get('endpoint')!r}.") from gone
        return Response(_event_detail(event), status=status.HTTP_202_ACCEPTED)
