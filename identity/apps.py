from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Sign-in and provisioning"

    def ready(self):
        from identity import receivers  # noqa: F401  (sessions kept, access ended on deactivation)
