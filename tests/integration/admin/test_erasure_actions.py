"""Erasure and legal hold actions on the call list: superusers only; the audit trail page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cdr.models import Call, LegalHold, RecordDeletion, Tenant
from tests.support.tenants import TENANT_A

pytestmark = pytest.mark.django_db
LIST = reverse("admin:cdr_call_changelist")


def _post(client, action, calls):
    ids = [str(c.pk) for c in calls]
    return client.post(LIST, {"action": action, "_selected_action": ids}, follow=True)


def test_staff_cannot_see_or_run_the_superuser_actions(staff_client, calls):
    page = staff_client.get(LIST).content.decode()
    assert "export_csv" in page and "erasure_apply" not in page and "hold_place" not in page
    call = Call.objects.filter(tenant_id=TENANT_A).exclude(remote_addr="").first()
    _post(staff_client, "erasure_apply", [call])
    call.refresh_from_db()
    assert call.remote_addr and call.erased_at is None and not RecordDeletion.objects.exists()


def test_superuser_previews_then_erases(superuser_client, calls):
    call = Call.objects.filter(tenant_id=TENANT_A).exclude(remote_addr="").first()
    page = _post(superuser_client, "erasure_preview", [call]).content.decode()
    assert "Would erase (nothing changed yet): 1 call records" in page
    call.refresh_from_db()
    assert call.remote_addr and not RecordDeletion.objects.exists()
    page = _post(superuser_client, "erasure_apply", [call]).content.decode()
    assert "Erased: 1 call records" in page
    call.refresh_from_db()
    assert call.remote_addr == "" and call.erased_at is not None
    audit = RecordDeletion.objects.get()
    assert (audit.actor, audit.user.username, audit.tenant_id) == ("admin", "root", TENANT_A)
    assert superuser_client.get(reverse("admin:cdr_recorddeletion_changelist")).status_code == 200


def test_superuser_places_and_releases_a_hold(superuser_client, calls):
    call = Call.objects.filter(tenant_id=TENANT_A).first()
    _post(superuser_client, "hold_place", [call])
    hold = LegalHold.objects.get(call_id=call.call_id)
    assert hold.released_at is None and hold.placed_by.username == "root"
    _post(superuser_client, "hold_release", [call])
    hold.refresh_from_db()
    assert hold.released_at is not None


def test_the_audit_trail_is_superuser_only(staff_client, calls):
    assert staff_client.get(reverse("admin:cdr_recorddeletion_changelist")).status_code == 403


def test_superuser_sets_a_tenants_record_retention(superuser_client, calls):
    url = reverse("admin:cdr_tenant_change", args=[TENANT_A])
    page = superuser_client.get(url).content.decode()
    assert 'name="record_retention_days"' in page
    form = {"name": "A", "time_zone": "UTC", "record_retention_days": "30"}
    form |= {"memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"}
    response = superuser_client.post(url, form)
    assert response.status_code == 302
    assert Tenant.objects.get(id=TENANT_A).record_retention_days == 30
