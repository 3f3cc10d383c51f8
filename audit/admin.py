from django.contrib import admin

from audit.models import AuditEvent
from common.admin_mixins import ReadOnlyAdminMixin


# The log is append-only: the admin may read it, never change it.
@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "actor_name", "action", "namespace", "config", "target_repr"]
    list_filter = ["action", "namespace"]
    search_fields = ["actor_name", "config", "target_repr", "reason"]
