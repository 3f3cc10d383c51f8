"""The admin, for the people who run Config Console: every change goes through configs.services.

A service may refuse a change the form could not foresee (a permission, a live value the new
schema rejects, a row someone changed meanwhile). The admin then rolls the whole save back and
shows the same form again with the refusal on it, as it would any other form error.
"""

from __future__ import annotations

from contextlib import contextmanager

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.fields import InvalidJSONInput, JSONString
from django.shortcuts import redirect
from simple_history.admin import SimpleHistoryAdmin

from common.admin_mixins import ReadOnlyAdminMixin
from common.jsontext import BadJSON, parse_json
from common.messages import REFUSALS, by_field, in_words
from configs import access, environments, policies, services
from configs.models import (
    Config,
    Environment,
    Membership,
    Namespace,
    ReviewPolicy,
    Schema,
    Version,
)
from reviews.kinds.schema import InvalidValues
from reviews.new_configs import config_propose
from reviews.services import schema_change_open


class Refused(Exception):
    """A service refused the change; `errors` are (form field or None, message) pairs."""

    def __init__(self, errors: list[tuple[str | None, str]]):
        self.errors = errors
        super().__init__("; ".join(message for _, message in errors))


def refusal_errors(exc: Exception, field: str | None = None, prefix: str = ""):
    """The messages a person should see for a service's refusal, by form field."""
    return [(name if name is not None else field, prefix + text) for name, text in by_field(exc)]


@contextmanager
def refusals_as_errors(field: str | None = None, prefix: str = ""):
    try:
        yield
    except REFUSALS as exc:
        raise Refused(refusal_errors(exc, field, prefix)) from exc


class StrictJSONField(forms.JSONField):
    """forms.JSONField read with common.jsontext: no NaN, duplicate keys or deep nesting."""

    def to_python(self, value):
        if self.disabled:
            return value
        if value in self.empty_values:
            return None
        if isinstance(value, (list, dict, int, float, JSONString)):
            return value
        try:
            converted = parse_json(value)
        except BadJSON as exc:
            raise ValidationError(exc.for_people(), code="invalid") from exc
        return JSONString(converted) if isinstance(converted, str) else converted

    def bound_data(self, data, initial):
        if self.disabled:
            return initial
        if data is None:
            return None
        try:
            return parse_json(data)
        except BadJSON:
            return InvalidJSONInput(data)


class ServiceForm(forms.ModelForm):
    """A model form whose save is a service call; `actor` and `refusal` are set per request."""

    actor = None
    refusal: list[tuple[str | None, str]] = []

    def clean(self):
        cleaned_data = super().clean()
        for field, message in self.refusal:
            self.add_error(field if field in self.fields else None, message)
        return cleaned_data


def _adopt(obj, saved) -> None:
    """Make the admin's unsaved `obj` the row a service saved, for the inlines and redirect."""
    obj.pk = saved.pk
    obj.refresh_from_db()
    obj._state.adding = False


class HistoryWithoutRevertAdmin(SimpleHistoryAdmin):
    """History to read, never to revert to: a revert saves the old row directly, past the
    services, their rules and the audit log."""

    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied("Old versions cannot be restored from the admin.")
        return super().history_form_view(request, object_id, version_id, extra_context)


class ThroughServicesAdmin(HistoryWithoutRevertAdmin):
    """Saves through services; shows a refusal as a form error; no revert and no delete, which
    would change rows without the services."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except Refused as exc:
            # The first try was rolled back; this one fails validation with the refusal.
            request._service_refusal = exc.errors
            access.forget_roles(request.user)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None and getattr(self, "add_form", None) is not None:
            kwargs["form"] = self.add_form
        form = super().get_form(request, obj, change=change, **kwargs)
        refusal = getattr(request, "_service_refusal", [])
        return type(form.__name__, (form,), {"actor": request.user, "refusal": refusal})

    def save_related(self, request, form, formsets, change):
        # Many-to-many fields are the service's to save (config owners), never form.save_m2m().
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def has_delete_permission(self, request, obj=None):
        return False


def _changes(form, fields) -> dict:
    return {name: form.cleaned_data[name] for name in form.changed_data if name in fields}


REASON_HELP = "Why you make this change; kept in the audit log."


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class ReviewPolicyInline(admin.TabularInline):
    """The namespace's review policy in each environment, and its configs' there: an empty
    field falls back (the config's in that environment, the namespace's there, the config's
    own setting, the namespace's)."""

    model = ReviewPolicy
    extra = 0
    fields = [
        "environment",
        "config",
        "required_approvals",
        "owner_approval_required",
        "bypass_allowed",
    ]
    verbose_name = "review policy in an environment"
    verbose_name_plural = "review policies per environment (empty: as the namespace's own)"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        config_field = formset.form.base_fields["config"]
        config_field.queryset = (
            Config.objects.filter(namespace=obj) if obj else Config.objects.none()
        )
        config_field.help_text = "Empty: for every config of the namespace."
        return formset


class NamespaceAddForm(ServiceForm):
    class Meta:
        model = Namespace
        fields = ["slug", "name", "description", "required_approvals", "owner_approval_required"]


class NamespaceChangeForm(ServiceForm):
    reason = forms.CharField(required=False, help_text=REASON_HELP)

    class Meta:
        model = Namespace
        fields = ["name", "description", "required_approvals", "owner_approval_required"]


_NAME_TAKEN = (
    "There is already an environment with this name: choose another name (an environment's "
    "name is how reads and tokens pick it)."
)


class EnvironmentForm(ServiceForm):
    reason = forms.CharField(required=False, help_text=REASON_HELP)

    class Meta:
        model = Environment
        fields = ["name", "title"]
        error_messages = {"name": {"unique": _NAME_TAKEN}}


@admin.register(Environment)
class EnvironmentAdmin(ThroughServicesAdmin):
    """Add and rename through configs.services; reorder with the actions (or on the console's
    Environments page). Never removed: every config has its versions in each."""

    list_display = ["name", "title", "position", "is_default"]
    ordering = ["position", "id"]
    form = EnvironmentForm
    actions = ["move_earlier", "move_later"]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.display(boolean=True, description="Default")
    def is_default(self, obj) -> bool:
        return obj.pk == environments.default().id

    def delete_view(self, request, object_id, extra_context=None):
        environment = self.get_object(request, object_id)
        if environment is not None:
            try:
                services.environment_remove(environment=environment, actor=request.user)
            except REFUSALS as exc:
                self.message_user(request, in_words(exc), messages.ERROR)
        return redirect("admin:configs_environment_changelist")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        with refusals_as_errors():
            if change:
                services.environment_update(
                    environment=obj,
                    actor=request.user,
                    reason=data["reason"],
                    **_changes(form, services.ENVIRONMENT_DETAILS),
                )
                return
            environment = services.environment_add(
                name=data["name"], title=data["title"], actor=request.user, reason=data["reason"]
            )
        _adopt(obj, environment)

    def _move(self, request, queryset, later: bool):
        # One at a time, in the order they would move past each other without swapping back.
        for environment in sorted(queryset, key=lambda e: e.position, reverse=later):
            try:
                services.environment_move(environment=environment, actor=request.user, later=later)
            except REFUSALS as exc:
                self.message_user(request, in_words(exc), messages.ERROR)
            else:
                self.message_user(
                    request, f"Moved {environment.label} {'later' if later else 'earlier'}."
                )

    @admin.action(description="Move the selected environments earlier in promotion order")
    def move_earlier(self, request, queryset):
        self._move(request, queryset, later=False)

    @admin.action(description="Move the selected environments later in promotion order")
    def move_later(self, request, queryset):
        self._move(request, queryset, later=True)


@admin.register(Namespace)
class NamespaceAdmin(ThroughServicesAdmin):
    list_display = ["slug", "name", "required_approvals", "owner_approval_required"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline, ReviewPolicyInline]
    form = NamespaceChangeForm
    add_form = NamespaceAddForm

    def get_readonly_fields(self, request, obj=None):
        return ["slug"] if obj else []

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        with refusals_as_errors():
            if change:
                services.namespace_update(
                    namespace=obj,
                    actor=request.user,
                    reason=data["reason"],
                    **_changes(form, services.NAMESPACE_SETTINGS),
                )
                return
            namespace = services.namespace_create(
                slug=data["slug"],
                name=data["name"],
                actor=request.user,
                required_approvals=data["required_approvals"],
                owner_approval_required=data["owner_approval_required"],
                description=data["description"],
            )
            # The new namespace is not among the roles read earlier in this request.
            access.forget_roles(request.user)
        _adopt(obj, namespace)

    def save_formset(self, request, form, formset, change):
        if formset.model is ReviewPolicy:
            return self._save_policies(request, form, formset)
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        namespace, actor = form.instance, request.user
        # Filled in as formset.save() would, for the admin's own change message.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.deleted_forms:
            if row.instance.pk is None:
                continue
            stored = Membership.objects.select_related("user").get(pk=row.instance.pk)
            with refusals_as_errors(prefix=f"{stored.user}: "):
                services.membership_remove(namespace=namespace, user=stored.user, actor=actor)
            formset.deleted_objects.append(stored)
        for row in formset.forms:
            if row in formset.deleted_forms or not row.has_changed():
                continue
            user, role = row.cleaned_data["user"], row.cleaned_data["role"]
            with refusals_as_errors(prefix=f"{user}: "):
                if row.instance.pk is not None:
                    stored = Membership.objects.select_related("user").get(pk=row.instance.pk)
                    if stored.user_id != user.pk:  # the row now names someone else
                        services.membership_remove(
                            namespace=namespace, user=stored.user, actor=actor
                        )
                membership = services.membership_set(
                    namespace=namespace, user=user, role=role, actor=actor
                )
            if row.instance.pk is None:
                formset.new_objects.append(membership)
            else:
                formset.changed_objects.append((membership, row.changed_data))

    def _save_policies(self, request, form, formset):
        """Each policy row through policies.policy_set (admins only, audited); a row deleted
        is a policy with nothing set."""
        namespace, actor = form.instance, request.user
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.forms:
            deleted = row in formset.deleted_forms
            if not deleted and not row.has_changed():
                continue
            if deleted and row.instance.pk is None:
                continue
            stored = ReviewPolicy.objects.filter(pk=row.instance.pk).first()
            data = row.cleaned_data
            where = {
                "environment": data.get("environment") or stored.environment,
                "config": data.get("config") if not deleted else stored.config,
            }
            if stored is not None and (
                stored.environment_id != where["environment"].pk
                or stored.config_id != getattr(where["config"], "pk", None)
            ):
                # The row now names another environment or config: the old policy goes.
                with refusals_as_errors(prefix=f"{stored}: "):
                    policies.policy_set(
                        namespace=namespace,
                        environment=stored.environment,
                        config=stored.config,
                        actor=actor,
                        **dict.fromkeys(policies.FIELDS),
                    )
            settings = (
                dict.fromkeys(policies.FIELDS)
                if deleted
                else {field: data.get(field) for field in policies.FIELDS}
            )
            with refusals_as_errors(prefix=f"{where['environment']}: "):
                saved = policies.policy_set(namespace=namespace, actor=actor, **where, **settings)
            if deleted:
                formset.deleted_objects.append(stored)
            elif stored is None:
                formset.new_objects.append(saved)
            else:
                formset.changed_objects.append((saved, row.changed_data))


class SchemaForm(ServiceForm):
    body = StrictJSONField(help_text="A JSON Schema (Draft 2020-12).")

    class Meta:
        model = Schema
        fields = ["name", "title", "description", "body"]

    def clean(self):
        cleaned_data = super().clean()
        schema, body = self.instance, cleaned_data.get("body")
        if schema.pk is None or body is None:
            return cleaned_data
        if not access.can_edit_schema(self.actor, schema):
            raise ValidationError(
                "Only admins of every namespace using this schema can change it.",
                code="permission",
            )
        # Values the new body rejects are the schema change request's to judge: the defaults of
        # new required fields may fix them (SchemaAdmin.save_model).
        return cleaned_data


class SchemaChangeForm(SchemaForm):
    reason = forms.CharField(required=False, help_text=REASON_HELP)

    class Meta(SchemaForm.Meta):
        fields = ["title", "description", "body"]


def _propose_schema_change(schema: Schema, body, author, reason: str):
    """A new body is never saved from the admin: it opens a schema change request, reviewed
    with the values it changes like one opened in the console."""
    try:
        return schema_change_open(
            schema=schema,
            author=author,
            body=body,
            base_version=schema.versions.latest("number").number,
            title=reason.strip() or f"Change schema {schema.name} (from the admin)",
        )
    except InvalidValues as exc:
        raise Refused(refusal_errors(exc, "body")) from exc


@admin.register(Schema)
class SchemaAdmin(ThroughServicesAdmin):
    list_display = ["name", "title", "updated_at"]
    search_fields = ["name", "title", "description"]
    form = SchemaChangeForm
    add_form = SchemaForm

    def get_readonly_fields(self, request, obj=None):
        return ["name"] if obj else []

    def response_change(self, request, obj):
        change = getattr(request, "_schema_change", None)
        if change is None:
            return super().response_change(request, obj)
        self.message_user(
            request,
            f"The new schema is not in use yet: schema change #{change.pk} asks for review, "
            "with the values it changes.",
            messages.INFO,
        )
        return redirect(change)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        with refusals_as_errors("body"):
            if change:
                stored = Schema.objects.get(pk=obj.pk)
                if _changes(form, ["title", "description"]):
                    services.schema_update(
                        schema=stored,
                        body=stored.body,
                        actor=request.user,
                        reason=data["reason"],
                        title=data["title"],
                        description=data["description"],
                    )
                if _changes(form, ["body"]):
                    request._schema_change = _propose_schema_change(
                        stored, data["body"], request.user, data["reason"]
                    )
                return
            schema = services.schema_create(
                name=data["name"],
                body=data["body"],
                actor=request.user,
                title=data["title"],
                description=data["description"],
            )
        _adopt(obj, schema)


class ConfigChangeForm(ServiceForm):
    reason = forms.CharField(required=False, help_text=REASON_HELP)

    class Meta:
        model = Config
        fields = [
            "name",
            "description",
            "owners",
            "schema",
            "required_approvals",
            "owner_approval_required",
        ]


class ConfigAddForm(ServiceForm):
    first_value = StrictJSONField(
        label="First value",
        help_text="JSON; version 1, published at once where the namespace needs no review, "
        "otherwise a change request.",
    )
    reason = forms.CharField(
        required=False, help_text="Kept with version 1 (“Created” if left empty)."
    )

    class Meta:
        model = Config
        fields = ["namespace", "key", "name", "description", "owners", "schema"]


@admin.register(Config)
class ConfigAdmin(ThroughServicesAdmin):
    list_display = ["key", "namespace", "name", "schema"]
    list_filter = ["namespace"]
    search_fields = ["key", "name", "description"]
    filter_horizontal = ["owners"]
    form = ConfigChangeForm
    add_form = ConfigAddForm

    def get_readonly_fields(self, request, obj=None):
        return ["namespace", "key"] if obj else []

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            with refusals_as_errors("schema" if "schema" in form.changed_data else None):
                services.config_update(
                    config=obj,
                    actor=request.user,
                    reason=data["reason"],
                    **_changes(form, services.CONFIG_DETAILS),
                )
            return
        with refusals_as_errors("first_value"):
            # The console's and the API's path: version 1 passes the namespace's policy.
            created = config_propose(
                namespace=data["namespace"],
                key=data["key"],
                name=data["name"],
                value=data["first_value"],
                actor=request.user,
                description=data["description"],
                schema=data["schema"],
                owners=data["owners"] or None,
                title=data["reason"] or "Created",
            )
        config = created.config
        if created.version is None:
            self.message_user(
                request,
                f"Version 1 of {config} waits for review (change request "
                f"#{created.change_request.pk}); pipelines get it once it is published.",
            )
        _adopt(obj, config)


# Versions are immutable and kept forever, in the admin too.
@admin.register(Version)
class VersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["config", "number", "effective_at", "published_by", "bypass_reason"]
    list_filter = ["config__namespace"]
    readonly_fields = [f.name for f in Version._meta.fields]
