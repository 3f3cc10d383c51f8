"""The login page, the group → role mapping admins edit, SCIM tokens, and the break-glass link."""

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from common.messages import in_words
from configs import access
from configs.models import Namespace, Role
from identity import oidc, selectors, services
from identity.models import GroupRole, ScimToken

BREAK_GLASS_SALT = "identity.break-glass"
BREAK_GLASS_MINUTES = 10


class LoginView(auth_views.LoginView):
    """Password sign-in (unless PASSWORD_LOGIN=0) and "Sign in with <provider>"."""

    def post(self, request, *args, **kwargs):
        if not settings.PASSWORD_LOGIN:
            raise PermissionDenied(
                "Password sign-in is turned off: sign in with your identity provider."
            )
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            page_title="Sign in",
            password_login=settings.PASSWORD_LOGIN,
            provider_name=oidc.provider_name() if oidc.enabled() else "",
        )
        return context


def admin_login(request):
    """/admin/ signs in through the console's login page, so PASSWORD_LOGIN holds there too."""
    target = reverse("login")
    if "next" in request.GET:
        target += "?" + request.GET.urlencode()
    return HttpResponseRedirect(target)


@login_required
def group_roles(request):
    """The group → role mapping, for admins of any namespace (each edits their own)."""
    if not access.is_admin_somewhere(request.user):
        raise Http404("No such page.")
    administered = Namespace.objects.filter(
        pk__in=access.namespaces_with_role(request.user, Role.ADMIN)
    ).order_by("slug")
    if request.method == "POST":
        namespace = get_object_or_404(administered, slug=request.POST.get("namespace", ""))
        try:
            mapping = services.group_role_set(
                group_name=request.POST.get("group_name", ""),
                namespace=namespace,
                role=request.POST.get("role", ""),
                actor=request.user,
            )
        except ValidationError as exc:
            messages.error(request, in_words(exc))
        else:
            messages.success(
                request,
                f"Members of {mapping.group_name} are now {mapping.get_role_display().lower()}s "
                f"in {namespace.slug}.",
            )
        return redirect("identity:group_roles")
    return render(
        request,
        "identity/group_roles.html",
        {
            "page_title": "Groups and roles",
            "mappings": selectors.group_roles_for(request.user),
            "namespaces": administered,
            "roles": Role.choices,
            "groups": selectors.known_groups(),
            "scim_tokens": ScimToken.objects.all()[:50] if request.user.is_superuser else None,
            "provider_name": oidc.provider_name() if oidc.enabled() else "",
            "scim_url": request.build_absolute_uri("/scim/v2/"),
        },
    )


@login_required
@require_POST
def group_role_remove(request, pk: int):
    mapping = get_object_or_404(
        GroupRole.objects.select_related("namespace"),
        pk=pk,
        namespace_id__in=access.namespaces_with_role(request.user, Role.ADMIN),
    )
    services.group_role_remove(mapping=mapping, actor=request.user)
    messages.success(
        request, f"{mapping.group_name} no longer gives a role in {mapping.namespace.slug}."
    )
    return redirect("identity:group_roles")


@login_required
@require_POST
def scim_token_revoke(request, pk: int):
    if not request.user.is_superuser:
        raise Http404("No such token.")
    token = services.scim_token_revoke(
        token=get_object_or_404(ScimToken, pk=pk), actor=request.user
    )
    messages.success(request, f"The SCIM token “{token.name}” is revoked: it stops working now.")
    return redirect("identity:group_roles")


def break_glass_link(user) -> str:
    """A one-time sign-in path for a superuser (manage.py break_glass_link)."""
    stamp = user.last_login.isoformat() if user.last_login else ""
    return reverse(
        "identity:break_glass",
        args=[signing.dumps({"u": user.pk, "l": stamp}, salt=BREAK_GLASS_SALT)],
    )


def break_glass(request, token: str):
    """A superuser signs in with the link the command printed: once, within minutes, and only
    by pressing the button (a link checker that opens the page does not use it up)."""
    try:
        data = signing.loads(token, salt=BREAK_GLASS_SALT, max_age=BREAK_GLASS_MINUTES * 60)
    except signing.BadSignature:
        raise Http404("This sign-in link is not valid any more.")
    user = (
        auth.get_user_model()
        .objects.filter(pk=data["u"], is_superuser=True, is_active=True)
        .first()
    )
    stamp = user.last_login.isoformat() if user and user.last_login else ""
    if user is None or stamp != data["l"]:
        raise Http404("This sign-in link is not valid any more.")
    if request.method == "POST":
        auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(
        request, "identity/break_glass.html", {"page_title": "Break-glass sign-in", "person": user}
    )


@login_required
def people(request):
    """Superusers deactivate and reactivate people here (as the identity provider does over
    SCIM, and /admin/ does)."""
    if not request.user.is_superuser:
        raise Http404("No such page.")
    if request.method == "POST":
        person = get_object_or_404(auth.get_user_model(), pk=request.POST.get("person"))
        active = request.POST.get("active") == "1"
        services.person_set_active(user=person, active=active, actor=request.user)
        messages.success(
            request,
            f"{person.username} can sign in again (their API tokens stay revoked)."
            if active
            else f"{person.username} is deactivated: their sessions and API tokens ended now.",
        )
        return redirect("identity:people")
    page = Paginator(auth.get_user_model().objects.order_by("username"), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "identity/people.html", {"page_title": "People", "page": page})
