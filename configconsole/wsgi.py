"""WSGI entry point (gunicorn configconsole.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "configconsole.settings")
application = get_wsgi_application()
