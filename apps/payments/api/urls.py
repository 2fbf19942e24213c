from django.urls import path

from apps.payments.api import views

urlpatterns = [
    path("payments", views.PaymentListCreateApi.as_view(), name="payment-list"),
    path("payments/<str:payment_id>", views.PaymentRetrieveApi.as_view(), name="payment-retrieve"),
    path("payments/<str:payment_id>/capture", views.PaymentCaptureApi.as_view(), name="payment-capture"),
    path("payments/<str:payment_id>/cancel", views.PaymentCancelApi.as_view(), name="payment-cancel"),
    path("refunds", views.RefundListCreateApi.as_view(), name="refund-list"),
    path("refunds/<str:refund_id>", views.RefundRetrieveApi.as_view(), name="refund-retrieve"),
    path("balance", views.BalanceApi.as_view(), name="balance"),
    path("payouts", views.PayoutListApi.as_view(), name="payout-list"),
    path("payouts/<str:payout_id>", views.PayoutRetrieveApi.as_view(), name="payout-retrieve"),
]
