from django.urls import path

from apps.treasury.api import views

urlpatterns = [
    path("fx_quotes", views.FxQuoteCreateApi.as_view(), name="fx-quote-create"),
    path("conversions", views.ConversionListCreateApi.as_view(), name="conversion-list"),
    path("conversions/<str:conversion_id>", views.ConversionRetrieveApi.as_view(), name="conversion-retrieve"),
]
