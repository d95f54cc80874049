from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from cdr.models import Tenant

# Tenants are never deleted by the pipeline; once seen in this process, skip the round trip.
_known: set[int] = set()


def tenants_ensure(*, tenant_ids: Iterable[int]) -> None:
    """Create tenants seen for the first time (a new TenantID is never rejected)."""
    missing = {t for t in tenant_ids} - _known
    if not missing:
        return
    Tenant.objects.bulk_create(
        [Tenant(id=t, name="Unresolved tenant" if t == 0 else "") for t in sorted(missing)],
        ignore_conflicts=True,
    )
    # Remember only once committed: a rolled-back batch must not leave a tenant "known".
    transaction.on_commit(lambda: _known.update(missing))


def tenants_forget() -> None:
    """For tests that flush the database between cases."""
    _known.clear()
