"""manage.py cdr_reports_rebuild [--tenant ID]: recompute report rollups from the raw call rows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cdr.services.peaks import peaks_rebuild
from cdr.services.rollups_rebuild import rollups_rebuild


class Command(BaseCommand):
    help = "Recompute report rollups from the raw call rows (all tenants, or one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", type=int, default=None, help="only this tenant id")

    def handle(self, *args: Any, tenant: int | None, **options: Any) -> None:
        legs = rollups_rebuild(tenant_id=tenant)
        slots = peaks_rebuild(tenant_id=tenant)
        self.stdout.write(f"rebuilt report rollups from {legs} call legs; {slots} slots with a peak")
