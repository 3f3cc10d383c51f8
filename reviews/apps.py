from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews"

    def ready(self):
        # Texts kept for ever and sent by e-mail never hold a credential (configs/secrets.py).
        from configs.secrets import refuse_credentials_in
        from reviews import models

        refuse_credentials_in(models.ChangeRequest, "title", "description")
        refuse_credentials_in(models.Review, "comment")
        refuse_credentials_in(models.Comment, "body")
