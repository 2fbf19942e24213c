"""The API keeps the contract its OpenAPI schema states: schemathesis, every check, every operation.

gunicorn serves the API (deploy/gunicorn.conf.py) on the test database; the schema is read from
the project as that server serves it, and each operation gets requests generated from it — valid ones, which must be
accepted (or refused by a business rule: 404, 409, 422), and invalid ones, which must be refused —
whose answers are checked against the schema: status, content type, headers and body, never a 500.

The requests come from a merchant set up for every currency, with a test key, accounts with money,
a pending and a posted transfer, payments (one awaiting capture, one succeeded, refunded in part),
a webhook endpoint and its events, and a settlement of the last closed business date. Path
parameters and the ids in bodies are mostly those objects' (so requests reach the code behind the
lookup), sometimes what schemathesis generated.

    make test: a short deterministic pass: hypothesis derandomized, 20 examples an operation
    make fuzz: CONTRACT_FUZZ=1: 300 examples an operation (CONTRACT_EXAMPLES), new ones each run
               (CONTRACT_SEED=<n> replays one), and schemathesis' coverage phase

A failure prints the request as a curl command to reproduce it.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from schemathesis.core.parameters import ParameterLocation

from apps.core import ids
from apps.core.actors import Actor
from apps.core.currencies import CURRENCIES
from apps.events.webhooks.models import WebhookEvent
from apps.events.webhooks.services import endpoints
from apps.ledger import data as ledger_data
from apps.ledger import engine
from apps.ledger import services as ledger_services
from apps.merchants import services as merchant_services
from apps.payments import services as payment_services
from apps.routing.models import Connector
from apps.settlement import selectors as settlement_selectors
from apps.settlement import services as settlement_services
from apps.settlement.models import SettlementLine
from tests.contract.live_server import LiveServer
from tests.factories.routing import sandbox_seeded
from tests.factories.settlement import captured, refunded
from tests.support.seeds import settlement_seeds_restore
from tests.support.workers import PROJECT_DIR

# The short pass (make test): a few examples per operation, the same ones every run. The long one
# (make fuzz): CONTRACT_FUZZ=1, many examples, new ones each run (CONTRACT_SEED=<n> replays one),
# and schemathesis' coverage phase too (every boundary of every parameter: thousands of requests).
FUZZ = os.environ.get("CONTRACT_FUZZ") == "1"
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "300" if FUZZ else "20"))
SEED = int(os.environ["CONTRACT_SEED"]) if os.environ.get("CONTRACT_SEED") else None

ACTOR = Actor.system("tests.contract")
IBANS = ["BH67BMAG00001299123456", "GB82WEST12345698765432", "DE89370400440532013000", "SA0380000000608010167519"]

CONFIG = schemathesis.Config.from_dict({
    # Parameters fincore does not know are ignored, in a query string as in a body: not generated.
    # No NUL character either: PostgreSQL's text cannot hold one, so every text field refuses it
    # (400), which the schema says of each text field it can (a pattern), but cannot of metadata's
    # keys and nested values (OpenAPI 3.0 has no propertyNames); tests/core/api test those.
    "generation": {"mode": "all", "allow-extra-parameters": False, "allow-x00": False},
    "phases": {"coverage": {"enabled": FUZZ}},
    "checks": {
        # A valid request may still be refused by the state of things: no such object of yours
        # (404), a conflict with what is in progress (409), a business rule such as an insufficient
        # balance or an amount larger than what is left to capture (422). Each is problem details
        # with its own code, and documented.
        "positive_data_acceptance": {"expected-statuses": ["2xx", 404, 409, 422]},
        # Invalid requests are refused by fincore as problems, or by gunicorn in front of it (414:
        # a URL too long for its request line). Not a 5xx: that is a bug (not_a_server_error).
        "negative_data_rejection": {
            "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 411, 413, 414, 415, 422, 428, 429],
        },
    },
})


# The schema's IBANs are checked for their check digits too, and a webhook URL for where it leads
# (a public address; in tests, loopback too): valid requests carry IBANs and URLs that pass.
schemathesis.openapi.format("iban", st.sampled_from(IBANS))
schemathesis.openapi.format("uri", st.builds("http://127.0.0.1:{}/{}".format, st.integers(1, 65535),
                                             st.from_regex(r"[a-z0-9/_-]{0,40}", fullmatch=True)))


@dataclass
class Seeds:
    """What the contract merchant has, by the name of the path parameter or body field naming it."""

    secret: str
    objects: dict[str, list[str]] = field(default_factory=dict)

    def pick(self, name: str, generated: Any) -> Any:
        """Mostly one of ours (chosen from what was generated, so a run is reproducible), sometimes
        what was generated: a request for an object that is not there is part of the contract too."""
        candidates = self.objects.get(name)
        if not candidates or not isinstance(generated, str):
            return generated
        digest = hashlib.sha256(generated.encode("utf-8", "surrogatepass")).digest()
        return generated if digest[0] % 4 == 0 else candidates[digest[1] % len(candidates)]


# Cursors a client can hold: the first page, an offset, going back. A cursor is opaque (fincore
# makes them); one it did not make is a 400 invalid_cursor, which the schema documents.
CURSORS = ["", base64.b64encode(b"o=1").decode(), base64.b64encode(b"r=1").decode()]
BODY_REFERENCES = {"debit_account": "account_id", "credit_account": "account_id", "account": "account_id",
                   "payment": "payment_id", "endpoint": "endpoint_id"}


def _seed() -> Seeds:
    """The contract merchant and its objects, committed (the server is another process)."""
    sandbox_seeded()
    Connector.objects.update(latency_ms=0, decline_rate=0, timeout_rate=0, outage_rate=0)
    merchant = merchant_services.merchant_create(
        legal_name="Contract Test Trading W.L.L.", country="BH", currencies=list(CURRENCIES), actor=ACTOR
    )
    issued = merchant_services.api_key_create(merchant_id=merchant.pk, name="contract", mode="test", actor=ACTOR)
    spare = merchant_services.api_key_create(merchant_id=merchant.pk, name="to revoke", mode="test", actor=ACTOR)

    def account(**fields: Any) -> Any:
        return ledger_services.customer_account_open(merchant_id=merchant.pk, currency="BHD", actor=ACTOR,
                                                     livemode=False, **fields)

    funding, wallet = account(allow_overdraft=True, reference="funding"), account(reference="wallet")

    def transfer(debit: Any, credit: Any, amount: int, kind: str = ledger_data.Kind.IMMEDIATE) -> uuid.UUID:
        (outcome,) = engine.post([ledger_data.TransferSpec(
            client_id=f"contract-{uuid.uuid4().hex}", kind=kind, debit_account_id=debit.pk,
            credit_account_id=credit.pk, amount=amount, currency="BHD", merchant_id=merchant.pk, livemode=False,
        )])
        assert outcome.result == ledger_data.Result.OK, outcome
        return outcome.transfer_id

    posted = transfer(funding, wallet, 10_000_000)
    held = transfer(wallet, funding, 5_000, ledger_data.Kind.PENDING)

    endpoint = _webhook_endpoint(merchant.pk)

    def payment(capture_method: str) -> Any:
        created = payment_services.payment_create(
            merchant_id=merchant.pk, livemode=False, amount=50_000, currency="BHD", country="BH",
            payment_method={"type": "card", "token": "tok_success"}, capture_method=capture_method, actor=ACTOR,
        )
        payment_services.payment_process(payment_id=created.pk)
        return created

    authorized, succeeded = payment("manual"), payment("automatic")
    refund = payment_services.payment_refund(payment_id=succeeded.pk, amount=1_000, actor=ACTOR)

    events = [ids.encode("evt", pk) for pk in WebhookEvent.objects.filter(merchant_id=merchant.pk)
              .values_list("pk", flat=True)]
    settlement = _settlement(merchant)
    return Seeds(secret=issued.secret, objects={
        "account_id": [ids.encode("acc", funding.pk), ids.encode("acc", wallet.pk)],
        "transfer_id": [ids.encode("tr", posted), ids.encode("tr", held)],
        "payment_id": [ids.encode("pay", authorized.pk), ids.encode("pay", succeeded.pk)],
        "refund_id": [ids.encode("re", refund.pk)],
        "api_key_id": [ids.encode("key", spare.api_key.pk)],
        "endpoint_id": [endpoint],
        "event_id": events,
        "settlement_id": [settlement],
        "code": ["validation_error", "not_found", "insufficient_funds"],
    })


def _settlement(merchant: Any) -> str:
    """The contract merchant's settlement of BHD's last closed business date: two test captures and
    a refund an hour before its cut-off, settled by the run (so a report has every kind of row)."""
    settlement_seeds_restore()  # a transactional test run before may have emptied the calendar
    day = settlement_selectors.last_closed_business_date(currency="BHD")
    before_cutoff = settlement_selectors.cutoff_at(currency="BHD", business_date=day) - timedelta(hours=1)
    payment = captured(merchant, 12_500, at=before_cutoff, livemode=False)
    captured(merchant, 3_000, at=before_cutoff, method="wallet", livemode=False)
    refunded(payment, 2_500, at=before_cutoff)
    settlement_services.settlement_run(business_date=day, currency="BHD", actor=ACTOR)
    (line,) = SettlementLine.objects.filter(merchant_id=merchant.pk)
    return ids.encode("stl", line.pk)


def _webhook_endpoint(merchant_id: Any) -> str:
    issued = endpoints.webhook_endpoint_create(merchant_id=merchant_id, livemode=False,
                                               url="http://127.0.0.1:9/fincore", events=["*"], actor=ACTOR)
    return ids.encode("we", issued.endpoint.pk)


@pytest.fixture(scope="module")
def seeds(django_db_setup, django_db_blocker, idle_sessions_ended_at_exit) -> Iterator[Seeds]:
    # The settlement run posts through the ledger's group committer, whose thread keeps a connection.
    with django_db_blocker.unblock():
        yield _seed()
        # As a transactional test ends: nothing of this module stays for another.
        call_command("flush", interactive=False, verbosity=0)


def _openapi_document() -> dict[str, Any]:
    """The schema as a fincore process makes it, when the tests are collected: schemathesis makes one
    test per operation from it then. Made by another process, as the server makes it (asserted
    below)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as document:
        subprocess.run(
            [sys.executable, "manage.py", "spectacular", "--format", "openapi-json", "--file", document.name],
            cwd=PROJECT_DIR, env={**os.environ, "DJANGO_SETTINGS_MODULE": "fincore.settings.test"},
            capture_output=True, check=True, timeout=120,
        )
        return json.loads(Path(document.name).read_text(encoding="utf-8"))


OPENAPI = _openapi_document()
schema = schemathesis.openapi.from_dict(OPENAPI, config=CONFIG)


@schema.auth()
class ContractKey:
    """The contract merchant's test key (``Authorization: Bearer``), known once it is seeded."""

    secret = ""

    def get(self, case: Any, context: Any) -> str:
        return ContractKey.secret

    def set(self, case: Any, secret: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {secret}"}


def test_the_schema_tested_is_the_one_the_server_serves(gunicorn: LiveServer) -> None:
    served = gunicorn.request("GET", "/api/v1/schema/", headers={"Accept": "application/json"})

    assert served.status == 200
    assert served.json() == OPENAPI


def _aim(case: Any, seeds: Seeds) -> None:
    """Point the valid parts of a generated request at the contract merchant's objects (see
    Seeds.pick); a part generated invalid on purpose is sent as it is."""
    meta = case.meta

    def valid(location: ParameterLocation) -> bool:
        return meta is None or not meta.is_negative_at(location)

    if valid(ParameterLocation.PATH):
        for name, value in list(case.path_parameters.items()):
            case.path_parameters[name] = seeds.pick(name, value)
    if valid(ParameterLocation.QUERY) and isinstance(case.query, dict):
        if isinstance(case.query.get("cursor"), str):
            digest = hashlib.sha256(case.query["cursor"].encode("utf-8", "surrogatepass")).digest()
            case.query["cursor"] = CURSORS[digest[0] % len(CURSORS)]
        _forwards(case.query)
    if valid(ParameterLocation.BODY) and isinstance(case.body, dict):
        objects = [case.body, *(item for item in case.body.get("transfers") or [] if isinstance(item, dict))]
        for body_object in objects:
            for name, seeded_as in BODY_REFERENCES.items():
                if name in body_object:
                    body_object[name] = seeds.pick(seeded_as, body_object[name])


def _forwards(query: dict[str, Any]) -> None:
    """A period's `to` must be after its `from` (400 otherwise): a rule between two parameters,
    which OpenAPI cannot state, so a valid request's period is made to run forwards."""
    try:
        since, until = (datetime.fromisoformat(query[name]) for name in ("from", "to"))
    except (KeyError, TypeError, ValueError):
        return
    if since.tzinfo is None or until.tzinfo is None:
        return
    if since > until:
        query["from"], query["to"] = query["to"], query["from"]
    elif since == until:
        del query["to"]


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=not FUZZ, deadline=None, database=None,
          suppress_health_check=list(HealthCheck), print_blob=True)
@seed(SEED)
def test_the_api_keeps_its_contract(case: Any, seeds: Seeds, gunicorn: LiveServer) -> None:
    ContractKey.secret = seeds.secret
    _aim(case, seeds)
    case.call_and_validate(base_url=gunicorn.url, timeout=30)
