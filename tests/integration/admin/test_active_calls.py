import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.support.tenants import TENANT_B, staff_user

pytestmark = pytest.mark.django_db
URL = reverse("admin:cdr_call_active")


def test_lists_only_live_calls_of_the_users_tenants(staff_client, calls, django_assert_max_num_queries):
    a, b = calls
    with django_assert_max_num_queries(7):
        html = staff_client.get(URL).content.decode()
    assert a.live in html and b.live not in html and a.answered not in html
    assert "Alpha Telecom — 1 ringing, 0 established" in html


def test_superuser_sees_every_tenant_grouped(superuser_client, calls):
    a, b = calls
    html = superuser_client.get(URL).content.decode()
    assert a.live in html and b.live in html and "Zulu Secretcorp" in html


def test_reads_the_partial_index(superuser_client, calls):
    # The predicate must match the index's for the planner to be able to use it (bench/admin.py
    # prints the plan on 2M rows, where the planner's choice means something).
    with CaptureQueriesContext(connection) as ctx:
        superuser_client.get(URL)
    sql = next(q["sql"] for q in ctx.captured_queries if "cdr_call" in q["sql"] and "ringing" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(r[0] for r in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "cdr_call_active" in plan, plan


def test_user_without_tenants_is_refused(client, calls):
    client.force_login(staff_user("nobody"))
    assert client.get(URL).status_code == 403
    client.force_login(staff_user("bob", TENANT_B))
    assert "zulu-live" in client.get(URL).content.decode()
