"""ASGI entry point, for servers that speak ASGI; fincore's default server is gunicorn (WSGI)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fincore.settings.development")

application = get_asgi_application()
