from django.contrib import admin

from common.admin_mixins import ReadOnlyAdminMixin
from configs.admin import HistoryWithoutRevertAdmin
from reviews.models import Change, ChangeRequest


class ChangeInline(admin.TabularInline):
    model = Change
    fields = ["kind", "config", "base_version", "value", "published_version"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdminMixin, HistoryWithoutRevertAdmin):
    list_display = ["id", "title", "author", "status", "updated_at"]
    list_filter = ["status", "changes__config__namespace"]
    search_fields = ["title", "changes__config__key"]
    inlines = [ChangeInline]
    # Changes go through the review gate in the console, never through edits here.
    readonly_fields = [f.name for f in ChangeRequest._meta.fields]
