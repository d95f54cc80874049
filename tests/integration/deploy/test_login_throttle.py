"""Admin logins are throttled per (username, client address): django-axes through project.throttle."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from project.throttle import client_ip

pytestmark = pytest.mark.django_db
PASSWORD = "right-password-1"


@pytest.fixture
def staff():
    return get_user_model().objects.create_user("ops", password=PASSWORD, is_staff=True, is_superuser=True)


def _login(client, password, address="10.0.0.1"):
    data = {"username": "ops", "password": password, "next": "/admin/"}
    return client.post("/admin/login/", data, REMOTE_ADDR=address)


def test_five_failures_lock_the_pair_out_and_not_the_user_elsewhere(client, staff, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        assert _login(client, "guess").status_code == 200  # the form again, with its error
    assert _login(client, "guess").status_code == 429
    assert _login(client, PASSWORD).status_code == 429  # even the right password, from there
    assert _login(client, PASSWORD, address="10.0.0.2").status_code == 302


def test_a_success_clears_the_failures(client, staff):
    for _ in range(4):
        _login(client, "guess")
    assert _login(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert _login(client, "guess").status_code == 200


def test_logins_without_a_request_are_not_refused(client, staff):
    assert client.login(username="ops", password=PASSWORD)


def test_behind_the_tls_proxy_the_client_is_the_address_the_proxy_appended(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    settings.SECURE_PROXY_SSL_HEADER = None
    assert client_ip(request) == "172.18.0.5"
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client_ip(request) == "203.0.113.9"
