"""Console pages for drift and promotion: the configs of a namespace that differ between two
environments, in words, and "Promote to <environment>" (from that page, or from a config's
page for one config), which opens a change request like any other."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from common.messages import REFUSALS, refusal
from configs import access, environments
from configs.drift import differences
from configs.environments import Env
from configs.models import Namespace, Role
from reviews.promotions import promotion_open


def _namespace(user, slug: str) -> Namespace:
    namespace = get_object_or_404(Namespace, slug=slug)
    if access.role_in(user, namespace) is None:
        raise Http404("No such namespace.")
    return namespace


def _pair(given) -> tuple[Env, Env]:
    """The environments compared: `from` and `to` as given, else the last two (staging and
    production in a new installation)."""
    every = environments.every()
    source = given.get("from") or (every[-2] if len(every) > 1 else every[-1]).name
    target = given.get("to") or every[-1].name
    return environments.named(source), environments.named(target)


def _forwards(source: Env, target: Env) -> bool:
    every = environments.every()
    return every.index(source) < every.index(target)


def default_title(source: Env, target: Env, keys: list[str]) -> str:
    what = keys[0] if len(keys) == 1 else f"{len(keys)} configs"
    return f"Promote {what} from {source.label} to {target.label}"


@login_required
def drift(request, namespace: str):
    found = _namespace(request.user, namespace)
    source, target = _pair(request.GET)
    found_differences = differences(namespace=found, source=source, target=target)
    keys = [d.key for d in found_differences]
    return render(
        request,
        "reviews/drift.html",
        {
            "page_title": f"Differences between {source.label} and {target.label.lower()}",
            "namespace": found,
            "source": source,
            "target": target,
            "environments": environments.every(),
            "differences": found_differences,
            "forwards": _forwards(source, target),
            "can_promote": access.has_role(request.user, found, Role.EDITOR),
            "title": default_title(source, target, keys) if keys else "",
        },
    )


def _back(request, namespace: Namespace, source: Env, target: Env) -> str:
    """Where the person came from (the drift page or a config's page)."""
    given = request.POST.get("next", "")
    if given and url_has_allowed_host_and_scheme(
        given, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return given
    return reverse("reviews:drift", args=[namespace.slug]) + f"?from={source.name}&to={target.name}"


@login_required
@require_POST
def promote(request, namespace: str):
    found = _namespace(request.user, namespace)
    source, target = _pair(request.POST)
    keys = request.POST.getlist("keys") or None
    try:
        change_request = promotion_open(
            namespace=found,
            source=source,
            target=target,
            keys=keys,
            author=request.user,
            title=request.POST.get("title", "").strip()
            or default_title(source, target, keys or ["every config"]),
            description=request.POST.get("description", ""),
        )
    except REFUSALS as exc:
        messages.error(request, refusal(request, exc, namespace=found.slug))
        return redirect(_back(request, found, source, target))
    messages.success(
        request,
        f"Change request #{change_request.pk} promotes {source.label}'s values to "
        f"{target.label}; it is reviewed under {target.label}'s policy.",
    )
    return redirect(change_request)
