"""What every console page's navigation shows about the person's work."""

from reviews import selectors


def navigation(request):
    """The number of changes (and schema changes) waiting for my review, counted only when a
    page shows it (the template calls it), so JSON answers and error pages pay nothing."""
    user = getattr(request, "user", None)

    def waiting_count() -> int:
        if user is None or not user.is_authenticated:
            return 0
        return selectors.waiting_for(user).count()

    return {"nav_waiting_count": waiting_count}
