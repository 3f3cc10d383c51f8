"""Who a person is at the company's identity provider, the groups it puts them in, which roles
those groups give, and the bearer tokens the provider provisions people with (SCIM)."""

from django.conf import settings
from django.db import models

from configs.models import Namespace, Role


class Identity(models.Model):
    """A person as the OpenID provider knows them: `sub` is stable, unlike an e-mail or a name."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identities"
    )
    issuer = models.CharField(max_length=300)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="identity_one_per_subject")
        ]
        verbose_name_plural = "identities"

    def __str__(self) -> str:
        return f"{self.user} at {self.issuer}"


class ProvisionedPerson(models.Model):
    """A person the identity provider created over SCIM (only these are ever linked to a first
    OpenID sign-in by name: a local password account never is)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provisioned"
    )
    external_id = models.CharField(max_length=255, blank=True)
    # The addresses as the provider sent them (the person's own e-mail is the primary one).
    emails = models.JSONField(default=list, blank=True)
    provisioned_at = models.DateTimeField(auto_now_add=True)
    # SCIM DELETE: the person is deactivated and no longer listed; their name stays in history.
    removed = models.BooleanField(default=False)

    def __str__(self) -> str:
        return str(self.user)


class ProviderGroup(models.Model):
    """A group at the identity provider, from SCIM or from the groups claim of a sign-in."""

    name = models.CharField(max_length=200, unique=True)
    external_id = models.CharField(max_length=255, blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="provider_groups", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GroupRole(models.Model):
    """One line of the mapping admins edit: members of `group_name` get `role` in `namespace`."""

    group_name = models.CharField(max_length=200)
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="group_roles")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group_name", "namespace__slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["group_name", "namespace"], name="group_role_one_per_namespace"
            )
        ]

    def __str__(self) -> str:
        return f"{self.group_name} → {self.namespace.slug}: {self.role}"


class MappedRole(models.Model):
    """A membership the mapping gave: the mapping takes back only what it gave, never a role an
    admin gave by hand in a namespace the mapping does not name."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mapped_roles"
    )
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "namespace"], name="mapped_role_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.namespace_id} (from groups)"


class ScimToken(models.Model):
    """The identity provider's bearer token for /scim/v2/; only a hash of the secret is kept."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class SignedInSession(models.Model):
    """A session a person signed in with, so deactivating them can end each one at once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=64, unique=True)
    signed_in_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"a session of {self.user_id}"
