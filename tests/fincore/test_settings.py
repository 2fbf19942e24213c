"""Production settings: no fallbacks, and Django's deployment checks pass."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fincore.settings.environment import VARIABLES

PROJECT_DIR = Path(__file__).resolve().parents[2]
PRODUCTION_ENVIRONMENT = {
    "FINCORE_SECRET_KEY": "p6^v+wz3$k@0l!qxe9#m2r8t&y5u1i7o4a(s)d_f-g=h[j]k{l}z;x:c<v>b?n",
    "FINCORE_DATABASE_URL": "postgres://fincore:secret@db.internal:5432/fincore",
    "FINCORE_BROKER_URL": "amqps://fincore:secret@mq.internal:5671/fincore",
    "FINCORE_REDIS_URL": "rediss://cache.internal:6380/0",
    "FINCORE_ALLOWED_HOSTS": "api.fincore.example,admin.fincore.example",
    "FINCORE_AUDIT_KEY": "a-long-random-audit-key-kept-in-the-secret-store",
}


def _manage(*args: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("FINCORE_")}
    clean.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": "fincore.settings.production", **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_passes_the_deployment_checks():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", environment=PRODUCTION_ENVIRONMENT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("missing", sorted(PRODUCTION_ENVIRONMENT))
def test_production_refuses_to_start_without_each_required_variable(missing):
    environment = {key: value for key, value in PRODUCTION_ENVIRONMENT.items() if key != missing}
    result = _manage("check", environment=environment)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"fincore.settings.production needs these environment variables: {missing}" in result.stderr


def test_every_required_variable_is_tested():
    required = {variable.name for variable in VARIABLES if variable.required_in_production}
    assert required == set(PRODUCTION_ENVIRONMENT)


def test_readme_documents_every_variable():
    readme = (PROJECT_DIR / "README.md").read_text()
    for variable in VARIABLES:
        assert f"`{variable.name}`" in readme, variable.name
