"""What every console page may show about sign-in: evaluated only when a template asks."""

from configs import access
from identity import oidc, selectors, services


def navigation(request):
    user = getattr(request, "user", None)

    def maps_groups() -> bool:
        return bool(user is not None and user.is_authenticated and access.is_admin_somewhere(user))

    def no_access_help() -> dict:
        """For a person with no role anywhere: their groups, and whom to ask."""
        signed_in = user is not None and user.is_authenticated
        return {
            "provider": oidc.provider_name() if oidc.enabled() else "",
            "groups": selectors.groups_of(user) if signed_in else [],
            "admins": services.whom_to_ask(),
        }

    return {"nav_maps_groups": maps_groups, "no_access_help": no_access_help}
