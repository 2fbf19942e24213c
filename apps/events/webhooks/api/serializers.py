from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.fields import PublicIdField
from apps.core.api.inputs import BodySerializer, QuerySerializer
from apps.events.webhooks import event_types
from apps.events.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint, WebhookEvent
from apps.events.webhooks.services import endpoints

MAX_EVENT_TYPES = 50
_SECRET_HELP = (
    "The signing secret (`whsec_...`), shown only in this response: store it now. Verify each "
    "request's `Fincore-Signature` with it."
)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    id = PublicIdField(endpoints.ENDPOINT_PREFIX)
    status = serializers.CharField(
        help_text="`enabled`, or `disabled` when you disabled it, or fincore did after 3 days of failed deliveries "
                  "(`disabled_reason` says which).",
    )
    created = serializers.DateTimeField(source="created_at")
    updated = serializers.DateTimeField(source="updated_at")
    secret_rotated_at = serializers.DateTimeField(allow_null=True)
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="Until then requests are signed with the previous secret too."
    )
    deleted = serializers.SerializerMethodField(help_text="True only in the answer to a DELETE.")

    class Meta:
        model = WebhookEndpoint
        fields = ("id", "url", "events", "description", "status", "disabled_at", "disabled_reason", "livemode",
                  "created", "updated", "secret_rotated_at", "previous_secret_expires_at", "deleted")
        read_only_fields = fields

    def get_deleted(self, endpoint: WebhookEndpoint) -> bool:
        return endpoint.deleted_at is not None


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.SerializerMethodField(help_text=_SECRET_HELP)

    class Meta(WebhookEndpointSerializer.Meta):
        fields = (*WebhookEndpointSerializer.Meta.fields, "secret")
        read_only_fields = fields

    def get_secret(self, endpoint: WebhookEndpoint) -> str:
        return self.context["secret"]


class _EventTypesField(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            child=serializers.CharField(max_length=100), min_length=1, max_length=MAX_EVENT_TYPES,
            help_text="Event types to receive, e.g. `[\"payment.succeeded\", \"refund.succeeded\"]`, or "
                      "`[\"*\"]` for all (see `GET /api/v1/event_types`).",
            **kwargs,
        )


class EventTypesFieldSchema(OpenApiSerializerFieldExtension):
    """The event types as the schema lists them: the catalogue's, or '*'."""

    target_class = _EventTypesField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {
            "type": "array", "minItems": 1, "maxItems": MAX_EVENT_TYPES, "description": self.target.help_text,
            "items": {"type": "string", "enum": ["*", *sorted(event_types.BY_NAME)]},
        }


@extend_schema_field({"type": "string", "format": "uri", "maxLength": 2048})
class WebhookUrlField(serializers.CharField):
    """An http(s) URL (the schema says a URI); the service decides whether fincore may call it."""


class WebhookEndpointCreateSerializer(BodySerializer):
    url = WebhookUrlField(
        max_length=2048, help_text="Where events are POSTed: https (http is accepted in test mode only), "
                                   "on a public address, without user name or password."
    )
    events = _EventTypesField()
    description = serializers.CharField(max_length=endpoints.MAX_DESCRIPTION_LENGTH, required=False, default="",
                                        allow_blank=True)


class WebhookEndpointUpdateSerializer(BodySerializer):
    url = WebhookUrlField(max_length=2048, required=False)
    events = _EventTypesField(required=False)
    description = serializers.CharField(max_length=endpoints.MAX_DESCRIPTION_LENGTH, required=False,
                                        allow_blank=True)
    enabled = serializers.BooleanField(
        required=False, help_text="`false` stops deliveries; `true` resumes them (also after fincore disabled "
                                  "the endpoint for failing)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Send at least one of url, events, description, enabled.")
        return attrs


class WebhookEndpointUpdateSchema(OpenApiSerializerExtension):
    target_class = WebhookEndpointUpdateSerializer

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target_class, direction, bypass_extensions=True)
        return {**schema, "minProperties": 1}


class RotateSecretSerializer(BodySerializer):
    expires_in = serializers.IntegerField(
        min_value=0, max_value=int(endpoints.SECRET_OVERLAP_MAX.total_seconds()),
        default=int(endpoints.SECRET_OVERLAP_DEFAULT.total_seconds()),
        help_text="Seconds the previous secret stays valid (requests carry both signatures meanwhile): "
                  "0 ends it now; default 86400 (24 h), at most 604800 (7 days).",
    )


class EventSerializer(serializers.ModelSerializer):
    """The envelope endpoints receive: ``{id, type, created, livemode, data}``."""

    id = PublicIdField(endpoints.EVENT_PREFIX)
    created = serializers.DateTimeField(source="created_at")
    data = serializers.JSONField(help_text="`{\"object\": ...}`: the object as the API shows it, when it happened.")

    class Meta:
        model = WebhookEvent
        fields = ("id", "type", "created", "livemode", "data")
        read_only_fields = fields


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    error = serializers.CharField(help_text="Why no response came (timeout, refused connection...); empty if one did.")
    response_body = serializers.CharField(help_text="The first 1,000 characters of your response's body.")

    class Meta:
        model = WebhookDeliveryAttempt
        fields = ("number", "requested_at", "duration_ms", "url", "response_status", "error", "response_body",
                  "succeeded")
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    id = PublicIdField(endpoints.DELIVERY_PREFIX)
    endpoint = PublicIdField(endpoints.ENDPOINT_PREFIX, source="endpoint_id")
    url = serializers.CharField(source="endpoint.url")
    status = serializers.CharField(
        help_text="`pending` while attempts go on (with backoff, for up to 3 days), then `succeeded` or `failed`.",
    )
    attempt_count = serializers.IntegerField(source="attempts")
    next_attempt_at = serializers.SerializerMethodField()
    attempts = DeliveryAttemptSerializer(source="attempt_set", many=True)
    created = serializers.DateTimeField(source="created_at")

    class Meta:
        model = WebhookDelivery
        fields = ("id", "endpoint", "url", "status", "attempt_count", "next_attempt_at", "last_response_status",
                  "delivered_at", "manual", "created", "attempts")
        read_only_fields = fields

    def get_next_attempt_at(self, delivery: WebhookDelivery) -> str | None:
        if delivery.status != WebhookDelivery.Status.PENDING or delivery.next_attempt_at is None:
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)


class EventDetailSerializer(EventSerializer):
    deliveries = DeliverySerializer(many=True, source="delivery_list")

    class Meta(EventSerializer.Meta):
        fields = (*EventSerializer.Meta.fields, "deliveries")
        read_only_fields = fields


class EventListQuerySerializer(QuerySerializer):
    type = serializers.CharField(required=False, max_length=100,
                                 help_text="An event type, or a prefix such as `payment.*`.")

    # "from" is a Python keyword, so the fields are declared by name below.
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            **super().get_fields(),
            "from": serializers.DateTimeField(required=False, help_text="Created at or after (ISO-8601)."),
            "to": serializers.DateTimeField(required=False, help_text="Created before (ISO-8601); after `from`."),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("from") and attrs.get("to") and attrs["from"] >= attrs["to"]:
            raise serializers.ValidationError({"to": "Must be after from."})
        return attrs


class RedeliverSerializer(BodySerializer):
    endpoint = PublicIdField(
        endpoints.ENDPOINT_PREFIX, required=False,
        help_text="Only to this endpoint (`we_...`); by default to every enabled endpoint the event went to.",
    )


class EventTypeSerializer(serializers.Serializer):
    type = serializers.CharField(source="name")
    object = serializers.CharField(help_text="The kind of object `data.object` is, as `GET` on it returns it.")
    description = serializers.CharField()
