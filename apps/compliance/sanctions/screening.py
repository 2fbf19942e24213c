"""Screening names against the current version of each sanctions list: merchants (at onboarding,
on a change of name, and all of them after each import) and payout beneficiaries before the money
leaves.

Each version's names are normalised once per process and kept (``_index_for``: versions never
change, so the cache keyed by version id is never stale); a screen is then a few milliseconds.
Every hit is recorded (``ScreeningHit``: the version, the entry, the score, the matched fields),
once per version, entry and subject. Hits the subject's allow-list does not clear raise the
enabled ``sanctions_hit`` rule's alert (none is raised if officers disabled it); a payout's alert
holds the payout when the rule's action is hold.
"""

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction

from apps.compliance.alerts.services import alert_raise
from apps.compliance.data import Hold, Subject, SubjectType
from apps.compliance.models import (
    Alert,
    MerchantProfile,
    MonitoringRule,
    SanctionsAllowListEntry,
    SanctionsEntry,
    SanctionsListVersion,
    SanctionsRescreen,
    ScreeningHit,
)
from apps.compliance.sanctions.matching import IndexedEntry, ListIndex
from apps.core import clock
from apps.events.outbox.services import outbox_enqueue

RESCREEN_TASK = "compliance.sanctions_rescreen"
RESCREEN_CHUNK = 200
PAYOUT_HOLD = "payments.payout"
_CACHED_VERSIONS = 6


@dataclass(frozen=True, slots=True)
class _VersionIndex:
    index: ListIndex
    entry_ids: list[UUID]


_INDEXES: "OrderedDict[UUID, _VersionIndex]" = OrderedDict()


def _index_for(version: SanctionsListVersion) -> _VersionIndex:
    """``version``'s names, normalised: built on first use in this process, then kept."""
    cached = _INDEXES.get(version.pk)
    if cached is not None:
        _INDEXES.move_to_end(version.pk)
        return cached
    entry_ids, indexed = [], []
    for entry_id, name, aliases, identifiers in (SanctionsEntry.objects.filter(version=version).order_by("pk")
                                                 .values_list("pk", "name", "aliases", "identifiers")):
        entry_ids.append(entry_id)
        indexed.append(IndexedEntry(names=(name, *aliases),
                                    identifiers=tuple((item["kind"], item["number"]) for item in identifiers)))
    built = _VersionIndex(ListIndex(indexed), entry_ids)
    _INDEXES[version.pk] = built
    while len(_INDEXES) > _CACHED_VERSIONS:
        _INDEXES.popitem(last=False)
    return built


def current_versions() -> list[SanctionsListVersion]:
    """The latest version of each list that has one."""
    return list(SanctionsListVersion.objects.select_related("sanctions_list")
                .order_by("sanctions_list_id", "-number").distinct("sanctions_list_id"))


@dataclass(frozen=True, slots=True)
class NameHit:
    """One entry a name matched: in which version, how well, and on what."""

    version: SanctionsListVersion
    entry_id: UUID
    score: float
    matched_fields: tuple[dict[str, Any], ...]


def name_screen(*, name: str, identifiers: Iterable[str] = (),
                versions: Sequence[SanctionsListVersion] | None = None) -> list[NameHit]:
    """The entries ``name`` (or one of ``identifiers``, scored 100) matches at each list's threshold,
    in ``versions`` (the current version of every list by default), best first. Writes nothing."""
    identifiers = tuple(identifiers)
    hits = []
    for version in current_versions() if versions is None else versions:
        cached = _index_for(version)
        for candidate in cached.index.screen(name, threshold=version.sanctions_list.threshold,
                                             identifiers=identifiers):
            hits.append(NameHit(version, cached.entry_ids[candidate.entry], candidate.score,
                                candidate.matched_fields))
    return sorted(hits, key=lambda hit: -hit.score)


def sanctions_rule() -> MonitoringRule | None:
    """The enabled rule sanctions hits raise alerts under ("Sanctions list match")."""
    return MonitoringRule.objects.filter(kind=MonitoringRule.Kind.SANCTIONS_HIT, enabled=True).order_by("name").first()


def _hit_record(subject: Subject, occasion: str, screened_name: str, found: NameHit,
                allowed: dict[tuple[int, str], SanctionsAllowListEntry]) -> ScreeningHit:
    existing = (ScreeningHit.objects.select_related("entry", "version__sanctions_list")
                .filter(version=found.version, entry_id=found.entry_id, subject_type=subject.type,
                        subject_id=subject.id).first())
    if existing is not None:
        return existing
    entry = SanctionsEntry.objects.get(pk=found.entry_id)
    hit = ScreeningHit(
        version=found.version, entry=entry, subject_type=subject.type, subject_id=subject.id,
        subject_label=subject.label[:255], merchant_id=subject.merchant_id, occasion=occasion,
        screened_name=screened_name[:500], score=round(found.score, 1), matched_fields=list(found.matched_fields),
        screened_at=clock.now(), allow_listed_by=allowed.get((found.version.sanctions_list_id, entry.reference)),
    )
    try:
        with transaction.atomic():
            hit.save(force_insert=True)
    except IntegrityError:  # the same screen ran concurrently: keep its row
        return ScreeningHit.objects.select_related("entry", "version__sanctions_list").get(
            version=found.version, entry_id=found.entry_id, subject_type=subject.type, subject_id=subject.id)
    return hit


def _allow_list(subject: Subject) -> dict[tuple[int, str], SanctionsAllowListEntry]:
    return {(allowed.sanctions_list_id, allowed.entry_reference): allowed
            for allowed in SanctionsAllowListEntry.objects.filter(
                subject_type=subject.type, subject_id=subject.id, expires_at__gt=clock.now())}


def _evidence(screened_name: str, occasion: str, hits: Sequence[ScreeningHit]) -> dict[str, Any]:
    return {"screened_name": screened_name, "occasion": occasion, "hits": [
        {"hit": str(hit.pk), "list": hit.version.sanctions_list.source, "version": hit.version.number,
         "entry_reference": hit.entry.reference, "entry_name": hit.entry.name, "score": float(hit.score),
         "matched_fields": hit.matched_fields} for hit in hits]}


def _screen_and_alert(*, subject: Subject, screened_name: str, identifiers: Iterable[str], occasion: str,
                      event_key: str, livemode: bool, versions: Sequence[SanctionsListVersion] | None = None,
                      hold_object_id: str | None = None) -> tuple[list[ScreeningHit], Alert | None]:
    found = name_screen(name=screened_name, identifiers=identifiers, versions=versions)
    if not found:
        return [], None
    with transaction.atomic():
        allowed = _allow_list(subject)
        hits = [_hit_record(subject, occasion, screened_name, item, allowed) for item in found]
        alerting = [hit for hit in hits if (hit.version.sanctions_list_id, hit.entry.reference) not in allowed]
        rule = sanctions_rule()
        if not alerting or rule is None:
            return hits, None
        # One alert per subject, name and set of entries hit: screening again raises nothing new.
        digest = hashlib.sha256("|".join([screened_name, *sorted(str(hit.entry_id) for hit in alerting)])
                                .encode()).hexdigest()[:16]
        key = f"{event_key}:{digest}" if hold_object_id is None else event_key
        hold = None
        if hold_object_id is not None and rule.action == MonitoringRule.Action.HOLD:
            hold = Hold(PAYOUT_HOLD, hold_object_id, clock.now() + timedelta(hours=rule.hold_hours))
        alert = alert_raise(rule=rule, subject=subject, event_key=key, livemode=livemode, hold=hold,
                            evidence=_evidence(screened_name, occasion, alerting))
        if alert is None:
            alert = Alert.objects.get(rule=rule, event_key=key[:200])
        unalerted = [hit for hit in alerting if hit.alert_id is None]
        ScreeningHit.objects.filter(pk__in=[hit.pk for hit in unalerted]).update(alert=alert)
        for hit in unalerted:
            hit.alert = alert
    return hits, alert


def merchant_screen(*, merchant_id: UUID, occasion: str = ScreeningHit.Occasion.ONBOARDING,
                    versions: Sequence[SanctionsListVersion] | None = None) -> list[ScreeningHit]:
    """Screen a merchant's legal name against ``versions`` (the current version of each list by
    default); its hits not allow-listed raise the sanctions rule's alert about the merchant.
    Returns every hit, allow-listed or not; none for a merchant compliance does not know."""
    profile = MerchantProfile.objects.filter(merchant_id=merchant_id).first()
    if profile is None:
        return []
    subject = Subject(SubjectType.MERCHANT, str(profile.merchant_id), profile.legal_name, profile.merchant_id)
    hits, _ = _screen_and_alert(subject=subject, screened_name=profile.legal_name, identifiers=(), occasion=occasion,
                                event_key=f"sanctions:merchant:{profile.merchant_id}", livemode=True,
                                versions=versions)
    return hits


def payout_beneficiary_screen(*, payout_id: str, beneficiary_name: str, merchant_id: UUID | None, livemode: bool,
                              iban: str = "", identifiers: Sequence[str] = ()) -> Alert | None:
    """Screen a payout's beneficiary before the money leaves, in the caller's transaction (payments
    calls it where it creates the payout). Returns the alert that holds the payout (the caller
    keeps it from leaving until an officer releases it), or None: the payout may go. Calling it
    again for the same payout returns the same alert and raises nothing new."""
    subject = Subject(SubjectType.COUNTERPARTY, iban or f"name:{beneficiary_name.casefold()}"[:100],
                      beneficiary_name, merchant_id)
    _, alert = _screen_and_alert(subject=subject, screened_name=beneficiary_name, identifiers=identifiers,
                                 occasion=ScreeningHit.Occasion.PAYOUT, event_key=f"sanctions:payout:{payout_id}",
                                 livemode=livemode, hold_object_id=payout_id)
    if alert is None or alert.hold_state != Alert.HoldState.HELD:
        return None
    return alert


def rescreen_chunk(*, rescreen_id: UUID, size: int = RESCREEN_CHUNK) -> SanctionsRescreen:
    """Screen the next ``size`` merchants (in id order after the last one screened) against the
    rescreen's version, record the progress, and schedule the next chunk through the outbox in
    the same transaction, so a worker lost mid-way resumes from the last committed chunk."""
    with transaction.atomic():
        rescreen = (SanctionsRescreen.objects.select_for_update().select_related("version__sanctions_list")
                    .get(pk=rescreen_id))
        if rescreen.finished_at is not None:
            return rescreen
        merchants = MerchantProfile.objects.order_by("merchant_id")
        if rescreen.cursor is not None:
            merchants = merchants.filter(merchant_id__gt=rescreen.cursor)
        chunk = list(merchants.values_list("merchant_id", flat=True)[:size])
        for merchant_id in chunk:
            rescreen.hits += len(merchant_screen(merchant_id=merchant_id, occasion=ScreeningHit.Occasion.LIST_UPDATE,
                                                 versions=[rescreen.version]))
        rescreen.screened += len(chunk)
        rescreen.total = max(rescreen.total, rescreen.screened)  # merchants onboarded meanwhile
        rescreen.cursor = chunk[-1] if chunk else rescreen.cursor
        if len(chunk) < size:
            rescreen.finished_at = clock.now()
        else:
            outbox_enqueue(task=RESCREEN_TASK, kwargs={"rescreen_id": str(rescreen.pk)}, queue="compliance")
        rescreen.save(update_fields=["hits", "screened", "total", "cursor", "finished_at"])
    return rescreen
