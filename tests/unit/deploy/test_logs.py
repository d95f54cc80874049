"""project.logs: plain and JSON lines with the request id; a client's newline cannot forge a line."""

from __future__ import annotations

import json
import logging

from django.http import HttpResponse
from django.test import RequestFactory

from project.logs import JsonFormatter, PlainFormatter, RequestIdFilter, RequestIdMiddleware, request_id

FORGED = "call-1@gw\n2026-01-01 00:00:00,000 INFO cdr.auth [-]: admin logged in\u2028x"


def _record(message: str, *args: object) -> logging.LogRecord:
    record = logging.LogRecord("cdr.test", logging.WARNING, __file__, 1, message, args, None)
    RequestIdFilter().filter(record)
    return record


def test_the_plain_format_escapes_control_characters_in_a_clients_values():
    line = PlainFormatter("%(levelname)s [%(request_id)s]: %(message)s").format(_record("bye from %s", FORGED))
    assert "\n" not in line and "\u2028" not in line
    assert (
        line == "WARNING [-]: bye from call-1@gw\\x0a2026-01-01 00:00:00,000 INFO cdr.auth [-]: admin logged in\\u2028x"
    )


def test_the_json_format_is_one_object_per_line_with_the_request_id_and_the_traceback():
    token = request_id.set("req-12345678")
    try:
        record = _record("bye from %s", FORGED)
    finally:
        request_id.reset(token)
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line and "\u2028" not in line
    data = json.loads(line)
    assert data["message"] == f"bye from {FORGED}"
    assert data["request_id"] == "req-12345678"
    assert data["level"] == "WARNING" and data["logger"] == "cdr.test" and data["time"].endswith("+00:00")
    assert "ValueError: boom" in data["exc"]


def test_each_request_gets_an_id_in_its_log_lines_and_its_response():
    seen = []

    def view(request):
        seen.append(request_id.get())
        return HttpResponse()

    middleware = RequestIdMiddleware(view)
    response = middleware(RequestFactory().get("/"))
    assert len(seen[0]) == 32 and response["X-Request-ID"] == seen[0]
    response = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID="proxy-id-0001"))
    assert seen[1] == response["X-Request-ID"] == "proxy-id-0001"
    response = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID="bad id\nINFO forged"))
    assert seen[2] != "bad id\nINFO forged" and len(seen[2]) == 32
    assert request_id.get() == "-"  # nothing leaks into the next request on this thread
