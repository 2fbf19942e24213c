"""Accounts are named by role in postings (apps.ledger.data.CHART), so a role's identity must
hold in PostgreSQL too:

- an account's role decides its owner (a merchant's pending account is a merchant's, a
  connector's clearing account is fincore's own);
- a system account's ``name`` (which connector, which bank account) is part of its identity
  and, like the rest of it, never changes: the guard of 0002 now covers it.
"""

from django.db import migrations, models

GUARD = """
CREATE OR REPLACE FUNCTION ledger_account_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.currency <> OLD.currency OR NEW.livemode <> OLD.livemode
       OR NEW.owner_type <> OLD.owner_type
       OR NEW.merchant_id IS DISTINCT FROM OLD.merchant_id OR NEW.code <> OLD.code{name}
       OR NEW.debits_must_not_exceed_credits <> OLD.debits_must_not_exceed_credits
       OR NEW.credits_must_not_exceed_debits <> OLD.credits_must_not_exceed_debits THEN
        RAISE EXCEPTION 'ledger account %: its identity and overdraft rule never change', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.frozen OR NEW.closed)
       AND (NEW.debits_posted <> OLD.debits_posted OR NEW.credits_posted <> OLD.credits_posted
            OR NEW.debits_pending > OLD.debits_pending OR NEW.credits_pending > OLD.credits_pending) THEN
        RAISE EXCEPTION 'ledger account % is frozen or closed: it takes no new transfers', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0006_expiry_watermark")]

    operations = [
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("code__in", ["wallet", "funding"]), ("owner_type", "customer")),
                    models.Q(("code__in", ["merchant_pending", "merchant_available", "merchant_reserve"]),
                             ("owner_type", "merchant")),
                    models.Q(("code__in", ["connector_clearing", "nostro", "payouts_in_transit", "fee_revenue",
                                           "fx_position", "suspense"]), ("owner_type", "system")),
                    _connector="OR",
                ),
                name="account_owner_of_role",
            ),
        ),
        migrations.RunSQL(GUARD.format(name=" OR NEW.name <> OLD.name"), GUARD.format(name="")),
    ]
