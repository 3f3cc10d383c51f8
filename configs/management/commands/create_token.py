"""`manage.py create_token`: a token for a pipeline, printed once, alone on the last line."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from common.messages import in_words
from configs import environments
from configs.models import Namespace
from configs.services import token_create


class Command(BaseCommand):
    help = "Create an API token for a user, scoped to namespaces; prints the token once."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="The username the token acts as.")
        parser.add_argument(
            "--namespace",
            action="append",
            required=True,
            dest="namespaces",
            help="A namespace the token may read (repeat for several).",
        )
        parser.add_argument(
            "--environment",
            help="The environment the token reads, and the only one (default: the default one).",
        )
        parser.add_argument(
            "--write", action="store_true", help="Also propose, review and publish as the user."
        )
        parser.add_argument("--name", default="", help="What the token is for.")
        parser.add_argument("--expires-days", type=int, help="Days until the token stops working.")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"There is no user {options['user']!r}.")
        slugs = list(dict.fromkeys(options["namespaces"]))
        namespaces = list(Namespace.objects.filter(slug__in=slugs))
        unknown = sorted(set(slugs) - {namespace.slug for namespace in namespaces})
        if unknown:
            raise CommandError(f"Unknown namespace: {', '.join(unknown)}.")
        environment = None
        if options["environment"] is not None:
            names = [env.name for env in environments.every()]
            if options["environment"] not in names:
                raise CommandError(
                    f"Unknown environment: {options['environment']}. "
                    f"The environments are {', '.join(names)}."
                )
            environment = environments.named(options["environment"])
        days = options["expires_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-days must be at least 1.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        name = options["name"] or f"{'write' if options['write'] else 'read'} token"
        try:
            token, secret = token_create(
                user=user,
                name=name,
                namespaces=namespaces,
                write=options["write"],
                expires_at=expires_at,
                environment=environment,
            )
        except (PermissionDenied, ValidationError) as exc:
            raise CommandError(in_words(exc)) from exc
        expiry = f"expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "never expires"
        self.stderr.write(
            f"Token {token.prefix}… for {user.username} ({token.scope}) in "
            f"{', '.join(slugs)}, reading {(environment or environments.default()).name}; "
            f"{expiry}. It is shown only once:"
        )
        self.stdout.write(secret)
