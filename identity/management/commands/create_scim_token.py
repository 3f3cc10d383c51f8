"""Prints a new SCIM provisioning token once, alone on the last line of stdout."""

from django.core.management.base import BaseCommand

from identity.services import scim_token_create


class Command(BaseCommand):
    help = "Make a bearer token for the identity provider to provision people at /scim/v2/."

    def add_arguments(self, parser):
        parser.add_argument("--name", default="identity provider", help="What the token is for.")

    def handle(self, *args, name, **options):
        token, secret = scim_token_create(name=name)
        self.stdout.write(
            f"SCIM token “{token.name}” made. It is shown only now: give it to the identity "
            "provider as the bearer token for /scim/v2/. Revoke it on the console's Groups and "
            "roles page."
        )
        self.stdout.write(secret)
