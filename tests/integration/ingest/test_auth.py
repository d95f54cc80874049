"""Signed requests: 401 with the header at fault, 403 for a revoked gateway, secrets never in clear."""

from __future__ import annotations

import json
import time

import pytest
from django.core.management import call_command

from cdr.ingest.signing import signed_headers
from cdr.models import CallEvent, Gateway, GatewayEvent
from tests.support.factories import call, event
from tests.support.http import EVENTS, GatewayClient

pytestmark = pytest.mark.django_db

BATCH = [dict(event("ringing", 0, call("a@gw")), event_id="1")]
BODY = json.dumps(BATCH).encode()
JSON = {"Content-Type": "application/json"}


def post(client, headers, body=BODY, path=EVENTS):
    return client.generic("POST", path, body, content_type="application/json", headers=headers)


def test_the_secret_is_stored_encrypted_and_verifies(issued, gw):
    row = Gateway.objects.get()
    assert issued.secret not in row.secret_encrypted
    assert gw.events(BATCH).status_code == 200
    assert Gateway.objects.get().last_seen_at is not None


@pytest.mark.parametrize(
    ("drop", "reason"),
    [("X-CDR-Key", "X-CDR-Key: missing"), ("X-CDR-Signature", "X-CDR-Signature: missing")],
)
def test_missing_headers_are_401_naming_them(gw, client, drop, reason):
    headers = signed_headers(gw.key_id, gw.secret, "POST", EVENTS, BODY, headers=JSON)
    del headers[drop]
    response = post(client, headers)
    assert response.status_code == 401
    assert response.json() == {"detail": reason}
    assert response.headers["WWW-Authenticate"].startswith("CDR-HMAC-SHA256")


def test_a_tampered_body_method_or_path_or_wrong_secret_is_401(gw, client):
    good = signed_headers(gw.key_id, gw.secret, "POST", EVENTS, BODY, headers=JSON)
    tampered = BODY.replace(b"a@gw", b"b@gw")
    assert post(client, good, body=tampered).json()["detail"].startswith("X-CDR-Signature: does not match")
    other_path = signed_headers(gw.key_id, gw.secret, "POST", "/ingest/v1/recordings/a@gw", BODY, headers=JSON)
    assert post(client, other_path).status_code == 401
    wrong = signed_headers(gw.key_id, gw.secret + "x", "POST", EVENTS, BODY, headers=JSON)
    assert post(client, wrong).status_code == 401
    unknown = signed_headers("gw_nobody", gw.secret, "POST", EVENTS, BODY, headers=JSON)
    assert post(client, unknown).json() == {"detail": "X-CDR-Key: unknown key"}
    assert CallEvent.objects.count() == 0 and GatewayEvent.objects.count() == 0


def test_a_timestamp_outside_the_replay_window_is_401(gw, settings):
    settings.CDR_INGEST = {**settings.CDR_INGEST, "REPLAY_SECONDS": 300}
    stale = gw.events(BATCH, timestamp=int(time.time()) - 301)
    assert stale.status_code == 401
    assert stale.json()["detail"].startswith("X-CDR-Timestamp: outside the 300 s window")
    assert gw.events(BATCH, timestamp=int(time.time()) + 400).status_code == 401
    assert gw.events(BATCH, timestamp=int(time.time()) - 290).status_code == 200
    for bad in ("yesterday", "9" * 400, "+1790000000", "-5", "١٧٩٠٠٠٠٠٠٠", "1790000000.5"):
        garbage = gw.events(BATCH, **{"X-CDR-Timestamp": bad})
        assert (garbage.status_code, garbage.json()) == (401, {"detail": "X-CDR-Timestamp: expected unix seconds"})


def test_a_revoked_gateway_is_403(gw, capsys):
    call_command("cdr_gateway", "revoke", "edge-1")
    response = gw.events(BATCH)
    assert response.status_code == 403
    assert response.json() == {"detail": "X-CDR-Key: gateway revoked"}
    assert CallEvent.objects.count() == 0


def test_a_secret_encrypted_under_another_key_no_longer_verifies(gw, settings):
    settings.CDR_INGEST = {**settings.CDR_INGEST, "SECRET_KEY": "rotated"}
    assert gw.events(BATCH).status_code == 401


def test_command_creates_prints_the_secret_once_and_revokes(db, capsys):
    call_command("cdr_gateway", "create", "edge-9", "--tenant", "7", "--tenant", str(2**64 - 1))
    out = capsys.readouterr().out
    key_id, secret = (line.split("=", 1)[1] for line in out.split())
    row = Gateway.objects.get(key_id=key_id)
    assert row.tenant_ids == [7, 2**64 - 1] and secret not in row.secret_encrypted
    from cdr.services.gateways import IssuedGateway

    assert (
        GatewayClient(IssuedGateway(row, secret))
        .events([dict(event("ringing", 0, call("big@gw", tenant_id=2**64 - 1)), event_id="1")])
        .json()["accepted"]
        == 1
    )
    call_command("cdr_gateway", "revoke", key_id)
    assert not Gateway.objects.get().active
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--tenant"):
        call_command("cdr_gateway", "create", "edge-10", "--tenant", "-1")
    with pytest.raises(CommandError, match="no active gateway"):
        call_command("cdr_gateway", "revoke", key_id)


def test_admin_creates_shows_the_secret_once_and_revokes(db, client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    bad = client.post("/admin/cdr/gateway/add/", {"name": "edge-a", "tenant_ids": "7, x"})
    assert bad.status_code == 200 and "unsigned 64-bit integers" in bad.content.decode()
    response = client.post("/admin/cdr/gateway/add/", {"name": "edge-a", "tenant_ids": "7, 9"})
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    row = Gateway.objects.get()
    assert row.tenant_ids == [7, 9]
    secret = response.context["secret"]
    assert secret in response.content.decode() and secret not in row.secret_encrypted
    listing = client.get("/admin/cdr/gateway/").content.decode()
    assert row.key_id in listing and secret not in listing
    client.post("/admin/cdr/gateway/", {"action": "revoke", "_selected_action": [row.pk]})
    assert not Gateway.objects.get().active
    # Revoked, never deleted: its events keep saying who delivered them.
    assert client.post(f"/admin/cdr/gateway/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert "delete_selected" not in client.get("/admin/cdr/gateway/").content.decode()
    assert Gateway.objects.filter(pk=row.pk).exists()


def test_staff_cannot_reach_the_gateway_admin(db, client, django_user_model):
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/cdr/gateway/").status_code == 403
