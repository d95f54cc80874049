"""The tenant page: the time zone is a select of IANA names, checked by the model; a stored name
that is no zone is shown as an error, never silently used as UTC."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cdr.models import Tenant
from cdr.models.zones import time_zone_names

pytestmark = pytest.mark.django_db


# The staff-members inline's empty formset, which a superuser's tenant form carries.
INLINE = {"memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0}


def change_url(pk: int) -> str:
    return reverse("admin:cdr_tenant_change", args=[pk])


def test_the_model_refuses_a_name_that_is_no_zone():
    tenant = Tenant(id=41, name="Typo", time_zone="Europe/Pariss")
    with pytest.raises(ValidationError) as refused:
        tenant.full_clean()
    assert refused.value.message_dict["time_zone"] == [
        '"Europe/Pariss" is not an IANA time zone name (such as "Europe/Paris" or "UTC").'
    ]
    tenant.time_zone = "europe/paris"
    with pytest.raises(ValidationError, match='Did you mean "Europe/Paris"'):
        tenant.full_clean()
    for name in ("Europe/Paris", "UTC", "America/Argentina/Buenos_Aires"):
        Tenant(id=42, time_zone=name).full_clean()
    assert "localtime" not in time_zone_names() and len(time_zone_names()) > 400


def test_the_admin_offers_a_select_and_refuses_a_typo(admin_client):
    html = admin_client.get(reverse("admin:cdr_tenant_add")).content.decode()
    select = re.search(r'<select name="time_zone"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert '<option value="Europe/Paris">Europe/Paris</option>' in select
    assert '<option value="UTC" selected>UTC</option>' in select
    assert select.count("<option") == len(time_zone_names())

    response = admin_client.post(
        reverse("admin:cdr_tenant_add"), {**INLINE, "id": 51, "name": "Typo", "time_zone": "Europe/Pariss"}
    )
    assert response.status_code == 200 and not Tenant.objects.filter(id=51).exists()
    assert "&quot;Europe/Pariss&quot; is not an IANA time zone name" in response.content.decode()

    response = admin_client.post(
        reverse("admin:cdr_tenant_add"), {**INLINE, "id": 51, "name": "Good", "time_zone": "Asia/Tokyo"}
    )
    assert response.status_code == 302 and Tenant.objects.get(id=51).time_zone == "Asia/Tokyo"


def test_a_stored_name_that_is_no_zone_is_an_error_on_the_tenant_page(admin_client):
    Tenant.objects.create(id=52, name="Legacy", time_zone="Europe/Pariss")  # written around the validator
    html = admin_client.get(change_url(52)).content.decode()
    assert 'class="error"' in html and "is not an IANA name: its times are shown in UTC" in html
    # Still the selected value (saving the page unchanged is refused), not the list's first zone.
    assert '<option value="Europe/Pariss" selected>Europe/Pariss (not a time zone: times shown in UTC)</option>' in html
    response = admin_client.post(change_url(52), {**INLINE, "name": "Legacy", "time_zone": "Europe/Pariss"})
    assert response.status_code == 200 and "is not an IANA time zone name" in response.content.decode()
    listing = admin_client.get(reverse("admin:cdr_tenant_changelist")).content.decode()
    assert 'Europe/Pariss <strong class="cdr-bad-zone">(not a time zone: UTC)</strong>' in listing

    response = admin_client.post(change_url(52), {**INLINE, "name": "Legacy", "time_zone": "Europe/Paris"})
    assert response.status_code == 302 and Tenant.objects.get(id=52).time_zone == "Europe/Paris"
    assert "is not an IANA name" not in admin_client.get(change_url(52)).content.decode()
