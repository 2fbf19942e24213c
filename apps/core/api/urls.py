from django.urls import path

from apps.core.api import catalogue_views

urlpatterns = [
    path("problems", catalogue_views.ProblemListApi.as_view(), name="problem-list"),
    path("problems/<str:code>", catalogue_views.ProblemDetailApi.as_view(), name="problem-detail"),
]
