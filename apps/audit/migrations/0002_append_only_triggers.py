"""The journal's invariants, in PostgreSQL, so they hold for raw SQL too.

- audit_auditevent and audit_auditseal refuse UPDATE and DELETE.
- Every new audit_auditevent row is queued in audit_pendingseal for the sealer, however it
  was inserted.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_seal_append_only BEFORE UPDATE OR DELETE ON audit_auditseal
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();

CREATE FUNCTION audit_queue_for_seal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_pendingseal (event_id) VALUES (NEW.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_event_queue_for_seal AFTER INSERT ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_queue_for_seal();
"""

BACKWARD = """
DROP TRIGGER audit_event_queue_for_seal ON audit_auditevent;
DROP FUNCTION audit_queue_for_seal();
DROP TRIGGER audit_seal_append_only ON audit_auditseal;
DROP TRIGGER audit_event_append_only ON audit_auditevent;
DROP FUNCTION audit_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
