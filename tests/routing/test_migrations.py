"""What migrate leaves behind for routing: staff permissions (the seeded connectors and rules
are checked in test_services)."""

import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db


def _permissions(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type") if p.content_type.app_label == "routing"}


VIEWS = {"routing.view_connector", "routing.view_routingrule", "routing.view_sandboxoperation"}


def test_compliance_and_support_see_routing():
    for role in ("Compliance officer", "Compliance supervisor", "Support (read-only)"):
        assert _permissions(role) == VIEWS, role


def test_treasury_operators_change_connectors_and_rules():
    assert _permissions("Treasury operator") == VIEWS | {
        "routing.change_connector", "routing.add_routingrule", "routing.change_routingrule"}
