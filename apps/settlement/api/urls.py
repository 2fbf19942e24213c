from django.urls import path

from apps.settlement.api import views

urlpatterns = [
    path("settlements", views.SettlementListApi.as_view(), name="settlement-list"),
    path("settlements/<str:settlement_id>", views.SettlementRetrieveApi.as_view(), name="settlement-retrieve"),
    path("settlements/<str:settlement_id>/report.csv", views.SettlementReportApi.as_view(),
         name="settlement-report"),
    path("fee_plan", views.FeePlanApi.as_view(), name="fee-plan"),
]
