"""Production settings as an operator sets them: `check --deploy`, HTTPS, the embedded default's key."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support.gunicorn import ROOT, production_env


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _setting(env: dict[str, str], expression: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_check_deploy_is_clean_behind_https_and_names_what_plain_http_lacks(tmp_path):
    done = _check_deploy(production_env(tmp_path, DJANGO_HTTPS="1", DJANGO_ALLOWED_HOSTS="cdr.example"))
    assert done.returncode == 0, done.stderr
    assert "no issues (2 silenced)" in done.stdout
    done = _check_deploy(production_env(tmp_path, DJANGO_ALLOWED_HOSTS="cdr.example"))
    assert done.returncode != 0
    assert sorted(set(re.findall(r"security\.W0\d\d", done.stderr))) == [
        "security.W004",
        "security.W008",
        "security.W012",
        "security.W016",
    ]


def test_https_turns_on_secure_cookies_hsts_redirect_and_the_proxy_header(tmp_path):
    names = (
        "SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE, SECURE_SSL_REDIRECT, SECURE_PROXY_SSL_HEADER,"
        " SECURE_HSTS_SECONDS, SECURE_HSTS_INCLUDE_SUBDOMAINS, SECURE_HSTS_PRELOAD"
    )
    expression = f"[getattr(settings, n) for n in {names.split(', ')!r}]"
    env = production_env(tmp_path, DJANGO_HTTPS="1")
    assert _setting(env, expression) == "[True, True, True, ('HTTP_X_FORWARDED_PROTO', 'https'), 3600, False, False]"
    env |= {"DJANGO_HSTS_SECONDS": "31536000", "DJANGO_HSTS_INCLUDE_SUBDOMAINS": "1", "DJANGO_HSTS_PRELOAD": "1"}
    assert _setting(env, expression).endswith("31536000, True, True]")
    assert _setting(production_env(tmp_path), expression) == "[False, False, False, None, 0, False, False]"


def test_the_embedded_default_makes_its_own_key_and_keeps_it_across_restarts(tmp_path):
    env = production_env(tmp_path)
    for name in ("DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"):
        del env[name]
    first = _setting(env, "settings.SECRET_KEY")
    assert first == (tmp_path / "secret_key").read_text().strip()
    assert _setting(env, "settings.SECRET_KEY") == first
    assert _setting(env, "settings.CDR_INGEST.get('SECRET_KEY')") == "None"  # the gateway key derives from it
    assert _setting(production_env(tmp_path / "other"), "settings.SECRET_KEY") != first
    # No key in the source: settings.py names the variable and the file, never a value.
    assert not re.search(r"SECRET_KEY\s*=\s*['\"]", (ROOT / "project" / "settings.py").read_text())
