from django.urls import path, register_converter

from configs import authoring_views, environment_views, views
from reviews.kinds import schema_pages

app_name = "configs"


class VersionNumberConverter:
    """A version number in a URL: one to nine ASCII digits, so it always fits the database."""

    regex = views.VERSION_NUMBER

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(VersionNumberConverter, "version_number")

urlpatterns = [
    path("configs/", views.config_list, name="list"),
    path("configs/new/", authoring_views.config_new, name="new"),
    path("configs/<slug:namespace>/<slug:key>/", views.config_detail, name="detail"),
    path("configs/<slug:namespace>/<slug:key>/edit/", views.config_edit, name="edit"),
    path("configs/<slug:namespace>/<slug:key>/history/", views.config_history, name="history"),
    path("configs/<slug:namespace>/<slug:key>/compare/", views.version_compare, name="compare"),
    path(
        "configs/<slug:namespace>/<slug:key>/versions/<version_number:number>/",
        views.version_detail,
        name="version",
    ),
    path(
        "configs/<slug:namespace>/<slug:key>/versions/<version_number:number>/restore/",
        views.version_restore,
        name="version_restore",
    ),
    path(
        "configs/<slug:namespace>/<slug:key>/versions/<version_number:number>/cancel/",
        views.version_cancel,
        name="version_cancel",
    ),
    path("environments/", environment_views.environment_list, name="environments"),
    path("schemas/", views.schema_list, name="schemas"),
    path("schemas/new/", authoring_views.schema_new, name="schema_new"),
    path("schemas/<slug:name>/", views.schema_detail, name="schema"),
    path("schemas/<slug:name>/edit/", schema_pages.schema_edit, name="schema_edit"),
    path("schemas/<slug:name>/history/", views.schema_history, name="schema_history"),
]
