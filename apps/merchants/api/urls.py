from django.urls import path

from apps.merchants.api import views

urlpatterns = [
    path("merchant", views.MerchantRetrieveApi.as_view(), name="merchant-retrieve"),
    path("api_keys", views.ApiKeyListApi.as_view(), name="api-key-list"),
    path("api_keys/<str:api_key_id>", views.ApiKeyRetrieveApi.as_view(), name="api-key-retrieve"),
    path("api_keys/<str:api_key_id>/revoke", views.ApiKeyRevokeApi.as_view(), name="api-key-revoke"),
]
