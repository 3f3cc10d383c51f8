"""The audit log's filters, as a form, so the page, its pages and its exports read them alike."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from audit.models import ACTIONS
from configs import access
from configs.models import Namespace

FILTERS = ("namespace", "config", "actor", "action", "since", "until")


class AuditFilterForm(forms.Form):
    namespace = forms.ChoiceField(required=False, label="Namespace")
    config = forms.CharField(
        required=False, max_length=201, label="Config", help_text="key, or namespace/key"
    )
    actor = forms.CharField(required=False, max_length=150, label="Who", help_text="username")
    action = forms.ChoiceField(required=False, label="Action")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput({"type": "date"}))
    until = forms.DateField(required=False, label="Until", widget=forms.DateInput({"type": "date"}))

    def __init__(self, data, *, user):
        super().__init__(data)
        namespaces = Namespace.objects.order_by("name")
        if not user.is_superuser:
            namespaces = namespaces.filter(pk__in=access.visible_namespace_ids(user))
        self.fields["namespace"].choices = [("", "All namespaces")] + [
            (ns.slug, ns.name) for ns in namespaces
        ]
        self.fields["action"].choices = [("", "Every action"), *_action_groups()]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", "The end date is before the start date.")
        return cleaned

    def selector_filters(self) -> dict:
        """Keyword arguments for `filtered_events`; a filter that does not validate is left out
        (and shown as an error), rather than silently showing everything."""
        self.is_valid()
        data = {name: self.cleaned_data.get(name) for name in FILTERS if name not in self.errors}
        filters = {
            "config": data.get("config") or "",
            "actor": data.get("actor") or "",
            "action": data.get("action") or "",
        }
        if data.get("namespace"):
            filters["namespaces"] = [data["namespace"]]
        if data.get("since"):
            filters["since"] = _midnight(data["since"])
        if data.get("until"):
            # "Until the 3rd" includes the whole of the 3rd.
            filters["until"] = _midnight(data["until"] + timedelta(days=1))
        return filters

    def querystring(self) -> dict[str, str]:
        """The filters as given, to keep them in page and export links."""
        return {name: self.data[name] for name in FILTERS if self.data.get(name)}


def _action_groups() -> list:
    """The registered actions grouped by what they act on, each group choosable as a whole."""
    groups: dict[str, list] = {}
    for name, label in ACTIONS.items():
        family = name.split(".")[0]
        groups.setdefault(family, [(family, f"any {family.replace('_', ' ')} action")])
        groups[family].append((name, label))
    return [(family.replace("_", " ").capitalize(), choices) for family, choices in groups.items()]


def _midnight(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
