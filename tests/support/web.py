"""A web client as a browser or a prober uses the deployed site: over real HTTP, with a cookie jar."""

from __future__ import annotations

import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

ADMIN_PASSWORD = "deploy-test-password"


@dataclass
class Server:
    url: str
    opener: urllib.request.OpenerDirector

    def get(
        self, path: str, headers: dict[str, str] | None = None, data: bytes | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """GET, or POST with ``data``."""
        request = urllib.request.Request(self.url + path, headers=headers or {}, data=data)
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def admin_login(self, username: str, password: str = ADMIN_PASSWORD) -> None:
        self.get("/admin/login/")
        (csrf,) = [c.value for c in self._jar() if c.name == "csrftoken"]
        body = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": csrf, "next": "/admin/"}
        )
        request = urllib.request.Request(
            self.url + "/admin/login/", data=body.encode(), headers={"Referer": self.url + "/admin/login/"}
        )
        with self.opener.open(request, timeout=10) as response:
            assert response.url.endswith("/admin/"), response.url

    def _jar(self) -> http.cookiejar.CookieJar:
        (handler,) = [h for h in self.opener.handlers if isinstance(h, urllib.request.HTTPCookieProcessor)]
        return handler.cookiejar

    @classmethod
    def at(cls, url: str) -> Server:
        return cls(url, urllib.request.build_opener(urllib.request.HTTPCookieProcessor()))


def metric_values(server: Server, token: str) -> dict[str, float]:
    """{sample name: value} of ``/metrics`` (Prometheus text), read with the bearer token."""
    from prometheus_client.parser import text_string_to_metric_families

    status, _, body = server.get("/metrics", {"Authorization": f"Bearer {token}"})
    assert status == 200, (status, body[:200])
    return {s.name: s.value for family in text_string_to_metric_families(body.decode()) for s in family.samples}
