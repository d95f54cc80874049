"""cdr: a call-detail-record store for SIP/voice gateways (reusable Django app)."""

__version__ = "0.1.0"
