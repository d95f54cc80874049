"""Fuzzing the ingestion operations: any body, any headers, never a 500, never a half-written row.

Hypothesis drives raw bodies; schemathesis drives both operations from the served OpenAPI
document. Requests are signed correctly (to reach validation) or left as generated (to hit auth).
"""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdr.ingest.signing import signed_headers
from cdr.models import CallEvent, GatewayEvent, Recording
from tests.support.factories import bye, call, event

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)


def assert_consistent() -> None:
    """Every remembered event id has its event in the log, and every logged HTTP event was remembered."""
    remembered = set(GatewayEvent.objects.values_list("fingerprint", flat=True))
    logged = set(CallEvent.objects.filter(source="http").values_list("fingerprint", flat=True))
    assert remembered == logged
    assert not CallEvent.objects.exclude(status="accepted").exists()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
valid = st.sampled_from(
    [event("ringing", 0, call("f1@gw")), bye(3, 3, call("f1@gw")), event("established", 1, call("f2@gw", tenant_id=9))]
)


@st.composite
def event_like(draw):
    ev = dict(draw(valid))
    for _ in range(draw(st.integers(0, 2))):
        ev[draw(st.sampled_from([*ev, "event_id", "occurred_at", "call", "hangup", "type"]))] = draw(json_values)
    return ev


bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(st.one_of(event_like(), json_values), min_size=1, max_size=12).map(lambda v: json.dumps(v).encode()),
)


@FUZZ
@given(body=bodies)
def test_any_events_body_is_answered_with_a_reason_never_a_500(gw, body):
    response = gw.events(body)
    assert response.status_code in (200, 400), response.content
    answer = response.json()
    if response.status_code == 200:
        assert len(answer["results"]) == len(json.loads(body))
        assert answer["accepted"] + answer["duplicate"] + answer["rejected"] == len(answer["results"])
        assert all(r["reason"] for r in answer["results"] if r["status"] == "rejected")
    else:
        assert list(answer) == ["body"] and answer["body"].startswith("body: ")
    assert_consistent()


@pytest.fixture
def api_schema(db):
    raw = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    return schemathesis.openapi.from_dict(raw)


def send(gw, case, sign: bool):
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    url = urlsplit(kwargs["url"])
    if "json" in kwargs:
        body = json.dumps(kwargs["json"]).encode()
    else:
        data = kwargs.get("data", b"")
        body = data.encode() if isinstance(data, str) else bytes(data or b"")
    headers = {k: v for k, v in kwargs["headers"].items() if k.lower() not in ("content-type", "content-length")}
    content_type = kwargs["headers"].get("Content-Type", "application/json" if "json" in kwargs else "")
    if sign:
        sha = None
        if "X-CDR-Content-SHA256" in headers and case.operation.path.startswith("/ingest/v1/recordings"):
            # Keep the generated (often wrong) checksum, signed: it must fail as a 400, not as auth.
            sha = str(headers["X-CDR-Content-SHA256"])
        sent = {**{k: str(v) for k, v in headers.items()}, "Content-Type": content_type}
        headers = signed_headers(gw.key_id, gw.secret, "POST", unquote(url.path), body, headers=sent, sha256=sha)
    return gw.client.generic(
        "POST", url.path, body, content_type=content_type, headers=headers, CONTENT_TYPE=content_type
    )


@pytest.fixture
def recording_sink(local_recordings, tmp_path, monkeypatch):
    """The process-wide recording sink, as a test-owned one on local files."""
    from cdr.sinks import StorageRecordingSink

    sink = StorageRecordingSink(spool_dir=tmp_path / "spool", finish_timeout=5)
    monkeypatch.setattr("cdr.sinks.recording._sink", sink)
    yield sink
    sink.close()


@pytest.mark.parametrize("operation", ["/ingest/v1/events", "/ingest/v1/recordings/{call_id}"])
def test_schemathesis_finds_no_500_and_only_declared_answers(gw, api_schema, operation, recording_sink):
    op = api_schema[operation]["POST"]
    declared = {int(code) for code in op.definition.raw["responses"]}
    seen: set[int] = set()

    @FUZZ
    @given(case=op.as_strategy(), sign=st.booleans())
    def run(case, sign):
        response = send(gw, case, sign)
        assert response.status_code in declared, (response.status_code, response.content[:300])
        assert response.status_code < 500, response.content[:300]
        response.json()  # always a JSON answer with a reason
        assert_consistent()
        seen.add(response.status_code)

    run()
    # Both the authentication and the validation were reached.
    assert 401 in seen and 400 in seen, seen
    assert not Recording.objects.exclude(tenant_id__in=[0, 7, 9]).exists()
