from django.urls import path

from reviews import promotion_pages, views

app_name = "reviews"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("changes/inbox/", views.inbox, name="inbox"),
    path("changes/mine/", views.my_changes, name="mine"),
    path("changes/<int:pk>/", views.change_request_detail, name="detail"),
    path("changes/<int:pk>/edit/", views.change_request_edit, name="edit"),
    path("changes/<int:pk>/rebase/", views.change_request_rebase, name="rebase"),
    path("changes/<int:pk>/add/", views.change_request_add, name="add"),
    path(
        "changes/<int:pk>/side-by-side/",
        views.change_request_side_by_side,
        name="side_by_side",
    ),
    path("changes/<int:pk>/<slug:action>/", views.change_request_action, name="action"),
    path(
        "changes/<int:pk>/values/<int:config_pk>/",
        views.schema_change_value,
        name="schema_value",
    ),
    path("namespaces/<slug:namespace>/drift/", promotion_pages.drift, name="drift"),
    path("namespaces/<slug:namespace>/promote/", promotion_pages.promote, name="promote"),
    # A schema change's former addresses.
    path("schema-changes/<int:pk>/", views.schema_change_address),
    path("schema-changes/<int:pk>/<slug:rest>/", views.schema_change_address),
]
