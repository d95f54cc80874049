"""Write paths. Every domain write goes through one of these functions (`<entity>_<action>`)."""

from cdr.services.calls import calls_expire, calls_refresh
from cdr.services.events import IngestResult, events_ingest

__all__ = ["IngestResult", "calls_expire", "calls_refresh", "events_ingest"]
