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
    agent = None if leg.call_id == main.call_id else target_uri
    return call_labels(
        main.call_id, scenario=main.scenario, correlation_id=main.correlation_id, tenant_id=tenant_id, agent=agent
    )


def call_labels(
    main_call_id: str, *, scenario: str, correlation_id: str, tenant_id: int, agent: str | None = None
) -> dict[str, str]:
    """The labels of a call's main leg (``agent`` None) or of its agent leg (``agent``: the
    transfer's target URI): what ``leg_labels`` gives, from plain values (``cdr_seed`` uses it)."""
    rng = random.Random(main_call_id)
    party = "+336" + "".join(str(rng.randrange(10)) for _ in range(8))
    did = tenant_did(tenant_id)
    if scenario == "campaign":
        parts = correlation_id.split(":")
        campaign = f"campaign-{parts[1]}" if len(parts) > 1 and parts[0] == "camp" else "campaign"
        return {"from": did, "to": party, "campaign": campaign}
    if agent is None:
        return {"from": party, "to": did, "did": did}
    name = agent.removeprefix("sip:").split("@", 1)[0]
    return {"from": party, "to": name or "agent", "did": did}
