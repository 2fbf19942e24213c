"""Matching rules change through maker-checker: a treasury operator asks (after a dry run), a
supervisor approves, and the approved request's service creates the rule or changes it (its
version goes up; matches keep the version that made them), journaled with who, what and why.

The checker reads the request's target label, which carries the dry run of the rule as asked
(what it would match now, on the lines still unmatched)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from apps.audit.services import audit_record
from apps.compliance.data import Target
from apps.core import clock
from apps.core.actors import Actor
from apps.reconciliation.matching.criteria import MatchingRuleInvalid, criteria_label, criteria_parse
from apps.reconciliation.models import BankStatementLine, Expectation, MatchingRule
from apps.reconciliation.services.matching import MatchingReport, matching_run

RULE_CREATE = "reconciliation.matching_rule_create"
RULE_CHANGE = "reconciliation.matching_rule_change"
_FIELDS = ("name", "priority", "cardinality", "criteria", "enabled", "description")


def _state(rule: MatchingRule) -> dict[str, Any]:
    return {**{name: getattr(rule, name) for name in _FIELDS}, "version": rule.version}


def matching_rule_from(arguments: Mapping[str, Any]) -> tuple[MatchingRule, MatchingRule | None]:
    """The rule as the arguments ask for it (unsaved), and the current one it changes, if any.
    Raises MatchingRuleInvalid."""
    rule_id = arguments.get("rule_id")
    current = None
    if rule_id:
        current = MatchingRule.objects.filter(pk=rule_id).first()
        if current is None:
            raise MatchingRuleInvalid(f"There is no matching rule {rule_id}.")
    name = str(arguments.get("name") or "").strip()
    if not name or len(name) > 100:
        raise MatchingRuleInvalid("A rule needs a name of at most 100 characters.")
    priority = arguments.get("priority")
    if isinstance(priority, bool) or not isinstance(priority, int) or priority < 1:
        raise MatchingRuleInvalid(f"A rule's priority is a whole number ≥ 1 (lower runs first), not {priority!r}.")
    cardinality = arguments.get("cardinality", "one_to_one")
    criteria = criteria_parse(arguments.get("criteria"), cardinality=cardinality)
    clash = MatchingRule.objects.filter(priority=priority).exclude(pk=current.pk if current else None).first()
    if clash is not None:
        raise MatchingRuleInvalid(f"Priority {priority} is rule “{clash.name}”'s: choose another.")
    named = MatchingRule.objects.filter(name=name).exclude(pk=current.pk if current else None).first()
    if named is not None:
        raise MatchingRuleInvalid(f"There is a rule named “{name}” already.")
    now = clock.now()
    rule = MatchingRule(
        name=name, priority=priority, cardinality=cardinality,
        criteria=[criterion.as_json() for criterion in criteria], enabled=bool(arguments.get("enabled")),
        description=str(arguments.get("description") or ""), version=current.version + 1 if current else 1,
        created_at=current.created_at if current else now, changed_at=now)
    if current is not None:
        rule.pk = current.pk
    return rule, current


def matching_rule_describe(arguments: Mapping[str, Any]) -> Target:
    """The request's target as the checker reads it, with the rule's dry run over every nostro's
    unmatched lines. Raises MatchingRuleInvalid."""
    rule, current = matching_rule_from(arguments)
    change = "new rule" if current is None else f"v{current.version} → v{rule.version}"
    state = "enabled" if rule.enabled else "disabled"
    report = matching_run(rule=rule, dry_run=True, actor=Actor.system("reconciliation.matching_rule_describe"),
                          sample_size=0)
    label = (f"Rule “{rule.name}” ({change}, priority {rule.priority}, {rule.get_cardinality_display().lower()}, "
             f"{state}: {criteria_label(criteria_parse(rule.criteria, cardinality=rule.cardinality))}); dry run "
             f"now: {report.label()}")
    return Target("reconciliation.matchingrule", str(current.pk) if current else "new", label)


@dataclass(frozen=True, slots=True)
class DryRunMatch:
    """One match of a dry run's sample, with its statement lines and expectations as read."""

    rule: str
    lines: tuple[BankStatementLine, ...]
    expectations: tuple[Expectation, ...]


@dataclass(frozen=True, slots=True)
class DryRun:
    rule: MatchingRule
    report: MatchingReport
    sample: tuple[DryRunMatch, ...]


def matching_rule_dry_run(*, actor: Actor, arguments: Mapping[str, Any] | None = None,
                          rule: MatchingRule | None = None, nostro_code: str | None = None,
                          sample_size: int = 10) -> DryRun:
    """What ``rule`` (saved), or the rule ``arguments`` ask for (built unsaved, never saved), would
    match now among the unmatched lines of ``nostro_code`` (or of every nostro), alone and whether
    enabled or not, with a sample of its matches. Writes nothing. Raises MatchingRuleInvalid."""
    if rule is None:
        rule, _ = matching_rule_from(arguments or {})
    report = matching_run(rule=rule, nostro_code=nostro_code or None, dry_run=True, actor=actor,
                          sample_size=sample_size)
    line_ids = {line_id for match in report.sample for line_id in match.line_ids}
    expectation_ids = {expectation_id for match in report.sample for expectation_id in match.expectation_ids}
    lines = BankStatementLine.objects.select_related("statement").in_bulk(line_ids)
    expectations = Expectation.objects.in_bulk(expectation_ids)
    sample = tuple(DryRunMatch(match.rule, tuple(lines[each] for each in match.line_ids if each in lines),
                               tuple(expectations[each] for each in match.expectation_ids if each in expectations))
                   for match in report.sample)
    return DryRun(rule, report, sample)


def matching_rule_set(*, actor: Actor, reason: str, rule_id: str | None = None, **fields: Any) -> str:
    """Create a rule, or change every field of one (its version goes up), journaled as
    ``reconciliation.matching_rule_created`` / ``_changed``. The approved request's service.
    Raises MatchingRuleInvalid."""
    with transaction.atomic():
        if rule_id:
            MatchingRule.objects.select_for_update().filter(pk=rule_id).first()
        rule, current = matching_rule_from({**fields, "rule_id": rule_id})
        try:
            with transaction.atomic():
                rule.save(force_insert=current is None, force_update=current is not None)
        except IntegrityError:
            raise MatchingRuleInvalid("Another rule has this name or priority.") from None
        audit_record(actor=actor, action="reconciliation.matching_rule_" + ("changed" if current else "created"),
                     object_type="reconciliation.matchingrule", object_id=str(rule.pk),
                     before=_state(current) if current else None, after=_state(rule), reason=reason)
    return f"{rule.name} v{rule.version}"


def matching_rule_create(*, actor: Actor, reason: str, **fields: Any) -> str:
    fields.pop("rule_id", None)
    return matching_rule_set(actor=actor, reason=reason, **fields)


def matching_rule_change(*, actor: Actor, reason: str, rule_id: str, **fields: Any) -> str:
    if not rule_id:
        raise MatchingRuleInvalid("Name the rule to change.")
    return matching_rule_set(actor=actor, reason=reason, rule_id=rule_id, **fields)
