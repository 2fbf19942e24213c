"""Commands `make` runs before anything else exists."""

import io
import uuid

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection


@pytest.fixture
def missing_database():
    """Point the default connection's settings at a database that does not exist yet."""
    name = f"fincore_probe_{uuid.uuid4().hex[:8]}"
    original = connection.settings_dict["NAME"]
    connection.settings_dict["NAME"] = name
    yield name
    connection.settings_dict["NAME"] = original
    maintenance = psycopg2.connect(dbname="postgres", host=connection.settings_dict["HOST"] or "127.0.0.1",
                                   user=connection.settings_dict["USER"] or "postgres")
    maintenance.autocommit = True
    with maintenance.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    maintenance.close()


def test_db_create_creates_a_missing_database_then_leaves_it(missing_database):
    out = io.StringIO()
    call_command("db_create", stdout=out)
    call_command("db_create", stdout=out)
    assert out.getvalue().splitlines() == [
        f"database {missing_database} created",
        f"database {missing_database} exists",
    ]
