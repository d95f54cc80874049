"""Tenant scoping: a staff user of tenant A reaches nothing of tenant B through any admin URL.

The walk is generic: every cdr model registered with the admin, every object of tenant B, every
view Django's admin serves for it, every autocomplete endpoint that can list it, and the actions.
The same walk as a superuser finds tenant B everywhere, which proves the walk can see a leak.
"""

from __future__ import annotations

import json

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from cdr.admin.scoping import SuperuserOnlyAdmin, TenantScopedAdmin
from cdr.models import Call, Recording, Tenant
from cdr.selectors.access import calls_visible_to, tenant_ids_for
from tests.support.tenants import TENANT_A, TENANT_B, staff_user

pytestmark = pytest.mark.django_db

# What only tenant B's rows print. A marker that is part of the URL itself (a search term echoed
# in the search box) is not evidence; B's rows still give themselves away by the others, such as
# the link to each of B's objects.
MARKERS = ["zulu-", "secretcorp", "198.51.100.77:", "bob-of-b", "zulu.pbx"]


def b_markers() -> list[str]:
    links = []
    for model, model_admin in cdr_admins():
        info = (model._meta.app_label, model._meta.model_name)
        links += [reverse("admin:{}_{}_change".format(*info), args=[o.pk]) for o in objects_of_b(model, model_admin)]
    return MARKERS + links


def leaked(text: str, url: str = "", markers: list[str] | None = None) -> list[str]:
    low = text.lower()
    return [m for m in (markers or MARKERS) if m.lower() in low and m.lower() not in url.lower()]


def cdr_admins():
    return [(m, ma) for m, ma in admin.site._registry.items() if m._meta.app_label == "cdr"]


def objects_of_b(model, model_admin):
    if isinstance(model_admin, TenantScopedAdmin):
        return list(model._default_manager.filter(**{model_admin.tenant_field: TENANT_B}))
    assert isinstance(model_admin, SuperuserOnlyAdmin), (
        f"{model.__name__}: admin is neither tenant-scoped nor superuser-only"
    )
    return list(model._default_manager.all())


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def walk(client, b_call_ids):
    """Every URL that could show tenant B: yields (url, status, body)."""
    for model, model_admin in cdr_admins():
        info = (model._meta.app_label, model._meta.model_name)
        changelist = reverse("admin:{}_{}_changelist".format(*info))
        for query in ("", "?q=zulu", "?q=198.51.100.77", f"?tenant={TENANT_B}", f"?q={TENANT_B}", "?q=b"):
            yield changelist + query
        yield reverse("admin:{}_{}_add".format(*info))
        for obj in objects_of_b(model, model_admin):
            for view in ("change", "history", "delete"):
                yield reverse(f"admin:{info[0]}_{info[1]}_{view}", args=[obj.pk])
            ct = ContentType.objects.get_for_model(model)
            yield f"/admin/r/{ct.pk}/{obj.pk}/"
    yield reverse("admin:cdr_call_active")
    # Recording links (the recordings helper's view): B's recordings must not be handed out.
    for recording in Recording.objects.filter(tenant_id=TENANT_B):
        for query in ("?purpose=playback", "?purpose=download", "?purpose=download&variant=original", "?purpose=api"):
            yield reverse("cdr:recording-link", args=[recording.pk]) + query
        yield reverse("cdr:recording-waveform", args=[recording.pk])
    for call_id in b_call_ids:
        yield reverse("admin:cdr_call_changelist") + f"?q={call_id}"
    # Autocomplete: every foreign key, in any app, that points at a registered cdr model.
    registered = {m for m, _ in cdr_admins()}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if field.is_relation and (field.many_to_one or field.one_to_one) and field.concrete:
                if field.related_model in registered:
                    for term in ("", "zulu", str(TENANT_B), "Zulu"):
                        yield (
                            f"/admin/autocomplete/?app_label={model._meta.app_label}"
                            f"&model_name={model._meta.model_name}&field_name={field.name}&term={term}"
                        )


@pytest.fixture
def tenant_b_user(calls):
    return staff_user("bob-of-b", TENANT_B)


def test_staff_of_tenant_a_reaches_nothing_of_tenant_b(staff_client, calls, tenant_b_user):
    _, b = calls
    markers = b_markers()
    checked = 0
    for url in walk(staff_client, b.all):
        response = staff_client.get(url)
        assert response.status_code in (200, 302, 400, 403, 404), url
        if url.startswith("/recordings/"):
            # B's recordings are refused outright: a waveform (SVG) or a redirect carries no marker.
            assert response.status_code in (403, 404), url
        if response.status_code == 302:
            # "Does not exist" redirects to the admin index, an unusable filter to "?e=1": never to B.
            location = response["Location"]
            assert location == reverse("admin:index") or location.endswith("?e=1"), (url, location)
            response = staff_client.get(response["Location"])
        found = leaked(body(response), url, markers)
        assert not found, (url, found)
        checked += 1
    assert checked > 50


def test_actions_ignore_rows_of_other_tenants(staff_client, calls):
    a, _ = calls
    ids_b = list(Call.objects.filter(tenant_id=TENANT_B).values_list("pk", flat=True))
    ids_a = list(Call.objects.filter(tenant_id=TENANT_A).values_list("pk", flat=True))
    url = reverse("admin:cdr_call_changelist")
    response = staff_client.post(url, {"action": "export_csv", "_selected_action": ids_b + ids_a[:1]})
    assert response.status_code == 200
    text = body(response)
    assert not leaked(text) and text.count("\n") == 2  # the header and A's one row
    response = staff_client.post(url, {"action": "export_csv", "_selected_action": ids_b, "select_across": "1"})
    text = body(response)
    assert not leaked(text) and set(a.all) <= set(text.replace(",", "\n").splitlines())


def test_the_same_walk_finds_tenant_b_as_a_superuser(superuser_client, calls, tenant_b_user):
    _, b = calls
    markers = b_markers()
    seen = set()
    for url in walk(superuser_client, b.all):
        response = superuser_client.get(url)
        if response.status_code == 200 and leaked(body(response), url, markers):
            seen.add(url.split("?")[0].rstrip("/").rsplit("/", 2)[-1] if "/change/" in url else url)
    assert any("change" in s for s in seen), seen
    assert any(s.startswith("/admin/autocomplete/") for s in seen), seen


def test_access_functions(calls, django_user_model):
    alice = staff_user("alice", TENANT_A)
    multi = staff_user("multi", TENANT_A, TENANT_B)
    nobody = django_user_model.objects.create_user("nobody", is_staff=True)
    root = django_user_model.objects.create_superuser("root2", password="x" * 12)
    assert tenant_ids_for(alice) == {TENANT_A}
    assert tenant_ids_for(multi) == {TENANT_A, TENANT_B}
    assert tenant_ids_for(nobody) == set()
    assert tenant_ids_for(root) is None
    root.is_active = False
    assert tenant_ids_for(root) == set()
    assert {c.tenant_id for c in calls_visible_to(alice)} == {TENANT_A}
    assert calls_visible_to(nobody).count() == 0
    assert calls_visible_to(multi).count() == Call.objects.count()
    # Agent legs arrive with tenant 0 and inherit the inbound leg's tenant: none is left unscoped.
    assert not Call.objects.filter(tenant_id=0).exists()
    assert set(Tenant.objects.values_list("id", flat=True)) == {0, TENANT_A, TENANT_B}


def test_staff_without_membership_sees_no_cdr_data(client, calls, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", is_staff=True))
    assert client.get(reverse("admin:cdr_call_changelist")).status_code == 403
    index = client.get(reverse("admin:index")).content.decode()
    assert "Calls" not in index


def test_autocomplete_of_tenants_lists_only_own(staff_client, calls):
    url = "/admin/autocomplete/?app_label=cdr&model_name=call&field_name=tenant&term="
    results = json.loads(staff_client.get(url).content)["results"]
    assert [r["id"] for r in results] == [str(TENANT_A)]
