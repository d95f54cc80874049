"""Start-up checks: a misconfigured integration fails with a message that names the setting."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register()
def cdr_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for name in ("CDR_RINGING_TIMEOUT", "CDR_ESTABLISHED_TIMEOUT"):
        value = getattr(settings, name, None)
        if not isinstance(value, int) or value <= 0:
            errors.append(checks.Error(f"{name} must be a positive number of seconds.", id="cdr.E001"))
    return errors
