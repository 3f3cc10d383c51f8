"""Console pages for a namespace's webhooks: add one (its secret shown once), try it, see each
delivery's attempts, redeliver, remove. Namespace admins only; others get 404."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from common.messages import in_words
from configs import access
from configs.models import Namespace, Role
from push import services
from push.models import Webhook, WebhookDelivery

NEW_SECRET = "new_webhook_secret"  # session key: the secret, until the page shows it once
RECENT = 20


class WebhookForm(forms.Form):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where to POST, e.g. https://chat.example.com/hook",
    )
    events = forms.MultipleChoiceField(
        choices=Webhook.Event.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[Webhook.Event.PUBLISHED, Webhook.Event.LIVE],
    )


def _namespace_admin(request, slug: str) -> Namespace:
    namespace = Namespace.objects.filter(slug=slug).first()
    if namespace is None or not access.has_role(request.user, namespace, Role.ADMIN):
        raise Http404("No such namespace, or you are not one of its admins.")
    return namespace


@login_required
def webhook_namespaces(request):
    """The namespaces whose webhooks this person manages."""
    roles = access.roles_of(request.user)
    namespaces = [
        namespace
        for namespace in Namespace.objects.order_by("slug")
        if request.user.is_superuser or roles.get(namespace.pk) == Role.ADMIN
    ]
    return render(
        request,
        "push/webhook_namespaces.html",
        {"page_title": "Webhooks", "namespaces": namespaces},
    )


@login_required
def webhook_list(request, namespace: str):
    namespace = _namespace_admin(request, namespace)
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            webhook, secret = services.webhook_create(
                namespace=namespace,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error("url", in_words(exc))
        else:
            request.session[NEW_SECRET] = {"id": webhook.pk, "secret": secret}
            return redirect("push:webhooks", namespace=namespace.slug)
    shown = request.session.pop(NEW_SECRET, None) if request.method == "GET" else None
    hooks = list(Webhook.objects.filter(namespace=namespace))
    for hook in hooks:
        hook.recent = list(
            WebhookDelivery.objects.filter(webhook=hook).prefetch_related("attempts")[:RECENT]
        )
    response = render(
        request,
        "push/webhooks.html",
        {
            "page_title": f"Webhooks of {namespace.slug}",
            "namespace": namespace,
            "webhooks": hooks,
            "form": form,
            "created": shown,
        },
    )
    if shown:
        response["Cache-Control"] = "no-store"  # the page holds a secret: keep no copy of it
    return response


def _webhook(request, namespace: str, pk: int) -> Webhook:
    return get_object_or_404(Webhook, pk=pk, namespace=_namespace_admin(request, namespace))


@login_required
@require_POST
def webhook_test(request, namespace: str, pk: int):
    webhook = _webhook(request, namespace, pk)
    services.webhook_ping(webhook=webhook, actor=request.user)
    messages.success(request, f"A test delivery to {webhook.url} is on its way; reload to see it.")
    return redirect("push:webhooks", namespace=namespace)


@login_required
@require_POST
def webhook_remove(request, namespace: str, pk: int):
    webhook = _webhook(request, namespace, pk)
    services.webhook_remove(webhook=webhook, actor=request.user)
    messages.success(request, f"Webhook to {webhook.url} removed: nothing more is sent there.")
    return redirect("push:webhooks", namespace=namespace)


@login_required
@require_POST
def delivery_redeliver(request, namespace: str, pk: int, delivery: str):
    webhook = _webhook(request, namespace, pk)
    found = get_object_or_404(WebhookDelivery, pk=delivery, webhook=webhook)
    services.delivery_redeliver(delivery=found, actor=request.user)
    messages.success(request, f"Delivery {found.pk} is queued again.")
    return redirect("push:webhooks", namespace=namespace)
