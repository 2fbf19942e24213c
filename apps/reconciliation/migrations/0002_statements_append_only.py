"""The database refuses to change or delete an imported statement or any of its lines: they are
the bank's word, append-only whatever the code does."""

from django.db import migrations

APPEND_ONLY = """
CREATE FUNCTION reconciliation_statement_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER reconciliation_bankstatement_append_only BEFORE UPDATE OR DELETE ON reconciliation_bankstatement
    FOR EACH ROW EXECUTE FUNCTION reconciliation_statement_append_only();
CREATE TRIGGER reconciliation_bankstatementline_append_only BEFORE UPDATE OR DELETE
    ON reconciliation_bankstatementline FOR EACH ROW EXECUTE FUNCTION reconciliation_statement_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER reconciliation_bankstatementline_append_only ON reconciliation_bankstatementline;
DROP TRIGGER reconciliation_bankstatement_append_only ON reconciliation_bankstatement;
DROP FUNCTION reconciliation_statement_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("reconciliation", "0001_bank_statements")]

    operations = [migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY)]
