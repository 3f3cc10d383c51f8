"""Prints a one-time sign-in link for a superuser: the way in when the identity provider is
down or misconfigured and password sign-in is off (PASSWORD_LOGIN=0)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from identity.views import BREAK_GLASS_MINUTES, break_glass_link


class Command(BaseCommand):
    help = "Print a one-time sign-in link for a superuser (valid for a few minutes)."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="The superuser's username.")

    def handle(self, *args, user, **options):
        person = (
            get_user_model()
            .objects.filter(username=user, is_superuser=True, is_active=True)
            .first()
        )
        if person is None:
            raise CommandError(f"{user} is not an active superuser.")
        self.stdout.write(
            f"Open this within {BREAK_GLASS_MINUTES} minutes to sign in once as {user}:"
        )
        self.stdout.write(settings.CONSOLE_BASE_URL.rstrip("/") + break_glass_link(person))
