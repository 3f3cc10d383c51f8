from django.apps import AppConfig


class PushConfig(AppConfig):
    name = "push"
    verbose_name = "Push"

    def ready(self):
        from configs.secrets import refuse_credentials_in
        from push import signals
        from push.models import Webhook

        signals.connect()
        # The address is stored in clear and shown to admins: no password or token in it.
        refuse_credentials_in(Webhook, "url")
