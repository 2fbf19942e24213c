"""``python -m bench.database``: give the benchmark fresh databases of its own.

Drops and recreates the benchmark's database (``bench.settings``: ``fincore_bench`` unless
``FINCORE_BENCH_DATABASE_URL`` says otherwise), empties its Redis database and makes sure its
RabbitMQ vhost exists. It refuses any database whose name does not contain ``bench``, so a
mistyped URL can never wipe development or test data. ``make bench`` runs it before migrating.
"""

import os
import shutil
import subprocess
import sys

import dj_database_url
import psycopg2
from psycopg2 import sql


def maintenance_params(url: str) -> tuple[str, dict[str, object]]:
    """(database name, connection parameters for the ``postgres`` maintenance database)."""
    config = dj_database_url.parse(url)
    params = {
        "host": config.get("HOST") or None, "port": config.get("PORT") or None,
        "user": config.get("USER") or None, "password": config.get("PASSWORD") or None,
    }
    return config["NAME"], {key: value for key, value in params.items() if value}


def recreate_database(url: str) -> str:
    name, params = maintenance_params(url)
    if "bench" not in name:
        raise SystemExit(f"bench: refusing to recreate {name!r}: a benchmark database's name contains 'bench'")
    # Not ``with connect(...)``: since psycopg2 2.9 that opens a transaction even in autocommit.
    maintenance = psycopg2.connect(dbname="postgres", **params)
    try:
        maintenance.autocommit = True
        with maintenance.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        maintenance.close()
    return name


def ensure_vhost(vhost: str) -> None:
    """The benchmark's messages (if any service publishes) stay out of development's vhost."""
    if shutil.which("rabbitmqctl") is None:
        print(f"bench: rabbitmqctl not found; vhost {vhost} not created", file=sys.stderr)
        return
    listed = subprocess.run(["rabbitmqctl", "-q", "list_vhosts"], capture_output=True, text=True, check=False)
    if vhost in listed.stdout.split():
        return
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   check=True, capture_output=True)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    from bench import settings as bench_settings

    name = recreate_database(bench_settings.BENCH_DATABASE_URL)
    import redis

    redis.Redis.from_url(os.environ["FINCORE_REDIS_URL"]).flushdb()
    ensure_vhost(os.environ["FINCORE_BROKER_URL"].rsplit("/", 1)[1] or "/")
    print(f"bench: database {name} created afresh; Redis {os.environ['FINCORE_REDIS_URL']} emptied")


if __name__ == "__main__":
    main()
