"""The environments page: administrators of the installation add, rename and reorder the
environments every config has a value in (the same services as /admin/)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from common.messages import REFUSALS, refusal
from configs import environments, services
from configs.models import Environment


@login_required
def environment_list(request):
    if not request.user.is_superuser:
        raise Http404("No such page.")
    typed: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            done = _act(request, action)
        except REFUSALS as exc:
            messages.error(request, refusal(request, exc))
            typed = {key: request.POST.get(key, "") for key in ("name", "title", "environment")}
            typed["action"] = action
        else:
            messages.success(request, done)
            return redirect("configs:environments")
    return render(
        request,
        "configs/environments.html",
        {
            "page_title": "Environments",
            "environments": list(Environment.objects.order_by("position", "id")),
            "default": environments.default(),
            "typed": typed,
        },
        status=400 if typed else 200,
    )


def _act(request, action: str) -> str:
    """Do what the form asks; the message saying what was done."""
    post = request.POST
    if action == "add":
        environment = services.environment_add(
            name=post.get("name", "").strip(),
            title=post.get("title", "").strip(),
            actor=request.user,
        )
        return (
            f"Added {environment.label}: every config has a version 1 there, equal to its live "
            f"value in {environments.default().label}."
        )
    environment = get_object_or_404(Environment, pk=_id(post.get("environment", "")))
    if action == "rename":
        before = environment.name
        environment = services.environment_update(
            environment=environment,
            actor=request.user,
            name=post.get("name", ""),
            title=post.get("title", "").strip(),
        )
        return f"Saved {environment.label} (reads name it “{environment.name}”; it was “{before}”)."
    if action in ("earlier", "later"):
        default_before = environments.default().id
        moved = services.environment_move(
            environment=environment, actor=request.user, later=action == "later"
        )
        told = f"Moved {moved.label} {action} in promotion order."
        if environments.default().id != default_before:
            told += f" {environments.default().label} is now the default environment."
        return told
    raise Http404("No such action.")


def _id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise Http404("No such environment.")
    return int(raw)
