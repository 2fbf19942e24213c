"""The ledger's invariants, in PostgreSQL, so they hold for every writer, raw SQL included.

Already in 0001 (constraints): amount > 0; debit account <> credit account; balances never
negative; no-overdraft rules (a wallet's debits, holds included, never exceed its credits);
one resolution per pending transfer; one reversal per transfer; client ids unique.

Added here:
- a transfer and both its accounts share one currency and one mode, live or test (composite
  foreign keys);
- a post, void or expiry has the same accounts as its pending transfer, and a reversal the
  mirrored accounts of what it reverses (composite foreign keys);
- transfers and entries are append-only; accounts are never deleted;
- an account's identity and overdraft rule never change, and a frozen or closed account takes
  no new transfer (only a hold may end on it).
"""

from django.db import migrations

FORWARD = """
ALTER TABLE ledger_transfer
    ADD CONSTRAINT transfer_debit_account_currency FOREIGN KEY (debit_account_id, currency, livemode)
        REFERENCES ledger_account (id, currency, livemode),
    ADD CONSTRAINT transfer_credit_account_currency FOREIGN KEY (credit_account_id, currency, livemode)
        REFERENCES ledger_account (id, currency, livemode),
    ADD CONSTRAINT transfer_resolution_same_accounts
        FOREIGN KEY (pending_id, debit_account_id, credit_account_id)
        REFERENCES ledger_transfer (id, debit_account_id, credit_account_id),
    ADD CONSTRAINT transfer_reversal_mirrors_accounts
        FOREIGN KEY (reverses_id, credit_account_id, debit_account_id)
        REFERENCES ledger_transfer (id, debit_account_id, credit_account_id);

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused (correct with a reversing transfer)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER ledger_transfer_append_only BEFORE UPDATE OR DELETE ON ledger_transfer
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_account_never_deleted BEFORE DELETE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE FUNCTION ledger_account_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.currency <> OLD.currency OR NEW.livemode <> OLD.livemode
       OR NEW.owner_type <> OLD.owner_type
       OR NEW.merchant_id IS DISTINCT FROM OLD.merchant_id OR NEW.code <> OLD.code
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

CREATE TRIGGER ledger_account_guard BEFORE UPDATE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_guard();
"""

BACKWARD = """
DROP TRIGGER ledger_account_guard ON ledger_account;
DROP FUNCTION ledger_account_guard();
DROP TRIGGER ledger_account_never_deleted ON ledger_account;
DROP TRIGGER ledger_entry_append_only ON ledger_entry;
DROP TRIGGER ledger_transfer_append_only ON ledger_transfer;
DROP FUNCTION ledger_refuse_change();
ALTER TABLE ledger_transfer
    DROP CONSTRAINT transfer_reversal_mirrors_accounts,
    DROP CONSTRAINT transfer_resolution_same_accounts,
    DROP CONSTRAINT transfer_credit_account_currency,
    DROP CONSTRAINT transfer_debit_account_currency;
"""

class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
