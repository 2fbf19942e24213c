from django.urls import path

from apps.ledger.api import views

urlpatterns = [
    path("accounts", views.AccountListCreateApi.as_view(), name="account-list"),
    path("accounts/<str:account_id>", views.AccountRetrieveApi.as_view(), name="account-retrieve"),
    path("accounts/<str:account_id>/balance", views.AccountBalanceApi.as_view(), name="account-balance"),
    path("accounts/<str:account_id>/statement", views.AccountStatementApi.as_view(), name="account-statement"),
    path("transfers", views.TransferListCreateApi.as_view(), name="transfer-list"),
    path("transfers/batch", views.TransferBatchApi.as_view(), name="transfer-batch"),
    path("transfers/<str:transfer_id>", views.TransferRetrieveApi.as_view(), name="transfer-retrieve"),
    path("transfers/<str:transfer_id>/post", views.TransferPostApi.as_view(), name="transfer-post"),
    path("transfers/<str:transfer_id>/void", views.TransferVoidApi.as_view(), name="transfer-void"),
    path("transfers/<str:transfer_id>/reverse", views.TransferReverseApi.as_view(), name="transfer-reverse"),
]
