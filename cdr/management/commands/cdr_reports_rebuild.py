"""manage.py cdr_reports_rebuild [--tenant ID]: recompute report rollups from the raw call rows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cdr.management.progress import Progress
from cdr.services.peaks import peaks_rebuild, peaks_tenants
from cdr.services.rollups_rebuild import purge_horizons, rollups_rebuild


class Command(BaseCommand):
    help = (
        "Recompute report rollups from the raw call rows (all tenants, or one). A progress bar on a "
        "terminal: the rollups (one pass over the calls), then the peaks, one tenant at a time. A tenant's "
        "rollups before its record retention horizon are kept: the rows they counted were deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", type=int, default=None, help="only this tenant id")

    def handle(self, *args: Any, tenant: int | None, verbosity: int, **options: Any) -> None:
        tenants = peaks_tenants(tenant_id=tenant)
        with Progress(self.stderr, total=1 + len(tenants), unit="steps", verbosity=verbosity) as progress:
            progress.stage("rollups")
            legs = rollups_rebuild(tenant_id=tenant)
            progress.update()
            progress.stage("peaks")
            slots = peaks_rebuild(tenant_id=tenant, swept=lambda _tenant: progress.update())
        self.stdout.write(f"rebuilt report rollups from {legs} call legs; {slots} slots with a peak")
        for tenant_id, horizon in sorted(purge_horizons(tenant).items()):
            self.stdout.write(
                f"tenant {tenant_id}: kept the rollups before {horizon:%Y-%m-%d} (records deleted by retention)"
            )
