import psycopg2
from django.core.management.base import BaseCommand
from django.db import connection
from psycopg2 import sql


class Command(BaseCommand):
    help = "Create the database named in FINCORE_DATABASE_URL if it does not exist yet."

    def handle(self, *args: object, **options: object) -> None:
        params = connection.get_connection_params()
        name = params.pop("database", None) or params.pop("dbname")
        params.pop("cursor_factory", None)
        # Connect to the maintenance database: the target may not exist yet. Not ``with
        # connect(...)``: since psycopg2 2.9 that opens a transaction, and CREATE DATABASE
        # refuses to run in one.
        maintenance = psycopg2.connect(dbname="postgres", **params)
        try:
            maintenance.autocommit = True
            with maintenance.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                if cursor.fetchone():
                    self.stdout.write(f"database {name} exists")
                    return
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        finally:
            maintenance.close()
        self.stdout.write(self.style.SUCCESS(f"database {name} created"))
