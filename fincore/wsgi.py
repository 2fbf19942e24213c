"""WSGI entry point: ``gunicorn fincore.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fincore.settings.development")

application = get_wsgi_application()
