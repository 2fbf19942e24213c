"""Bank accounts are history: what an account says (merchant, currency, IBAN, BIC, beneficiary, when
it was made and its hold) never changes and no row is deleted, whatever writes to the table; only
its status moves, once, from active to replaced. Every role sees them; compliance officers request
setting or changing one (a compliance supervisor approves). The roles are made in ops 0001."""

from django.db import migrations

from apps.core.roles import role_permissions_grant

FORWARD = """
CREATE FUNCTION merchants_bank_account_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'bank account %: bank accounts are kept (replace one instead)', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.id <> OLD.id OR NEW.merchant_id <> OLD.merchant_id OR NEW.currency <> OLD.currency
       OR NEW.iban <> OLD.iban OR NEW.bic <> OLD.bic OR NEW.beneficiary_name <> OLD.beneficiary_name
       OR NEW.created_at <> OLD.created_at OR NEW.created_by <> OLD.created_by
       OR NEW.payouts_held_until <> OLD.payouts_held_until THEN
        RAISE EXCEPTION 'bank account %: its details never change (set a new account instead)', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status = 'replaced' AND (NEW.status <> OLD.status OR NEW.replaced_at IS DISTINCT FROM OLD.replaced_at) THEN
        RAISE EXCEPTION 'bank account %: a replaced account stays replaced', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER merchants_bank_account_guard BEFORE UPDATE OR DELETE ON merchants_bankaccount
    FOR EACH ROW EXECUTE FUNCTION merchants_bank_account_guard();
"""

BACKWARD = """
DROP TRIGGER merchants_bank_account_guard ON merchants_bankaccount;
DROP FUNCTION merchants_bank_account_guard();
"""

VIEWS = ["merchants.view_bankaccount"]
GRANTS = {
    "Compliance officer": [*VIEWS, "merchants.request_bank_account_change"],
    "Compliance supervisor": VIEWS,
    "Treasury operator": VIEWS,
    "Support (read-only)": VIEWS,
}


class Migration(migrations.Migration):
    dependencies = [("merchants", "0002_bank_accounts"), ("ops", "0001_staff_roles")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD), role_permissions_grant("merchants", GRANTS)]
