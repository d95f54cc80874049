"""Recording storage for the integration tests: a real S3 server (SeaweedFS on loopback) and real
local files, the recording settings, and StorageRecordingSinks closed after each test."""

from __future__ import annotations

import pytest

from tests.support.s3 import BUCKET, SeaweedS3


@pytest.fixture(scope="session")
def weed(tmp_path_factory):
    """One SeaweedFS for the session, with a private bucket; killed at the end."""
    server = SeaweedS3(tmp_path_factory.mktemp("seaweedfs"))
    try:
        server.start()
        server.create_bucket(BUCKET)
    except BaseException:
        server.close()
        raise
    yield server
    server.close()


@pytest.fixture
def recordings_conf(settings, tmp_path):
    from cdr.selectors.recordings import recording_policies_forget

    settings.CDR_RECORDINGS = {
        **settings.CDR_RECORDINGS,
        "SPOOL_DIR": tmp_path / "spool",
        "POLICY_CACHE_SECONDS": 0,
        "LINK_SECONDS": 300,
    }
    recording_policies_forget()
    yield settings.CDR_RECORDINGS
    recording_policies_forget()


@pytest.fixture
def s3_storage(settings, weed, recordings_conf):
    from django.core.files.storage import storages

    if weed.gateway is None:  # a previous test failed while S3 was down
        weed.start_gateway()
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": weed.storage_options(BUCKET)},
    }
    return storages["recordings"]


@pytest.fixture
def local_storage(local_recordings, recordings_conf):
    from django.core.files.storage import storages

    return storages["recordings"]


@pytest.fixture
def make_sink(recordings_conf):
    """StorageRecordingSinks closed after the test (threads, taps, pool)."""
    from cdr.sinks import StorageRecordingSink

    sinks = []

    def make(**kw):
        kw.setdefault("finish_timeout", 20.0)
        kw.setdefault("retry_seconds", 0.2)
        kw.setdefault("max_retry_seconds", 0.5)
        sink = StorageRecordingSink(spool_dir=recordings_conf["SPOOL_DIR"], **kw)
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        sink.close()


@pytest.fixture
def staff(django_user_model):
    """Staff of tenants 7 and 31 (the tenants these tests record for)."""
    from cdr.models import Tenant, TenantMembership

    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    for tenant_id in (7, 31):
        tenant, _ = Tenant.objects.get_or_create(id=tenant_id)
        TenantMembership.objects.create(user=user, tenant=tenant)
    return user


@pytest.fixture
def sink(make_sink, monkeypatch):
    """The process-wide recording sink the ingestion view uses, as a test-owned one."""
    made = make_sink()
    monkeypatch.setattr("cdr.sinks.recording._sink", made)
    return made
