"""Production settings: no fallbacks, and Django's deployment checks pass."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ImproperlyConfigured, ValidationError

from fincore.settings.base import from_environment
from fincore.settings.environment import VARIABLES, Environment

PROJECT_DIR = Path(__file__).resolve().parents[2]
PRODUCTION_ENVIRONMENT = {
    "FINCORE_SECRET_KEY": "p6^v+wz3$k@0l!qxe9#m2r8t&y5u1i7o4a(s)d_f-g=h[j]k{l}z;x:c<v>b?n",
    "FINCORE_DATABASE_URL": "postgres://fincore:secret@db.internal:5432/fincore",
    "FINCORE_BROKER_URL": "amqps://fincore:secret@mq.internal:5671/fincore",
    "FINCORE_REDIS_URL": "rediss://cache.internal:6380/0",
    "FINCORE_ALLOWED_HOSTS": "api.fincore.example,admin.fincore.example",
    "FINCORE_AUDIT_KEY": "a-long-random-audit-key-kept-in-the-secret-store",
    "FINCORE_AUDIT_ANCHOR_DIR": "/mnt/audit-anchors",
    "FINCORE_WEBHOOK_KEY": "another-long-random-key-for-webhook-secrets",
    "FINCORE_GOAML_REPORTING_ENTITY_ID": "BH-FIU-RE-00417",
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


REQUIRED_WITH_A_DEVELOPMENT_DEFAULT = sorted(
    variable.name for variable in VARIABLES if variable.required_in_production and variable.development_default
)


def _refused(result: subprocess.CompletedProcess[str]) -> str:
    """The ImproperlyConfigured message that stopped the process."""
    assert result.returncode != 0
    [line] = [line for line in result.stderr.splitlines() if line.startswith("django.core.exceptions.Improperly")]
    return line.removeprefix("django.core.exceptions.ImproperlyConfigured: ")


@pytest.mark.parametrize("name", REQUIRED_WITH_A_DEVELOPMENT_DEFAULT)
def test_production_refuses_each_public_development_default(name):
    [variable] = [variable for variable in VARIABLES if variable.name == name]

    result = _manage("check", environment={**PRODUCTION_ENVIRONMENT, name: variable.development_default})

    assert _refused(result) == (
        f"fincore.settings.production refuses these values: {name} is its public development default"
    )


def test_every_required_variable_has_a_development_default_to_refuse():
    assert sorted(PRODUCTION_ENVIRONMENT) == REQUIRED_WITH_A_DEVELOPMENT_DEFAULT


def test_production_names_every_refused_variable_at_once():
    environment = {
        **PRODUCTION_ENVIRONMENT,
        "FINCORE_SECRET_KEY": "development-only-secret-key-do-not-use-in-production-0123456789",
        "FINCORE_AUDIT_KEY": "development-only-audit-key",
    }

    result = _manage("check", environment=environment)

    assert _refused(result) == (
        "fincore.settings.production refuses these values: FINCORE_SECRET_KEY is its public development default; "
        "FINCORE_AUDIT_KEY is its public development default"
    )


@pytest.mark.parametrize("name", ["FINCORE_SECRET_KEY", "FINCORE_AUDIT_KEY", "FINCORE_WEBHOOK_KEY"])
def test_production_refuses_a_key_shorter_than_32_characters(name):
    result = _manage("check", environment={**PRODUCTION_ENVIRONMENT, name: "k3#Vq9!xT2@wZ7$mR4^pL8&nB6*cY1("})

    assert _refused(result) == (
        f"fincore.settings.production refuses these values: {name} must be at least 32 characters, not 31"
    )


def test_production_accepts_an_audit_key_of_32_characters():
    # The secret key needs 50 for Django's own deployment check (security.W009), so it is not tried at 32.
    environment = {**PRODUCTION_ENVIRONMENT, "FINCORE_AUDIT_KEY": "k3#Vq9!xT2@wZ7$mR4^pL8&nB6*cY1(e"}

    result = _manage("check", "--deploy", "--fail-level", "WARNING", environment=environment)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_accepts_optional_variables_set_to_their_defaults():
    environment = {
        **PRODUCTION_ENVIRONMENT,
        **{
            variable.name: variable.development_default
            for variable in VARIABLES
            if not variable.required_in_production and variable.development_default
        },
    }

    result = _manage("check", "--deploy", "--fail-level", "WARNING", environment=environment)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("rate", ["100/sx", "fast", "0/second"])
def test_an_unusable_default_api_rate_is_refused_at_start_up(rate):
    with pytest.raises(ImproperlyConfigured) as refused:
        from_environment(Environment({"FINCORE_API_RATE_LIMIT": rate}, use_defaults=True))

    assert str(refused.value) == f"FINCORE_API_RATE_LIMIT: {rate!r} is not a rate like '100/second' or '5000/hour'"


def test_every_required_variable_is_tested():
    required = {variable.name for variable in VARIABLES if variable.required_in_production}
    assert required == set(PRODUCTION_ENVIRONMENT)


def test_readme_documents_every_variable():
    readme = (PROJECT_DIR / "README.md").read_text()
    for variable in VARIABLES:
        assert f"`{variable.name}`" in readme, variable.name


def test_payment_priorities_are_read_per_method():
    settings = from_environment(Environment({"FINCORE_PAYMENT_PRIORITIES": "wire=0, card=4,instant=9,wallet=7"},
                                            use_defaults=True))

    assert settings["FINCORE_PAYMENT_PRIORITIES"] == {"wire": 0, "card": 4, "instant": 9, "wallet": 7}


@pytest.mark.parametrize(
    ("raw", "refusal"),
    [
        ("instant=9,card=6,wire=3", "no priority for wallet"),
        ("instant=10,card=6,wire=3,wallet=8", "'instant=10' is not <method>=<0-9>"),
        ("instant=9,card=six,wire=3,wallet=8", "'card=six' is not <method>=<0-9>"),
        ("instant=9,cash=6,wire=3,wallet=8", "'cash=6' is not <method>=<0-9>"),
    ],
)
def test_payment_priorities_refuse_a_bad_setting_at_start_up(raw, refusal):
    with pytest.raises(ImproperlyConfigured) as refused:
        from_environment(Environment({"FINCORE_PAYMENT_PRIORITIES": raw}, use_defaults=True))

    assert refusal in str(refused.value)


def test_staff_session_limits_come_from_the_environment():
    configured = from_environment(Environment(
        {"FINCORE_ADMIN_IDLE_TIMEOUT_MINUTES": "15", "FINCORE_ADMIN_SESSION_HOURS": "4"}, use_defaults=True,
    ))
    defaults = from_environment(Environment({}, use_defaults=True))

    assert (configured["FINCORE_ADMIN_IDLE_TIMEOUT"], configured["FINCORE_ADMIN_SESSION_LIFETIME"],
            configured["SESSION_COOKIE_AGE"]) == (timedelta(minutes=15), timedelta(hours=4), 4 * 3600)
    assert (defaults["FINCORE_ADMIN_IDLE_TIMEOUT"], defaults["FINCORE_ADMIN_SESSION_LIFETIME"]) == (
        timedelta(minutes=30), timedelta(hours=8),
    )


@pytest.mark.parametrize("name", ["FINCORE_ADMIN_IDLE_TIMEOUT_MINUTES", "FINCORE_ADMIN_SESSION_HOURS"])
def test_a_staff_session_limit_under_one_is_refused(name):
    with pytest.raises(ImproperlyConfigured, match="must be at least 1"):
        from_environment(Environment({name: "0"}, use_defaults=True))


def test_staff_passwords_are_validated():
    with pytest.raises(ValidationError) as refused:
        validate_password("12345678")
    assert [error.code for error in refused.value.error_list] == [
        "password_too_short", "password_too_common", "password_entirely_numeric",
    ]


def test_payout_approval_thresholds_are_read_in_major_units_exactly():
    settings = from_environment(Environment({"FINCORE_PAYOUT_APPROVAL_THRESHOLDS": "BHD=10000.000, USD=25000.5"},
                                            use_defaults=True))
    assert settings["FINCORE_PAYOUT_APPROVAL_THRESHOLDS"] == {"BHD": 10_000_000, "USD": 2_500_050}
    assert from_environment(Environment({}, use_defaults=True))["FINCORE_PAYOUT_APPROVAL_THRESHOLDS"] == {
        "BHD": 10_000_000}


@pytest.mark.parametrize("raw", ["BHD=10.0001", "XXX=5", "BHD", "BHD=0", "BHD=1,BHD=2", "BHD=1e3"])
def test_a_payout_approval_threshold_that_is_not_exact_money_stops_the_start(raw):
    with pytest.raises(ImproperlyConfigured, match="FINCORE_PAYOUT_APPROVAL_THRESHOLDS"):
        from_environment(Environment({"FINCORE_PAYOUT_APPROVAL_THRESHOLDS": raw}, use_defaults=True))


def test_production_refuses_a_crash_point():
    result = _manage("check", environment={**PRODUCTION_ENVIRONMENT, "FINCORE_CRASH_AT": "settlement.before_post"})

    assert _refused(result) == "fincore.settings.production refuses FINCORE_CRASH_AT: crash points are for tests"
