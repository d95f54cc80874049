"""Database plumbing with no domain: portable query helpers, set-based upserts, per-call locks."""
