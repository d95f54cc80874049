"""Model fields for gateway values that SQL has no exact type for."""

from __future__ import annotations

from typing import Any

from django.core import exceptions
from django.db import models

_U64 = 1 << 64
_I64 = 1 << 63


class UInt64Field(models.BigIntegerField):
    """An unsigned 64-bit integer (the gateway's Go ``uint`` TenantID) in a signed BIGINT column.

    Values below 2**63 (every real tenant so far) are stored as they are, so SQL reads them
    plainly; values from 2**63 up are stored as their two's-complement negative. Python always
    sees the unsigned value. Range lookups across 2**63 are not meaningful; equality is.
    """

    description = "Unsigned 64-bit integer"

    def to_python(self, value: Any) -> int | None:
        value = super().to_python(value)
        if value is not None and not 0 <= value < _U64:
            raise exceptions.ValidationError(
                "%(value)s is outside 0..2**64-1.", code="invalid", params={"value": value}
            )
        return value

    def get_prep_value(self, value: Any) -> int | None:
        if value is None or isinstance(value, models.expressions.Combinable):
            return value
        value = int(value)
        if -_I64 <= value < 0:
            # Already in column form: related lookups prepare a value twice (FK, then target).
            return value
        if not 0 <= value < _U64:
            raise ValueError(f"{value} is not an unsigned 64-bit integer")
        return value - _U64 if value >= _I64 else value

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> int | None:
        if value is None:
            return None
        return value + _U64 if value < 0 else value

    @property
    def validators(self) -> list[Any]:
        # BigIntegerField's min/max validators are for the signed range.
        return list(self._validators)

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"min_value": 0, "max_value": _U64 - 1, **kwargs})
