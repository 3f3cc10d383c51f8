"""The person's own settings page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from people import selectors, services
from people.forms import TimeZoneForm
from people.middleware import SESSION_KEY


@login_required
def profile(request):
    form = TimeZoneForm(
        request.POST or None, initial={"time_zone": selectors.time_zone_of(request.user)}
    )
    if request.method == "POST" and form.is_valid():
        chosen = services.profile_set_time_zone(
            user=request.user, time_zone=form.cleaned_data["time_zone"]
        )
        request.session[SESSION_KEY] = chosen.time_zone
        messages.success(request, f"Times are now shown and entered in {chosen.time_zone}.")
        return redirect("people:profile")
    return render(request, "people/profile.html", {"page_title": "Your settings", "form": form})
