"""Labels of simulated calls (``set_labels``): caller and callee numbers, the DID, the campaign.

Drawn from a generator seeded by the call's own Call-ID, never from the traffic's: adding labels
changes no other value a seed gives. Numbers are E.164 in documentation-like ranges.
"""

from __future__ import annotations

import random

from cdr.hooks import CallMeta


def tenant_did(tenant_id: int) -> str:
    """The number a tenant's callers dial (one per tenant)."""
    return f"+3318{tenant_id % 10**7:07d}"


def leg_labels(leg: CallMeta, main: CallMeta, *, tenant_id: int, target_uri: str = "") -> dict[str, str]:
    """The labels the gateway sets on ``leg`` of the call whose main leg is ``main``."""
    rng = random.Random(main.call_id)
    party = "+336" + "".join(str(rng.randrange(10)) for _ in range(8))
    did = tenant_did(tenant_id)
    if main.scenario == "campaign":
        parts = main.correlation_id.split(":")
        campaign = f"campaign-{parts[1]}" if len(parts) > 1 and parts[0] == "camp" else "campaign"
        return {"from": did, "to": party, "campaign": campaign}
    if leg.call_id == main.call_id:
        return {"from": party, "to": did, "did": did}
    agent = target_uri.removeprefix("sip:").split("@", 1)[0]
    return {"from": party, "to": agent or "agent", "did": did}
