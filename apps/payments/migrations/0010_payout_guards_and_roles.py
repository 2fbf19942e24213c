"""Guards no ORM call can bypass: what a payout pays (merchant, mode, amount, currency, the bank
account copied in, its ids) never changes, it only moves forward (paid only to returned; failed
and returned are final) and no payout is deleted. Every role sees payouts; treasury operators
request releasing one that needs approval (a compliance supervisor approves). The roles are made
in ops 0001."""

from django.db import migrations

from apps.core.roles import role_permissions_grant

FORWARD = """
CREATE FUNCTION payments_payout_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.merchant_id <> OLD.merchant_id OR NEW.livemode <> OLD.livemode
       OR NEW.amount <> OLD.amount OR NEW.currency <> OLD.currency OR NEW.bank_account_id <> OLD.bank_account_id
       OR NEW.iban <> OLD.iban OR NEW.bic <> OLD.bic OR NEW.beneficiary_name <> OLD.beneficiary_name
       OR NEW.end_to_end_id <> OLD.end_to_end_id OR NEW.settlement_reference <> OLD.settlement_reference
       OR NEW.hold_until <> OLD.hold_until OR NEW.hold_transfer_id <> OLD.hold_transfer_id
       OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'payout %: what it pays, to whom, and its ids never change', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.status <> OLD.status AND NOT (
        (OLD.status = 'pending' AND NEW.status IN ('in_transit', 'failed'))
        OR (OLD.status = 'in_transit' AND NEW.status IN ('paid', 'failed'))
        OR (OLD.status = 'paid' AND NEW.status = 'returned')) THEN
        RAISE EXCEPTION 'payout %: % cannot become %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER payments_payout_guard BEFORE UPDATE ON payments_payout
    FOR EACH ROW EXECUTE FUNCTION payments_payout_guard();
CREATE TRIGGER payments_payout_kept BEFORE DELETE ON payments_payout
    FOR EACH ROW EXECUTE FUNCTION payments_refuse_delete();
"""

BACKWARD = """
DROP TRIGGER payments_payout_kept ON payments_payout;
DROP TRIGGER payments_payout_guard ON payments_payout;
DROP FUNCTION payments_payout_guard();
"""

VIEWS = ["payments.view_payout"]
GRANTS = {
    "Compliance officer": VIEWS,
    "Compliance supervisor": VIEWS,
    "Treasury operator": [*VIEWS, "payments.request_payout_release"],
    "Support (read-only)": VIEWS,
}


class Migration(migrations.Migration):
    dependencies = [("payments", "0009_payouts"), ("ops", "0001_staff_roles")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD), role_permissions_grant("payments", GRANTS)]
