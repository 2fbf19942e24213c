"""Double entry, in PostgreSQL: debits and credits only ever change together.

- Every statement that changes account balances keeps each currency (and mode) balanced: the
  debits it adds equal the credits it adds, pending and posted alike. One check per statement,
  over its transition tables: the engine's single UPDATE per batch pays it once.
- A new account starts at zero.
- Every statement that writes entries writes both sides of each transfer, with equal changes.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION ledger_balances_stay_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced record;
BEGIN
    SELECT n.currency, n.livemode INTO unbalanced
    FROM new_accounts n JOIN old_accounts o ON o.id = n.id
    GROUP BY n.currency, n.livemode
    HAVING SUM((n.debits_posted - o.debits_posted) - (n.credits_posted - o.credits_posted)) <> 0
        OR SUM((n.debits_pending - o.debits_pending) - (n.credits_pending - o.credits_pending)) <> 0
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: % (%) would no longer balance; debits and credits change together',
            unbalanced.currency, CASE WHEN unbalanced.livemode THEN 'live' ELSE 'test' END
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER ledger_account_balanced AFTER UPDATE ON ledger_account
    REFERENCING OLD TABLE AS old_accounts NEW TABLE AS new_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_balances_stay_balanced();

CREATE FUNCTION ledger_account_starts_at_zero() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.debits_pending <> 0 OR NEW.debits_posted <> 0 OR NEW.credits_pending <> 0 OR NEW.credits_posted <> 0 THEN
        RAISE EXCEPTION 'ledger account %: a new account starts at zero; money arrives by transfer', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER ledger_account_starts_at_zero BEFORE INSERT ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_starts_at_zero();

CREATE FUNCTION ledger_entries_in_pairs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    lonely uuid;
BEGIN
    SELECT transfer_id INTO lonely FROM new_entries GROUP BY transfer_id
    HAVING COUNT(*) <> 2 OR COUNT(*) FILTER (WHERE side = 'D') <> 1
        OR MIN(pending_change) <> MAX(pending_change) OR MIN(posted_change) <> MAX(posted_change)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transfer %: its debit and credit entries are written together, with equal changes',
            lonely USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER ledger_entries_in_pairs AFTER INSERT ON ledger_entry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_in_pairs();
"""

BACKWARD = """
DROP TRIGGER ledger_entries_in_pairs ON ledger_entry;
DROP FUNCTION ledger_entries_in_pairs();
DROP TRIGGER ledger_account_starts_at_zero ON ledger_account;
DROP FUNCTION ledger_account_starts_at_zero();
DROP TRIGGER ledger_account_balanced ON ledger_account;
DROP FUNCTION ledger_balances_stay_balanced();
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_periodic_tasks")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
