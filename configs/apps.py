from django.apps import AppConfig


class ConfigsConfig(AppConfig):
    name = "configs"
    verbose_name = "Configs"

    def ready(self):
        from configs.models import Config, Namespace, Schema, SchemaVersion, Version
        from configs.secrets import refuse_credentials_in

        refuse_credentials_in(Namespace, "name", "description")
        refuse_credentials_in(Config, "name", "description")
        refuse_credentials_in(Schema, "title", "description")
        refuse_credentials_in(SchemaVersion, "reason")
        refuse_credentials_in(Version, "reason", "bypass_reason")
