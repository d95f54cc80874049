"""Tenant-filtered call reports: pure bucketing and metric math (no Django imports here).

Rollups are additive counters per (tenant, 15-minute UTC slot, a few dims); every local
hour/day/week/month bucket in any zone whose offsets are multiples of 15 minutes is an exact
union of slots, so reports are DST-correct without storing anything per zone.
"""
