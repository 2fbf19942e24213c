from rest_framework import serializers

from apps.core.api.fields import PublicIdField
from apps.core.api.inputs import BodySerializer
from apps.merchants.models import ApiKey, Merchant


class MerchantSerializer(serializers.ModelSerializer):
    id = PublicIdField("mer")
    created = serializers.DateTimeField(source="created_at")
    livemode = serializers.SerializerMethodField(help_text="Whether the calling key is a live key.")

    class Meta:
        model = Merchant
        fields = ("id", "legal_name", "country", "status", "currencies", "livemode", "created")
        read_only_fields = fields

    def get_livemode(self, merchant: Merchant) -> bool:
        return self.context["request"].auth.livemode


class ApiKeySerializer(serializers.ModelSerializer):
    id = PublicIdField("key")
    created = serializers.DateTimeField(source="created_at")
    last_used = serializers.DateTimeField(source="last_used_at", allow_null=True)
    revoked = serializers.BooleanField(source="is_revoked")
    revoked_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        model = ApiKey
        fields = ("id", "name", "mode", "hint", "created", "last_used", "revoked", "revoked_at")
        read_only_fields = fields


class ApiKeyRevokeSerializer(BodySerializer):
    reason = serializers.CharField(max_length=1000, help_text="Why the key is revoked (kept in the audit trail).")
