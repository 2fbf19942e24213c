"""Transaction monitoring: recording each movement of money once, evaluating the rules that watch
it, holding a payment a rule says to hold, tailing the ledger's wallet transfers, backtesting a
proposed rule, and the maker-checker changes of rules, risk tiers and high-risk jurisdictions.

Idempotency: a movement is recorded once (``monitored_event_once`` on source and id) and a rule
alerts on it once (``alert_once_per_rule_event``, the event key being ``source:source_id``), so a
redelivered event, a retried task or a restarted worker raises nothing twice. Windows are read
from the recorded movements, in the evaluating transaction.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import IntegrityError, connection, transaction

from apps.audit.services import audit_record
from apps.compliance import services as approvals
from apps.compliance.alerts.services import alert_raise
from apps.compliance.data import Hold, Observation, Target
from apps.compliance.models import (
    Alert,
    HighRiskJurisdiction,
    MerchantProfile,
    MonitoredEvent,
    MonitoringCursor,
    MonitoringRule,
    RiskTier,
)
from apps.compliance.monitoring import catalogue, observations, selectors
from apps.compliance.monitoring.evaluators import EVALUATORS, Finding, Reads
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.core.countries import countries
from apps.core.money import Money
from apps.ledger import selectors as ledger_selectors

RULE_SET = "compliance.monitoring_rule_set"
RISK_TIER_SET = "compliance.risk_tier_set"
JURISDICTION_SET = "compliance.high_risk_jurisdiction_set"

BACKTEST_DAYS = 30
# Backtests replay at most this many recorded movements (the most recent), to answer within a page load.
BACKTEST_LIMIT = 20_000
TRANSFERS_CURSOR = "ledger.wallet_transfers"
# A transfer committed up to this long after one with a larger id is still read: uuid7 ids are
# taken when a transfer is built, before its transaction commits.
TRANSFERS_OVERLAP = timedelta(minutes=5)
# A wallet payment moves money out of the wallet too, as a ledger transfer the payments app makes
# ("payments" is its label on the transfers): it is watched as the payment (its outcome event), not
# counted a second time as a transfer.
PAYMENTS_POSTINGS = ("payments",)


# --- recording and evaluating ---------------------------------------------------------------


def event_key(observation: Observation) -> str:
    """The event a rule alerts on once: ``payments.payment:<uuid>``."""
    return f"{observation.source}:{observation.source_id}"


_RECORD_COLUMNS = ("id", "source", "source_id", "kind", "merchant_id", "livemode", "amount", "currency",
                  "occurred_at", "method", "country", "wallet", "card_fingerprint", "iban", "counterparty_name",
                  "failed", "recorded_at")
# One statement, no savepoint: the first record stands (``monitored_event_once``); a failed
# payment's outcome marks its record failed.
_RECORD_SQL = (
    f"INSERT INTO {MonitoredEvent._meta.db_table} ({', '.join(_RECORD_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(_RECORD_COLUMNS))}) ON CONFLICT (source, source_id) DO "
)
_RECORD_ONCE_SQL = _RECORD_SQL + "NOTHING"
_RECORD_FAILED_SQL = (_RECORD_SQL + f"UPDATE SET failed = true WHERE NOT {MonitoredEvent._meta.db_table}.failed")


def _observation_save(observation: Observation, *, failed: bool = False) -> None:
    """Record ``observation`` once, in the caller's transaction (its first record stands; a
    failed payment's is marked failed, so windows skip it)."""
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_FAILED_SQL if failed else _RECORD_ONCE_SQL, [
            ids.uuid7(), observation.source, observation.source_id, observation.kind, observation.merchant_id,
            observation.livemode, observation.amount, observation.currency, observation.occurred_at,
            observation.method, observation.country, observation.wallet, observation.card_fingerprint,
            observation.iban, observation.counterparty_name[:200], failed, clock.now()])


def observation_record(*, observation: Observation, failed: bool = False) -> MonitoredEvent:
    """Record ``observation`` once, in the caller's transaction (its first record stands; a
    failed payment's is marked failed, so windows skip it); the record."""
    _observation_save(observation, failed=failed)
    return MonitoredEvent.objects.get(source=observation.source, source_id=observation.source_id)


def _evidence(rule: MonitoringRule, observation: Observation, finding: Finding) -> dict[str, Any]:
    prefix = observations.PUBLIC_PREFIXES.get(observation.source)
    return {
        "event": {
            "source": observation.source, "id": observation.source_id,
            "public_id": ids.encode(prefix, UUID(observation.source_id)) if prefix else observation.source_id,
            "kind": observation.kind, "amount": observation.amount, "currency": observation.currency,
            "money": Money(observation.amount, observation.currency).format(),
            "occurred_at": observation.occurred_at.isoformat(), "country": observation.country,
        },
        "figures": finding.figures,
        "parameters": rule.parameters.get(observation.currency, {}),
    }


def _findings(rules: list[MonitoringRule], observation: Observation,
              setup: selectors.MonitoringSetup) -> list[tuple[MonitoringRule, Finding]]:
    """What each of ``rules`` finds in ``observation`` (recorded: every window includes it), in
    their order; the windows of all of them read in one statement, the jurisdictions from
    ``setup``. The rules' scope is the caller's."""
    planned = []
    for rule in rules:
        parameters = (rule.parameters or {}).get(observation.currency)
        evaluator = EVALUATORS.get(rule.kind)
        if parameters is None or evaluator is None:
            continue
        windows = evaluator.windows(parameters, observation)
        if windows is not None:
            planned.append((rule, parameters, evaluator, windows))
    figures = selectors.windows_figures(observation=observation,
                                        windows=(window for *_, windows in planned for window in windows))
    found = []
    for rule, parameters, evaluator, windows in planned:
        reads = Reads(tuple(figures[window] for window in windows), setup.jurisdictions)
        finding = evaluator.finding(parameters, observation, reads)
        if finding is not None:
            found.append((rule, finding))
    return found


def rule_finding(rule: MonitoringRule, observation: Observation,
                 setup: selectors.MonitoringSetup | None = None) -> Finding | None:
    """What ``rule`` finds in ``observation`` (None: nothing), the jurisdictions as ``setup`` has
    them (as they are now when not given); the rule's scope is the caller's."""
    found = _findings([rule], observation, setup or selectors.monitoring_setup())
    return found[0][1] if found else None


def observation_evaluate(*, observation: Observation) -> list[Alert]:
    """Record ``observation`` and evaluate every enabled rule that watches it, in one transaction;
    the alerts raised now (none for a rule that already alerted on this movement). A rule set to
    hold raises a plain alert here: the movement it would have held is past holding."""
    with transaction.atomic():
        _observation_save(observation)
        setup = selectors.monitoring_setup()
        raised = []
        for rule, finding in _findings(selectors.rules_for(setup, observation), observation, setup):
            alert = alert_raise(rule=rule, subject=finding.subject, event_key=event_key(observation),
                                evidence=_evidence(rule, observation, finding), livemode=observation.livemode)
            if alert is not None:
                raised.append(alert)
        return raised


def payment_hold_check(*, observation: Observation, hold_object_id: str) -> Alert | None:
    """Called by payments inside ``payment_create``'s transaction, before the payment is routed:
    records the payment's observation and evaluates the enabled rules set to hold that watch it
    (while no rule holds: one insert and one small query for the rules, no savepoint).

    Returns the alert holding ``("payments.payment", hold_object_id)`` until an officer releases or
    declines it (or its rule's ``hold_hours`` pass: declined), or None when no rule holds it.
    Further hold rules that trip raise their alerts without a second hold. Idempotent: called
    again for the same payment, it returns the same held alert and raises nothing."""
    key = event_key(observation)
    # No savepoint of its own: a failure here fails the caller's transaction, record and alerts alike.
    with transaction.atomic(savepoint=False):
        _observation_save(observation)
        setup = selectors.monitoring_setup()
        rules = selectors.rules_for(setup, observation, hold_only=True)
        if not rules:
            return None
        earlier = {alert.rule_id: alert for alert in Alert.objects.filter(rule__in=rules, event_key=key)}
        held = next((earlier[rule.pk] for rule in rules if rule.pk in earlier and earlier[rule.pk].hold_state), None)
        for rule, finding in _findings([rule for rule in rules if rule.pk not in earlier], observation, setup):
            hold = None if held else Hold("payments.payment", hold_object_id,
                                          clock.now() + timedelta(hours=rule.hold_hours))
            alert = alert_raise(rule=rule, subject=finding.subject, event_key=key, livemode=observation.livemode,
                                evidence=_evidence(rule, observation, finding), hold=hold)
            if hold is not None and alert is not None:
                held = alert
        return held


def event_monitor(*, event: Mapping[str, Any]) -> list[Alert]:
    """One of payments' outbox events (``data.object`` and ``data.merchant_id``): a payment's final
    outcome, a succeeded refund, a created payout. A failed payment is recorded as failed and
    evaluated by no rule: it moved no money."""
    event_type, data = event["type"], event["data"]
    obj, merchant_id = data["object"], data["merchant_id"]
    if event_type == "payments.payment_failed":
        _observation_save(observations.payment_observation(obj=obj, merchant_id=merchant_id), failed=True)
        return []
    if event_type in ("payments.payment_succeeded", "payments.payment_requires_capture"):
        observation = observations.payment_observation(obj=obj, merchant_id=merchant_id)
    elif event_type == "payments.refund_succeeded":
        observation = observations.refund_observation(obj=obj, merchant_id=merchant_id)
    elif event_type == "payments.payout_created":
        observation = observations.payout_observation(obj=obj, merchant_id=merchant_id)
    else:
        raise observations.UnreadableEvent(f"monitoring does not read {event_type}")
    return observation_evaluate(observation=observation)


MONITORED_EVENTS = ("payments.payment_succeeded", "payments.payment_requires_capture", "payments.payment_failed",
                    "payments.refund_succeeded", "payments.payout_created")


def _uuid7_time(value: UUID) -> datetime:
    """When a uuid7 was made (its first 48 bits: milliseconds since the epoch)."""
    return datetime.fromtimestamp((value.int >> 80) / 1000, tz=UTC)


def wallet_transfers_monitor(*, batch_size: int = 500, max_batches: int = 20) -> int:
    """Evaluate the merchants' wallet transfers the ledger committed since the last run (from beat).

    Reads by id (uuid7: by creation) from ``TRANSFERS_OVERLAP`` before the furthest id seen, so a
    transfer whose transaction committed after a later one's is still read; a transfer read twice
    is recorded and alerted on once (only those not yet recorded are evaluated). Returns how many
    transfers it evaluated; a backlog larger than ``batch_size * max_batches`` is left to the next run."""
    cursor = MonitoringCursor.objects.filter(name=TRANSFERS_CURSOR).first()
    furthest = cursor.last_id if cursor is not None else None
    position = ids.uuid7_floor((_uuid7_time(furthest) if furthest else clock.now()) - TRANSFERS_OVERLAP)
    evaluated = 0
    for _ in range(max_batches):
        transfers = ledger_selectors.wallet_transfers_after(after_id=position, limit=batch_size,
                                                            not_created_by=PAYMENTS_POSTINGS)
        if not transfers:
            break
        recorded = set(MonitoredEvent.objects.filter(
            source=observations.TRANSFER, source_id__in=[str(transfer.id) for transfer in transfers],
        ).values_list("source_id", flat=True))
        for transfer in transfers:
            if str(transfer.id) in recorded:
                continue
            observation_evaluate(observation=observations.transfer_observation(
                transfer_id=transfer.id, merchant_id=transfer.merchant_id, livemode=transfer.livemode,
                amount=transfer.amount, currency=transfer.currency, created_at=transfer.created_at,
                wallet_id=transfer.debit_account_id))
            evaluated += 1
        position = transfers[-1].id
        furthest = max(furthest, position) if furthest else position
        if len(transfers) < batch_size:
            break
    if furthest is not None:
        MonitoringCursor.objects.update_or_create(name=TRANSFERS_CURSOR,
                                                  defaults={"last_id": furthest, "updated_at": clock.now()})
    return evaluated


# --- backtests --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backtest:
    """What a rule would have raised over the last ``days``: alerts (one per movement it trips),
    on how many distinct subjects (the cases they would group into), out of how many movements."""

    days: int
    events: int
    alerts: int
    subjects: int

    def __str__(self) -> str:
        return (f"backtest over the last {self.days} days: {self.alerts} alerts on {self.subjects} subjects, "
                f"from {self.events} movements")


def rule_backtest(*, rule: MonitoringRule, days: int = BACKTEST_DAYS) -> Backtest:
    """Dry-run ``rule`` (saved or not, enabled or not) over the movements recorded in the last
    ``days`` (the most recent ``BACKTEST_LIMIT``), each evaluated on its window as it stood then.
    Writes nothing."""
    until = clock.now()
    events = list(selectors.events_between(since=until - timedelta(days=days), until=until)
                  .order_by("-occurred_at")[:BACKTEST_LIMIT])
    profiles: dict[Any, MerchantProfile | None] = {}
    setup = selectors.monitoring_setup()
    alerts, subjects = 0, set()
    for event in events:
        if event.failed or event.currency not in (rule.parameters or {}):
            continue
        if event.merchant_id not in profiles:
            profiles[event.merchant_id] = selectors.merchant_profile_get(event.merchant_id)
        if not selectors.in_scope(rule, event.merchant_id, profiles[event.merchant_id]):
            continue
        finding = rule_finding(rule, selectors.as_observation(event), setup)
        if finding is not None:
            alerts += 1
            subjects.add((finding.subject.type, finding.subject.id))
    return Backtest(days=days, events=len(events), alerts=alerts, subjects=len(subjects))


# --- maker-checker: rules ---------------------------------------------------------------------

_RULE_FIELDS = ("name", "kind", "description", "parameters", "severity", "action", "hold_hours", "enabled", "scope",
                "scope_risk_tier", "scope_merchant_id")


def _rule_from(arguments: Mapping[str, Any]) -> tuple[MonitoringRule, MonitoringRule | None]:
    """The rule as ``arguments`` would make it (unsaved), and the rule it changes (None: a new one).
    Raises InvalidRequest naming what is wrong."""
    problems = []
    missing = [name for name in _RULE_FIELDS if name not in arguments]
    if missing:
        raise approvals.InvalidRequest(f"Missing: {', '.join(missing)}.")
    current = None
    if arguments.get("rule_id") is not None:
        current = MonitoringRule.objects.filter(pk=arguments["rule_id"]).first() \
            if str(arguments["rule_id"]).isdigit() else None
        if current is None:
            raise approvals.InvalidRequest(f"There is no monitoring rule {arguments['rule_id']}.")
    name = str(arguments["name"]).strip()
    if not name or len(name) > 100:
        problems.append("A rule needs a name of at most 100 characters.")
    elif MonitoringRule.objects.filter(name=name).exclude(pk=current.pk if current else None).exists():
        problems.append(f"Another rule is named “{name}”.")
    if arguments["kind"] not in MonitoringRule.Kind.values:
        problems.append(f"Unknown kind {arguments['kind']!r}.")
    else:
        problems.extend(catalogue.parameters_problems(arguments["kind"], arguments["parameters"]))
    if arguments["severity"] not in ("low", "medium", "high", "critical"):
        problems.append(f"Unknown severity {arguments['severity']!r}.")
    if arguments["action"] not in MonitoringRule.Action.values:
        problems.append(f"Unknown action {arguments['action']!r}.")
    hold_hours = arguments["hold_hours"]
    if not isinstance(hold_hours, int) or isinstance(hold_hours, bool) or not 1 <= hold_hours <= 24 * 30:
        problems.append("Hold hours are a whole number from 1 to 720.")
    if not isinstance(arguments["enabled"], bool):
        problems.append("Enabled is true or false.")
    scope, tier, merchant = arguments["scope"], arguments["scope_risk_tier"] or "", arguments["scope_merchant_id"]
    if scope == MonitoringRule.Scope.ALL and (tier or merchant):
        problems.append("A rule for all merchants names no risk tier and no merchant.")
    elif scope == MonitoringRule.Scope.RISK_TIER and (tier not in RiskTier.values or merchant):
        problems.append("A rule for one risk tier names the tier (low, medium, high) and no merchant.")
    elif scope == MonitoringRule.Scope.MERCHANT:
        if tier or selectors.merchant_profile_get(_uuid_or_none(merchant)) is None:
            problems.append("A rule for one merchant names a merchant compliance knows, and no risk tier.")
    elif scope not in MonitoringRule.Scope.values:
        problems.append(f"Unknown scope {scope!r}.")
    if problems:
        raise approvals.InvalidRequest(" ".join(problems))
    rule = MonitoringRule(
        pk=current.pk if current else None, name=name, kind=arguments["kind"],
        description=str(arguments["description"]), parameters=dict(arguments["parameters"]),
        severity=arguments["severity"], action=arguments["action"], hold_hours=hold_hours,
        enabled=arguments["enabled"], scope=scope, scope_risk_tier=tier, scope_merchant_id=_uuid_or_none(merchant),
        version=current.version + 1 if current else 1,
    )
    return rule, current


def _uuid_or_none(value: Any) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


def monitoring_rule_describe(arguments: Mapping[str, Any]) -> Target:
    """The request's target as the checker reads it, with the proposed rule's backtest over the
    last ``BACKTEST_DAYS`` days. Raises InvalidRequest for a rule that cannot be."""
    rule, current = _rule_from(arguments)
    change = "new rule" if current is None else f"v{current.version} → v{rule.version}"
    label = f"Rule “{rule.name}” ({change}); {rule_backtest(rule=rule)}"
    return Target("compliance.monitoringrule", str(current.pk) if current else "new", label)


def _rule_state(rule: MonitoringRule) -> dict[str, Any]:
    state = {name: getattr(rule, name) for name in _RULE_FIELDS}
    return {**state, "scope_merchant_id": str(rule.scope_merchant_id) if rule.scope_merchant_id else None,
            "version": rule.version}


def monitoring_rule_set(*, actor: Actor, reason: str, rule_id: int | None = None, **fields: Any) -> str:
    """Create a rule, or change every field of one (its version goes up; alerts keep the version
    that raised them), journaled as ``monitoring_rule.created`` / ``.changed``. The approved
    request's service. Raises InvalidRequest (the rule cannot be as asked)."""
    with transaction.atomic():
        if rule_id is not None:
            MonitoringRule.objects.select_for_update().filter(pk=rule_id).first()
        rule, current = _rule_from({**fields, "rule_id": rule_id})
        before = _rule_state(current) if current else None
        rule.updated_at, rule.updated_by = clock.now(), actor.label[:200]
        try:
            with transaction.atomic():
                rule.save(force_insert=current is None, force_update=current is not None)
        except IntegrityError as clash:
            raise approvals.InvalidRequest(f"Another rule is named “{rule.name}”.") from clash
        audit_record(actor=actor, action="monitoring_rule.created" if current is None else "monitoring_rule.changed",
                     object_type="compliance.monitoringrule", object_id=str(rule.pk), before=before,
                     after=_rule_state(rule), reason=reason,
                     merchant_id=str(rule.scope_merchant_id) if rule.scope_merchant_id else "")
    return f"Rule “{rule.name}” is at version {rule.version}."


# --- maker-checker: risk tiers and jurisdictions -------------------------------------------------


def risk_tier_describe(arguments: Mapping[str, Any]) -> Target:
    """Raises InvalidRequest for an unknown merchant or tier, or the tier it already has."""
    profile = selectors.merchant_profile_get(_uuid_or_none(arguments.get("merchant_id")))
    if profile is None:
        raise approvals.InvalidRequest(f"Compliance knows no merchant {arguments.get('merchant_id')}.")
    tier = arguments.get("risk_tier")
    if tier not in RiskTier.values:
        raise approvals.InvalidRequest(f"Unknown risk tier {tier!r}: low, medium or high.")
    if tier == profile.risk_tier:
        raise approvals.InvalidRequest(f"{profile.legal_name} is already {profile.get_risk_tier_display()} risk.")
    label = f"{profile.legal_name}: {profile.get_risk_tier_display()} → {RiskTier(tier).label} risk"
    return Target("compliance.merchantprofile", str(profile.pk), label, str(profile.pk))


def risk_tier_set(*, merchant_id: str, risk_tier: str, actor: Actor, reason: str) -> str:
    """Set a merchant's risk tier (customer due diligence): the rules scoped to a tier follow it
    from the next movement. Journaled as ``merchant_profile.risk_tier_set``."""
    with transaction.atomic():
        risk_tier_describe({"merchant_id": merchant_id, "risk_tier": risk_tier})
        profile = MerchantProfile.objects.select_for_update().get(pk=merchant_id)
        before = {"risk_tier": profile.risk_tier}
        profile.risk_tier, profile.updated_at = risk_tier, clock.now()
        profile.save(update_fields=["risk_tier", "updated_at"])
        audit_record(actor=actor, action="merchant_profile.risk_tier_set", object_type="compliance.merchantprofile",
                     object_id=str(profile.pk), before=before, after={"risk_tier": risk_tier}, reason=reason,
                     merchant_id=str(profile.pk))
    return f"{profile.legal_name} is {profile.get_risk_tier_display()} risk."


def jurisdiction_describe(arguments: Mapping[str, Any]) -> Target:
    """``list`` empty takes the country off the lists. Raises InvalidRequest."""
    country, listed = arguments.get("country"), arguments.get("list")
    name = countries().get(country) if isinstance(country, str) else None
    if name is None:
        raise approvals.InvalidRequest(f"{country!r} is not an ISO country code.")
    current = HighRiskJurisdiction.objects.filter(country=country).first()
    if not listed:
        if current is None:
            raise approvals.InvalidRequest(f"{name} is on no list.")
        return Target("compliance.highriskjurisdiction", country, f"{name}: off {current.get_list_display()}")
    if listed not in HighRiskJurisdiction.List.values:
        raise approvals.InvalidRequest(f"Unknown list {listed!r}.")
    try:
        date.fromisoformat(str(arguments.get("published_on")))
    except ValueError as unreadable:
        raise approvals.InvalidRequest("The publication's date is YYYY-MM-DD.") from unreadable
    if not str(arguments.get("source") or "").strip():
        raise approvals.InvalidRequest("Say where the list was published (its source).")
    return Target("compliance.highriskjurisdiction", country, f"{name}: {HighRiskJurisdiction.List(listed).label}")


def high_risk_jurisdiction_set(*, country: str, list: str, actor: Actor, reason: str,
                               published_on: str = "", source: str = "") -> str:
    """Put ``country`` on a FATF list as published on ``published_on`` (``list`` empty: take it off),
    journaled as ``high_risk_jurisdiction.set`` / ``.removed``."""
    arguments = {"country": country, "list": list, "published_on": published_on, "source": source}
    with transaction.atomic():
        target = jurisdiction_describe(arguments)
        current = HighRiskJurisdiction.objects.select_for_update().filter(country=country).first()
        before = {"list": current.list, "published_on": current.published_on.isoformat(),
                  "source": current.source} if current else None
        if not list:
            current.delete()
            step, after = "removed", None
        else:
            HighRiskJurisdiction.objects.update_or_create(country=country, defaults={
                "name": countries()[country], "list": list, "published_on": date.fromisoformat(published_on),
                "source": source.strip()[:300], "updated_at": clock.now(), "updated_by": actor.label[:200]})
            step, after = "set", {"list": list, "published_on": published_on, "source": source.strip()}
        audit_record(actor=actor, action=f"high_risk_jurisdiction.{step}",
                     object_type="compliance.highriskjurisdiction", object_id=country, before=before, after=after,
                     reason=reason)
    return f"{target.label}."

