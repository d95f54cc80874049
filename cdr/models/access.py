"""Who may see which tenant's data: staff users belong to one or more tenants."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cdr.models.calls import Tenant


class TenantMembership(models.Model):
    """A staff user's access to one tenant's calls in the admin. Superusers need none."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cdr_memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="cdr_membership_uniq")]
        ordering = ["tenant", "user"]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant}"
