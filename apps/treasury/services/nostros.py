"""Writes of treasury."""

from django.db import transaction

from apps.audit.services import audit_record
from apps.core.actors import Actor
from apps.treasury.data import Nostro
from apps.treasury.models import NostroAccount


def nostro_account_ensure(*, nostro: Nostro, pays_out: bool, actor: Actor, reason: str) -> bool:
    """Record fincore's bank account ``nostro`` if it is not yet (found by its code); returns whether
    it was created. An existing account is left as it is: changing one is a person's act in the admin."""
    with transaction.atomic():
        account, created = NostroAccount.objects.get_or_create(code=nostro.code, defaults={
            "currency": nostro.currency, "bank_name": nostro.bank_name, "bic": nostro.bic, "iban": nostro.iban,
            "account_name": nostro.account_name, "pays_out": pays_out})
        if created:
            audit_record(actor=actor, action="treasury.nostro_account_created", object_type="treasury.nostroaccount",
                         object_id=str(account.pk), after={"code": nostro.code, "currency": nostro.currency,
                                                           "iban": nostro.iban, "pays_out": pays_out}, reason=reason)
    return created
