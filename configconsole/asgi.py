"""ASGI entry point (gunicorn.conf.py): Django, behind the layer that answers warm token reads
from memory in the event loop (configs/api/hot.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "configconsole.settings")
django_application = get_asgi_application()

from configs.api.hot import HotReads  # noqa: E402  (needs the apps loaded above)

application = HotReads(django_application)
