"""``money_round(exact, rounding)``: an exact amount of minor units rounded once to a whole minor
unit with a decimal module ROUND_* mode, in SQL, as ``apps.settlement.domain.fees.round_to_minor``
does in Python (a property test holds the two together). Aggregates that price rows where they
are (settlement's fees of a business date) round with it."""

from django.db import migrations

MONEY_ROUND = """
CREATE FUNCTION money_round(exact numeric, rounding text)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE
        WHEN exact = floor(exact) THEN floor(exact)
        WHEN rounding = 'ROUND_FLOOR' THEN floor(exact)
        WHEN rounding = 'ROUND_CEILING' THEN floor(exact) + 1
        WHEN rounding = 'ROUND_DOWN' THEN trunc(exact)
        WHEN rounding = 'ROUND_UP' THEN trunc(exact) + sign(exact)
        WHEN rounding = 'ROUND_05UP' THEN
            CASE WHEN mod(trunc(exact), 5) = 0 THEN trunc(exact) + sign(exact) ELSE trunc(exact) END
        WHEN exact - floor(exact) < 0.5 THEN floor(exact)
        WHEN exact - floor(exact) > 0.5 THEN floor(exact) + 1
        WHEN rounding = 'ROUND_HALF_UP' THEN trunc(exact) + sign(exact)
        WHEN rounding = 'ROUND_HALF_DOWN' THEN trunc(exact)
        WHEN mod(floor(exact), 2) = 0 THEN floor(exact)
        ELSE floor(exact) + 1
    END)::bigint
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("core", "0002_periodic_tasks")]

    operations = [migrations.RunSQL(MONEY_ROUND, "DROP FUNCTION money_round(numeric, text);")]
