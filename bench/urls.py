"""The project's URLs plus /bench/a0/, /bench/a1/ and /bench/unrecorded/… (kept out of the
app's own urls)."""

from django.urls import path

from bench import views
from configconsole.urls import handler400, handler403, handler404, handler500  # noqa: F401
from configconsole.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("bench/a0/", views.a0),
    path("bench/a1/", views.a1),
    path("bench/unrecorded/configs/<slug:namespace>/<slug:key>/", views.unrecorded),
    *project_urlpatterns,
]
