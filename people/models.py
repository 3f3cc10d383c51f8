"""A person's own console settings."""

import zoneinfo

from django.conf import settings
from django.db import models

DEFAULT_ZONE = "UTC"


def zone_choices() -> list[tuple[str, str]]:
    names = sorted(zoneinfo.available_timezones() - {"UTC", "localtime", "Factory"})
    return [(DEFAULT_ZONE, "UTC (the default)")] + [
        (name, name.replace("_", " ")) for name in names
    ]


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    # Every time in the console is shown and entered in this zone, and the page names it.
    time_zone = models.CharField(max_length=64, default=DEFAULT_ZONE)

    def __str__(self) -> str:
        return f"{self.user} ({self.time_zone})"
