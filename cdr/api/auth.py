"""``Authorization: Bearer <key>`` for DRF, its OpenAPI description, and the API views' access rule."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from cdr.services.api_tokens import TokenInvalid, api_token_authenticate


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization header: expected 'Bearer <key>'.")
        try:
            key = parts[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        try:
            token = api_token_authenticate(key=key)
        except TokenInvalid as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        # Present so DRF answers 401 (with WWW-Authenticate), not 403, to a missing key.
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An API token (manage.py cdr_api_token create)."}


class ApiAccess:
    """Who may call an API view, whatever the project's ``REST_FRAMEWORK`` defaults say: an API
    token or a signed-in session, of an authenticated user (a project whose default permission is
    AllowAny must not open the call records). Tenant scoping is the selectors'."""

    authentication_classes = [BearerTokenAuthentication, authentication.SessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]
