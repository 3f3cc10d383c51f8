from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from people.middleware import SESSION_KEY
from people.selectors import time_zone_of


@receiver(user_logged_in)
def remember_time_zone(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = time_zone_of(user)
