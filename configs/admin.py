from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from configs.models import Config, Membership, Namespace, Schema, Version


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Namespace)
class NamespaceAdmin(SimpleHistoryAdmin):
    list_display = ["slug", "name", "required_approvals", "owner_approval_required"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]


@admin.register(Schema)
class SchemaAdmin(SimpleHistoryAdmin):
    list_display = ["name", "title", "updated_at"]
    search_fields = ["name", "title", "description"]


@admin.register(Config)
class ConfigAdmin(SimpleHistoryAdmin):
    list_display = ["key", "namespace", "name", "schema"]
    list_filter = ["namespace"]
    search_fields = ["key", "name", "description"]
    filter_horizontal = ["owners"]


@admin.register(Version)
class VersionAdmin(admin.ModelAdmin):
    list_display = ["config", "number", "effective_at", "published_by", "bypass_reason"]
    list_filter = ["config__namespace"]
    readonly_fields = [f.name for f in Version._meta.fields]

    # Versions are immutable and kept forever, in the admin too.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
