"""API tokens: hashed at rest, revocable, created by command and admin, enforced on every route."""

import hashlib
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from cdr.models import ApiToken
from cdr.services.api_tokens import api_token_create, api_token_revoke
from tests.support.http import bearer_client

pytestmark = pytest.mark.django_db

LIST = "/api/v1/calls/"


def test_only_a_hash_of_the_key_is_stored(alice):
    issued = api_token_create(user=alice, name="bi")
    row = ApiToken.objects.values().get(pk=issued.token.pk)
    assert row["prefix"] == issued.key[:8]
    assert row["key_hash"] == hashlib.sha256(issued.key.encode()).hexdigest()
    assert issued.key not in {str(v) for v in row.values()}


def test_a_valid_key_authenticates_and_is_touched(alice):
    issued = api_token_create(user=alice)
    assert bearer_client(issued.key).get(LIST).status_code == 200
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer nope-nope-nope", "Bearer a b", "Token whatever", "Bearer \u00e9t\u00e9"]
)
def test_missing_or_wrong_credentials_are_401(alice, header):
    api_token_create(user=alice)
    client = Client()
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get(LIST, **extra)
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_same_prefix_wrong_key_is_401(alice):
    issued = api_token_create(user=alice)
    assert bearer_client(issued.key[:8] + "x" * 35).get(LIST).status_code == 401


def test_a_revoked_token_is_401_with_the_reason(alice):
    issued = api_token_create(user=alice)
    assert api_token_revoke(prefix=issued.token.prefix) == 1
    response = bearer_client(issued.key).get(LIST)
    assert response.status_code == 401
    assert response.json() == {"detail": "Token revoked."}


def test_an_inactive_users_token_is_401(alice):
    issued = api_token_create(user=alice)
    alice.is_active = False
    alice.save()
    assert bearer_client(issued.key).get(LIST).status_code == 401


def test_command_creates_prints_once_and_revokes(alice):
    out, err = io.StringIO(), io.StringIO()
    call_command("cdr_api_token", "create", "--user", "alice", "--name", "bi", stdout=out, stderr=err)
    key = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.prefix) == (alice, "bi", key[:8])
    assert key not in err.getvalue()
    assert bearer_client(key).get(LIST).status_code == 200
    call_command("cdr_api_token", "revoke", key[:8], stdout=io.StringIO())
    assert bearer_client(key).get(LIST).status_code == 401
    with pytest.raises(CommandError, match="no live token"):
        call_command("cdr_api_token", "revoke", key[:8], stdout=io.StringIO())
    with pytest.raises(CommandError, match="--user"):
        call_command("cdr_api_token", "create", "--user", "nobody", stdout=io.StringIO())


def test_admin_creates_shows_the_key_once_and_revokes(alice, django_user_model):
    admin = Client()
    admin.force_login(django_user_model.objects.create_superuser("root", password="x" * 12))
    response = admin.post("/admin/cdr/apitoken/add/", {"user": alice.pk, "name": "bi"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get()
    key = re.search(r'<code id="cdr-secret"[^>]*>([^<]+)</code>', response.content.decode()).group(1)
    # The key travels in this page only: not in a cookie (the messages framework would put it there).
    assert all(key not in morsel.value for morsel in response.cookies.values())
    assert key[:8] == token.prefix and hashlib.sha256(key.encode()).hexdigest() == token.key_hash
    assert bearer_client(key).get(LIST).status_code == 200
    page = admin.get(f"/admin/cdr/apitoken/{token.pk}/change/")
    assert key not in page.content.decode()
    admin.post("/admin/cdr/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert bearer_client(key).get(LIST).status_code == 401


def test_staff_cannot_reach_the_token_admin(alice):
    staff = Client()
    staff.force_login(alice)
    assert staff.get("/admin/cdr/apitoken/").status_code == 403
