"""manage.py connector_configure: change a sandbox connector from the shell, journaled."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.audit.models import AuditEvent
from apps.routing import services
from apps.routing.models import Connector
from tests.routing.conftest import describe

pytestmark = pytest.mark.django_db


def configure(*args: str) -> str:
    out = StringIO()
    call_command("connector_configure", *args, stdout=out)
    return out.getvalue()


def test_it_sets_the_simulator_and_journals_with_a_system_actor():
    out = configure("acquirer_beta", "--latency-ms", "250", "--decline-rate", "0.1", "--timeout-rate", "0.05",
                    "--outage-rate", "1")

    connector = Connector.objects.get(name="acquirer_beta")
    assert (connector.latency_ms, connector.decline_rate, connector.timeout_rate, connector.outage_rate) == (
        250, Decimal("0.1"), Decimal("0.05"), Decimal(1))
    assert out == ("acquirer_beta: enabled, latency 250 ms, decline rate 0.1000, timeout rate 0.0500, "
                   "outage rate 1.0000, confirm after 30 s\n")
    event = AuditEvent.objects.get(action="connector.updated")
    assert event.actor_type == "system"
    assert event.actor_label.startswith("manage.py connector_configure (")
    assert event.reason == "connector_configure command"
    assert event.after == {"latency_ms": 250, "decline_rate": "0.1000", "timeout_rate": "0.0500",
                           "outage_rate": "1.0000"}


def test_disable_and_enable_take_a_connector_out_of_routing_and_back():
    configure("acquirer_alpha", "--disable", "--reason", "acquirer maintenance window")
    assert "acquirer_alpha" not in services.route(description=describe()).candidates
    assert AuditEvent.objects.get(action="connector.updated").reason == "acquirer maintenance window"
    configure("acquirer_alpha", "--enable")
    assert "acquirer_alpha" in services.route(description=describe()).candidates


def test_the_wire_confirmation_delay_can_be_set():
    configure("swift_wire", "--confirm-after-seconds", "2")
    assert Connector.objects.get(name="swift_wire").confirm_after_seconds == 2


def test_without_options_it_prints_the_settings_and_changes_nothing():
    assert configure("wallet").startswith("wallet: enabled, latency 0 ms")
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ghost", "--latency-ms", "1"], "There is no connector named 'ghost'."),
        (["acquirer_alpha", "--outage-rate", "2"], "outage rate must be from 0 to 1 with at most 4 decimals, not 2"),
        (["acquirer_alpha", "--latency-ms", "-1"], "latency_ms must be a whole number of at least 0"),
    ],
)
def test_refusals_are_command_errors_and_change_nothing(args, message):
    before = Connector.objects.values().get(name="acquirer_alpha")
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        configure(*args)
    assert Connector.objects.values().get(name="acquirer_alpha") == before
    assert not AuditEvent.objects.exists()


def test_a_rate_that_is_not_a_number_is_refused():
    with pytest.raises(CommandError, match="'lots' is not a number from 0 to 1"):
        configure("acquirer_alpha", "--decline-rate", "lots")
