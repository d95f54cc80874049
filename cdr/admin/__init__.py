"""Admin of the cdr app: tenant-scoped call list, call detail, active calls, tenants.

Importing this package registers everything with ``django.contrib.admin.site``.
"""

from cdr.admin import api_tokens, calls, erasure, gateways, reports, tenants  # noqa: F401  (registration side effects)
