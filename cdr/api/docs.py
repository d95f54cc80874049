"""A plain, self-contained docs page rendered from the OpenAPI schema: no CDN, no JavaScript."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.template import Context, Engine
from drf_spectacular.generators import SchemaGenerator
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

_PAGE = Engine().from_string(
    """<!doctype html><html><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:0 .2em}td,th{text-align:left;padding:.15rem .6rem;vertical-align:top}</style>
</head><body><h1>{{ title }} <small>{{ version }}</small></h1>
<p>Machine-readable schema: <a href="{{ schema_url }}">{{ schema_url }}</a>.
Authenticate with <code>Authorization: Bearer &lt;key&gt;</code>
(<code>manage.py cdr_api_token create --user NAME</code>).</p>
{% for op in ops %}<h2><code>{{ op.method }} {{ op.path }}</code></h2><p>{{ op.summary }}</p>
{% if op.params %}<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>
{% for p in op.params %}<tr><td><code>{{ p.name }}</code>{% if p.required %} *{% endif %}</td><td>{{ p.in }}</td>
<td>{{ p.type }}{% if p.enum %} ({{ p.enum|join:", " }}){% endif %}</td><td>{{ p.description }}</td></tr>{% endfor %}
</table>{% endif %}{% endfor %}</body></html>"""
)


class ApiDocsView(APIView):
    permission_classes = [AllowAny]
    schema = None  # the page itself is not an API operation

    def get(self, request: Request) -> HttpResponse:
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
                ops.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""), "params": params})
        context = {
            "title": schema["info"]["title"],
            "version": schema["info"]["version"],
            "schema_url": "/api/schema/",
            "ops": ops,
        }
        return HttpResponse(_PAGE.render(Context(context)))
