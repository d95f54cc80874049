import pytest
from django.test import Client

from tests.support.tenants import TENANT_A, two_tenants
from tests.support.tenants import staff_user as make_staff_user


@pytest.fixture
def calls(db, local_recordings):
    return two_tenants()


@pytest.fixture
def staff_user(calls):
    return make_staff_user("alice", TENANT_A)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def superuser_client(calls, django_user_model):
    client = Client()  # its own session: a test may use it beside staff_client
    client.force_login(django_user_model.objects.create_superuser("root", password="x" * 12))
    return client
