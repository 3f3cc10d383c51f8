from django.urls import path

from identity import views

app_name = "identity"

urlpatterns = [
    path("groups/", views.group_roles, name="group_roles"),
    path("groups/<int:pk>/remove/", views.group_role_remove, name="group_role_remove"),
    path("scim-tokens/<int:pk>/revoke/", views.scim_token_revoke, name="scim_token_revoke"),
    path("people/", views.people, name="people"),
    path("break-glass/<str:token>/", views.break_glass, name="break_glass"),
]
