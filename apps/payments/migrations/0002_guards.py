"""Guards no ORM call can bypass: a payment's identity (who, which mode, how much, in what
currency, by which method) never changes, and payments, attempts, captures and refunds are never
deleted (a mistake is corrected by a new state, journaled)."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION payments_payment_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.merchant_id <> OLD.merchant_id OR NEW.livemode <> OLD.livemode
       OR NEW.amount <> OLD.amount OR NEW.currency <> OLD.currency OR NEW.method <> OLD.method
       OR NEW.capture_method <> OLD.capture_method THEN
        RAISE EXCEPTION 'payment %: its merchant, mode, amount, currency and method never change', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status IN ('succeeded', 'failed', 'canceled') AND NEW.status <> OLD.status THEN
        RAISE EXCEPTION 'payment %: % is final', OLD.id, OLD.status USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.amount_captured < OLD.amount_captured OR NEW.amount_refunded < OLD.amount_refunded THEN
        RAISE EXCEPTION 'payment %: captured and refunded amounts only grow', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER payments_payment_guard BEFORE UPDATE ON payments_payment
    FOR EACH ROW EXECUTE FUNCTION payments_payment_guard();

CREATE FUNCTION payments_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payments history is kept: DELETE on % refused', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER payments_payment_kept BEFORE DELETE ON payments_payment
    FOR EACH ROW EXECUTE FUNCTION payments_refuse_delete();
CREATE TRIGGER payments_attempt_kept BEFORE DELETE ON payments_paymentattempt
    FOR EACH ROW EXECUTE FUNCTION payments_refuse_delete();
CREATE TRIGGER payments_capture_kept BEFORE DELETE ON payments_capture
    FOR EACH ROW EXECUTE FUNCTION payments_refuse_delete();
CREATE TRIGGER payments_refund_kept BEFORE DELETE ON payments_refund
    FOR EACH ROW EXECUTE FUNCTION payments_refuse_delete();
"""

BACKWARD = """
DROP TRIGGER payments_refund_kept ON payments_refund;
DROP TRIGGER payments_capture_kept ON payments_capture;
DROP TRIGGER payments_attempt_kept ON payments_paymentattempt;
DROP TRIGGER payments_payment_kept ON payments_payment;
DROP FUNCTION payments_refuse_delete();
DROP TRIGGER payments_payment_guard ON payments_payment;
DROP FUNCTION payments_payment_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
