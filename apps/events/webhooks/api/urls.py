from django.urls import path

from apps.events.webhooks.api import views

urlpatterns = [
    path("webhook_endpoints", views.WebhookEndpointListCreateApi.as_view(), name="webhook-endpoint-list"),
    path("webhook_endpoints/<str:endpoint_id>", views.WebhookEndpointDetailApi.as_view(),
         name="webhook-endpoint-detail"),
    path("webhook_endpoints/<str:endpoint_id>/rotate_secret", views.WebhookEndpointRotateSecretApi.as_view(),
         name="webhook-endpoint-rotate-secret"),
    path("event_types", views.EventTypeListApi.as_view(), name="event-type-list"),
    path("events", views.EventListApi.as_view(), name="event-list"),
    path("events/<str:event_id>", views.EventRetrieveApi.as_view(), name="event-retrieve"),
    path("events/<str:event_id>/redeliver", views.EventRedeliverApi.as_view(), name="event-redeliver"),
]
