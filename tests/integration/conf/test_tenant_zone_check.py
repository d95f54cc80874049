"""cdr.W002: a tenant whose stored time zone is no IANA name (its pages show UTC) is reported by the
database checks (``manage.py check --database default``, ``migrate``)."""

from __future__ import annotations

import pytest
from django.core import checks
from django.core.management import call_command

from cdr.models import Tenant

pytestmark = pytest.mark.django_db


def test_a_tenant_without_a_valid_zone_is_reported(capsys):
    Tenant.objects.create(id=61, name="Good", time_zone="Europe/Paris")
    assert [m for m in checks.run_checks(databases=["default"]) if m.id == "cdr.W002"] == []
    Tenant.objects.create(id=62, name="Legacy", time_zone="Europe/Pariss")
    found = [m for m in checks.run_checks(databases=["default"]) if m.id == "cdr.W002"]
    assert len(found) == 1 and found[0].obj.pk == 62
    assert 'Legacy (id 62) has the time zone "Europe/Pariss", which is not an IANA name' in found[0].msg
    # Not a start-up check: it reads the database.
    assert [m for m in checks.run_checks() if m.id == "cdr.W002"] == []
    call_command("check", "--database", "default")
    assert "cdr.W002" in capsys.readouterr().err
