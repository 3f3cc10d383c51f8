from django.urls import path

from push import views

app_name = "push"

urlpatterns = [
    path("webhooks/", views.webhook_namespaces, name="webhook_namespaces"),
    path("namespaces/<slug:namespace>/webhooks/", views.webhook_list, name="webhooks"),
    path(
        "namespaces/<slug:namespace>/webhooks/<int:pk>/test/",
        views.webhook_test,
        name="webhook_test",
    ),
    path(
        "namespaces/<slug:namespace>/webhooks/<int:pk>/remove/",
        views.webhook_remove,
        name="webhook_remove",
    ),
    path(
        "namespaces/<slug:namespace>/webhooks/<int:pk>/deliveries/<uuid:delivery>/redeliver/",
        views.delivery_redeliver,
        name="redeliver",
    ),
]
