"""WSGI entry point: ``gunicorn fincore.wsgi`` (and ``runserver``, through WSGI_APPLICATION)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fincore.settings.development")

_django = get_wsgi_application()

from apps.core.middleware import ChunkedRequestBodies  # noqa: E402 - needs the settings configured above

# A chunked request body reaches Django with its Content-Length (apps.core.middleware).
application = ChunkedRequestBodies(_django)
