"""The page that shows a newly issued secret (API key, gateway secret) once."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers


def secret_once_response(
    model_admin: Any, request: Any, *, title: str, subject: str, secret: str, usage: str
) -> HttpResponse:
    # The secret is rendered into this one response, never into a redirect's message cookie
    # (signed, not encrypted) or a cacheable page.
    response = TemplateResponse(
        request,
        "admin/cdr/secret_once.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "opts": model_admin.opts,
            "subject": subject,
            "secret": secret,
            "usage": usage,
        },
    )
    add_never_cache_headers(response)
    return response
