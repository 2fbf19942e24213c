"""The catalogue of problem codes: where every error's ``type`` URI points."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api import problems
from apps.core.api.views import ApiView


class ProblemTypeSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    description = serializers.CharField()


class _PublicApi(ApiView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()


class ProblemListApi(_PublicApi):
    @extend_schema(operation_id="problems_list", responses=ProblemTypeSerializer(many=True), tags=["problems"])
    def get(self, request: Request) -> Response:
        """Every problem `code` the API may answer with, with its title and HTTP status."""
        return Response(problems.catalogue())


class ProblemDetailApi(_PublicApi):
    @extend_schema(operation_id="problems_retrieve", responses=ProblemTypeSerializer, tags=["problems"])
    def get(self, request: Request, code: str) -> Response:
        """What one problem `code` means: where the `type` of a problem response points."""
        entry = problems.catalogue_entry(code)
        if entry is None:
            raise problems.NotFound(f"There is no problem type {code!r}.")
        return Response(entry)
