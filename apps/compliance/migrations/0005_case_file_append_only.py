"""The database refuses to change or delete a case note, an attachment or a filed STR: the case
file is append-only whatever the code does."""

from django.db import migrations

APPEND_ONLY = """
CREATE FUNCTION compliance_case_file_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER compliance_casenote_append_only BEFORE UPDATE OR DELETE ON compliance_casenote
    FOR EACH ROW EXECUTE FUNCTION compliance_case_file_append_only();
CREATE TRIGGER compliance_caseattachment_append_only BEFORE UPDATE OR DELETE ON compliance_caseattachment
    FOR EACH ROW EXECUTE FUNCTION compliance_case_file_append_only();
CREATE TRIGGER compliance_strreport_append_only BEFORE UPDATE OR DELETE ON compliance_strreport
    FOR EACH ROW EXECUTE FUNCTION compliance_case_file_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER compliance_strreport_append_only ON compliance_strreport;
DROP TRIGGER compliance_caseattachment_append_only ON compliance_caseattachment;
DROP TRIGGER compliance_casenote_append_only ON compliance_casenote;
DROP FUNCTION compliance_case_file_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("compliance", "0004_case_files")]

    operations = [migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY)]
