"""`manage.py seed_demo`: the demo namespaces, schemas, configs and people (idempotent)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from configs.demo import PEOPLE, seed


class Command(BaseCommand):
    help = "Create the demo data (skipping what exists) and print the demo logins."

    def handle(self, *args, **options):
        logins = seed()
        base_url = settings.CONSOLE_BASE_URL.rstrip("/")
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        self.stdout.write(f"Config Console on {base_url} — log in at {base_url}/accounts/login/")
        self.stdout.write("Demo logins (same role in data-pipelines and sales-ops):")
        for username, password in logins.items():
            role = PEOPLE[username][0].label.lower()
            self.stdout.write(f"  {username:<6} {password:<18} {role}")
