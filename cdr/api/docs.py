"""The API reference, served by this server alone (no CDN, no web fonts: it works offline).

``/api/docs/`` is Redoc from drf-spectacular-sidecar's bundle when ``drf_spectacular_sidecar`` is
installed (the project installs it), and the plain page otherwise (check cdr.W002 says so).
``/api/docs/plain/`` is the plain page always: HTML without JavaScript, rendered from the same
OpenAPI schema, with every parameter and every response field and its description (units included).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.http import HttpResponse
from django.shortcuts import render
from django.template import Context, Engine
from django.templatetags.static import static
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

SIDECAR_APP = "drf_spectacular_sidecar"
REDOC_JS = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
# Redoc runs a search worker from a blob: URL and styles with inline <style> (styled-components).
REDOC_CSP = (
    "default-src 'none'; script-src 'self'; worker-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

_PAGE = Engine().from_string(
    """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:0 .2em}td,th{text-align:left;padding:.15rem .6rem;vertical-align:top}
h3{font-size:1rem;margin-bottom:.2rem}</style>
</head><body><h1>{{ title }} <small>{{ version }}</small></h1>
<p>{{ description }}</p>
<p>Machine-readable schema: <a href="{{ schema_url }}">{{ schema_url }}</a>.
Authenticate with <code>Authorization: Bearer &lt;key&gt;</code>
(<code>manage.py cdr_api_token create --user NAME</code>).</p>
{% for op in ops %}<h2 id="{{ op.id }}"><code>{{ op.method }} {{ op.path }}</code></h2><p>{{ op.summary }}</p>
{% if op.description %}<p>{{ op.description|linebreaksbr }}</p>{% endif %}
{% if op.params %}<h3>Parameters</h3><table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>
{% for p in op.params %}<tr><td><code>{{ p.name }}</code>{% if p.required %} *{% endif %}</td><td>{{ p.in }}</td>
<td>{{ p.type }}{% if p.enum %} ({{ p.enum|join:", " }}){% endif %}</td><td>{{ p.description }}</td></tr>{% endfor %}
</table>{% endif %}
{% if op.fields %}<h3>Response fields{% if op.fields_of %} (each of <code>{{ op.fields_of }}</code>){% endif %}</h3>
<table><tr><th>field</th><th>type</th><th>description</th></tr>
{% for f in op.fields %}<tr><td><code>{{ f.name }}</code></td><td>{{ f.type }}</td>
<td>{{ f.description }}</td></tr>{% endfor %}
</table>{% endif %}{% endfor %}</body></html>"""
)


def _schema_type(node: dict[str, Any]) -> str:
    if "$ref" in node:
        return node["$ref"].rsplit("/", 1)[-1]
    if "allOf" in node or "oneOf" in node:
        parts = node.get("allOf") or node.get("oneOf") or []
        return " | ".join(_schema_type(p) for p in parts)
    kind = node.get("type", "")
    if kind == "array":
        return f"array of {_schema_type(node.get('items', {}))}"
    fmt = node.get("format")
    kind = f"{kind} ({fmt})" if fmt else str(kind)
    return f"{kind}, nullable" if node.get("nullable") else kind


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _response_fields(schema: dict[str, Any], op: dict[str, Any]) -> tuple[list[dict[str, str]], str]:
    """The 200 answer's fields; for a page of results, the fields of one result."""
    ok = op.get("responses", {}).get("200", {}).get("content", {})
    body = next((c.get("schema") for c in ok.values() if c.get("schema")), None)
    if body is None:
        return [], ""
    node = _resolve(schema, body)
    of = ""
    if node.get("type") == "array":
        node, of = _resolve(schema, node.get("items", {})), "[]"
    elif "results" in node.get("properties", {}):
        node, of = _resolve(schema, node["properties"]["results"].get("items", {})), "results[]"
    fields = [
        {"name": name, "type": _schema_type(prop), "description": prop.get("description", "")}
        for name, prop in node.get("properties", {}).items()
    ]
    return fields, of


def reference(request: Request) -> dict[str, Any]:
    """The schema as the plain page shows it: one entry per operation."""
    schema = SchemaGenerator().get_schema(request=request, public=True)
    ops: list[dict[str, Any]] = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            params = [
                {
                    **p,
                    "type": p.get("schema", {}).get("type", ""),
                    "enum": p.get("schema", {}).get("enum"),
                }
                for p in op.get("parameters", [])
            ]
            fields, fields_of = _response_fields(schema, op)
            ops.append(
                {
                    "id": op.get("operationId", ""),
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "params": params,
                    "fields": fields,
                    "fields_of": fields_of,
                }
            )
    return {
        "title": schema["info"]["title"],
        "version": schema["info"]["version"],
        "description": schema["info"].get("description", ""),
        "ops": ops,
    }


class PlainDocsView(APIView):
    """The reference as plain HTML: readable with curl, lynx or a screen reader."""

    permission_classes = [AllowAny]
    schema = None  # the page itself is not an API operation

    def get(self, request: Request) -> HttpResponse:
        context = {**reference(request), "schema_url": reverse("cdr-api:schema")}
        return HttpResponse(_PAGE.render(Context(context)))


class ApiDocsView(PlainDocsView):
    """Redoc over /api/schema/, its script from the sidecar's static files (the plain page without it)."""

    def get(self, request: Request) -> HttpResponse:
        if not apps.is_installed(SIDECAR_APP):
            return super().get(request)
        context = {
            "title": "cdr API",
            "redoc_js": static(REDOC_JS),
            "init_js": static("cdr/api-docs.js"),
            "schema_url": reverse("cdr-api:schema"),
            "plain_url": reverse("cdr-api:docs-plain"),
        }
        response = render(request, "cdr/api/redoc.html", context)
        # Redoc's sidebar shows a logo from its CDN: the policy keeps the page to this server.
        response["Content-Security-Policy"] = REDOC_CSP
        return response
