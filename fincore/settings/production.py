"""Production: nothing falls back to a default; a missing variable stops the process.

So does a required variable that holds its (public) development default, or a secret key or
audit key shorter than 32 characters.

``manage.py check --deploy --fail-level WARNING`` passes with these settings.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from fincore.settings.base import *  # noqa: F403
from fincore.settings.base import BASE_DIR, from_environment
from fincore.settings.environment import Environment

_environment = Environment(os.environ, use_defaults=False)
if _missing := _environment.missing():
    raise ImproperlyConfigured(
        "fincore.settings.production needs these environment variables: " + ", ".join(_missing)
    )
if _refused := _environment.refused_in_production():
    raise ImproperlyConfigured("fincore.settings.production refuses these values: " + "; ".join(_refused))
# The test suite's crash points (apps.core.faults) kill the process that reaches them: never here.
if os.environ.get("FINCORE_CRASH_AT"):
    raise ImproperlyConfigured("fincore.settings.production refuses FINCORE_CRASH_AT: crash points are for tests")

globals().update(from_environment(_environment))

DEBUG = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False
# Filled at build time by `manage.py collectstatic` (deploy/README.md).
STATIC_ROOT = BASE_DIR / "var" / "static"

SECURE_SSL_REDIRECT = True
SECURE_HSTS_SECONDS = 63072000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"
