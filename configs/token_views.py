"""Console pages for API tokens: make one (its secret shown once), see them, revoke them."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from common.messages import refusal
from common.pagination import page_of
from configs import access, environments, selectors, services
from configs.models import Namespace

EXPIRY_CHOICES = [("30", "in 30 days"), ("90", "in 90 days"), ("365", "in a year"), ("", "never")]


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What will use it, e.g. “nightly revenue pipeline”."
    )
    namespaces = forms.ModelMultipleChoiceField(
        queryset=Namespace.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    write = forms.TypedChoiceField(
        label="Access",
        choices=[
            ("", "Read live values (for pipelines)"),
            ("1", "Read, and propose, review and publish changes as me (for automation)"),
        ],
        coerce=bool,
        empty_value=False,
        required=False,
        widget=forms.RadioSelect,
        initial="",
    )
    environment = forms.ChoiceField(
        label="Environment",
        required=False,  # not chosen: the default one
        help_text="The values it reads, and the only ones: a staging pipeline's token cannot "
        "read production's.",
    )
    expires = forms.ChoiceField(label="Expires", choices=EXPIRY_CHOICES, initial="90")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["namespaces"].queryset = Namespace.objects.filter(
            pk__in=access.visible_namespace_ids(user)
        )
        field = self.fields["environment"]
        field.choices = [(env.name, env.label) for env in environments.every()]
        field.initial = environments.default().name


@login_required
def token_list(request):
    # "Make a read token" links (a change request's "Try it before approval") choose the
    # namespace and a name: ?namespace=data-pipelines&name=…
    initial = {
        "namespaces": Namespace.objects.filter(
            slug__in=request.GET.getlist("namespace"),
            pk__in=access.visible_namespace_ids(request.user),
        ),
        "name": request.GET.get("name", "")[:100],
    }
    form = TokenForm(request.POST or None, user=request.user, initial=initial)
    created = None
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires"]
        try:
            token, secret = services.token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                namespaces=list(form.cleaned_data["namespaces"]),
                write=form.cleaned_data["write"],
                expires_at=timezone.now() + timedelta(days=int(days)) if days else None,
                environment=(
                    environments.named(form.cleaned_data["environment"])
                    if form.cleaned_data["environment"]
                    else None
                ),
                actor=request.user,
            )
        except (PermissionDenied, ValidationError) as exc:
            form.add_error(None, refusal(request, exc))
        else:
            # Shown in this answer only (no-store) and never kept on the server, not even in
            # the session: after this page, only the token's hash remains.
            created = {"token": token, "secret": secret}
            form = TokenForm(user=request.user)
    tokens = selectors.tokens_visible_to(request.user)
    page = page_of(request, tokens, per_page=50)
    response = render(
        request,
        "configs/tokens.html",
        {
            "page_title": "API tokens",
            "form": form,
            "created": created,
            "page": page,
            "now": timezone.now(),
            "api_base": request.build_absolute_uri("/api/v1/"),
            "default_environment": environments.default(),
        },
    )
    if created:
        response["Cache-Control"] = "no-store"  # the page holds a secret: keep no copy of it
    return response


@login_required
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(selectors.tokens_visible_to(request.user), pk=pk)
    services.token_revoke(token=token, actor=request.user)
    messages.success(
        request, f"Token “{token.name}” ({token.prefix}…) is revoked: it no longer works."
    )
    return redirect("tokens:list")
