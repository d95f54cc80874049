"""Helpers shared by the tests (fixtures stay in the conftests, and may wrap these).

factories   JSON lifecycle events as the sink encodes them
tenants     two tenants' realistic calls, staff users and recordings (admin, API, browser)
http        a gateway client that signs its requests, upload, bearer_client
audio       a known two-leg PCMU call and WAV reading
recordings  CallMeta and RecordingArtifact as a gateway hands them to the recording sink
reports     the brute-force report oracle, rollup checks, messy delivery
oracle      stored calls against the gateway simulator's expectations
processes   a private redis-server and Celery workers started by tests (and bench/)
s3          a SeaweedFS S3 server on loopback
browser     Chromium and screenshots for the browser tests
"""
