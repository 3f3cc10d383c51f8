"""Changes to a person's own settings."""

from __future__ import annotations

import zoneinfo

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from people.models import Profile


@transaction.atomic
def profile_set_time_zone(*, user: AbstractBaseUser, time_zone: str) -> Profile:
    """Show and read every time in the console in `time_zone` for this person.

    A display preference of one's own: it changes no shared data, so it is not audited."""
    if time_zone not in zoneinfo.available_timezones():
        raise ValidationError(
            f"“{time_zone}” is not a time zone we know; choose one from the list."
        )
    profile, _ = Profile.objects.update_or_create(user=user, defaults={"time_zone": time_zone})
    return profile
