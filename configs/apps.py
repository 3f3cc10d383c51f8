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

        from django.db.models.signals import post_delete, post_migrate, post_save

        from configs import environments
        from configs.models import Environment

        # Every process forgets the environments it knew when one changes here (others within
        # environments.FRESH_FOR); a database just migrated or emptied (flush) gets the defaults.
        post_save.connect(_forget_environments, sender=Environment)
        post_delete.connect(_forget_environments, sender=Environment)
        post_migrate.connect(_default_environments, sender=self)

        from configs import ofrep
        from configs.api import reads

        # Answers kept as bytes name their environment: a rename makes them say the new name.
        environments.when_renamed(reads.forget_prepared)
        environments.when_renamed(ofrep.forget)


def _forget_environments(**kwargs):
    from configs import environments

    environments.forget()


def _default_environments(*, using="default", **kwargs):
    from configs import environments

    if using == "default":
        environments.ensure_defaults()
