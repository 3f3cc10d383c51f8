from django.apps import AppConfig


class PushConfig(AppConfig):
    name = "push"
    verbose_name = "Push"

    def ready(self):
        from push import signals

        signals.connect()
