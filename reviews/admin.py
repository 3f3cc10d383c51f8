from django.contrib import admin

from common.admin_mixins import ReadOnlyAdminMixin
from configs.admin import HistoryWithoutRevertAdmin
from reviews.models import ChangeRequest


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdminMixin, HistoryWithoutRevertAdmin):
    list_display = ["id", "config", "title", "author", "status", "updated_at"]
    list_filter = ["status", "config__namespace"]
    search_fields = ["title", "config__key"]
    # Changes go through the review gate in the console, never through edits here.
    readonly_fields = [f.name for f in ChangeRequest._meta.fields]
