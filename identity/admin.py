from django.contrib import admin

from identity.models import Identity


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    """Read only: a person's link to the provider is made by their sign-in, never by hand."""

    list_display = ["user", "issuer", "subject", "last_sign_in_at"]
    search_fields = ["user__username", "subject"]
    readonly_fields = ["user", "issuer", "subject", "last_sign_in_at"]

    def has_add_permission(self, request):
        return False
