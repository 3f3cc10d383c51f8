"""Reads of a person's own settings."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from people.models import DEFAULT_ZONE, Profile


def time_zone_of(user: AbstractBaseUser) -> str:
    """The zone this person reads and types times in (UTC unless they chose one)."""
    zone = Profile.objects.filter(user=user).values_list("time_zone", flat=True).first()
    return zone or DEFAULT_ZONE
