"""Kubernetes resource quantities ("500m", "2", "4Gi", "1e3") as integers.

cpu is kept in millicores, memory in bytes, pods as a count: exact integers,
so sums of requests compare exactly (the scheduler's Fit filter does the same
with resource.Quantity's MilliValue / Value).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
            "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12),
            "P": Decimal(10**15), "E": Decimal(10**18)}
_RE = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")


class QuantityError(ValueError):
    pass


MAX_QUANTITY = 2**63 - 1   # resource.Quantity's int64 bound (of the milli-value, for cpu)


def parse_quantity(value) -> Decimal:
    """The numeric value of a Kubernetes quantity (a number or a string like "500m")."""
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is not a quantity")
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    if isinstance(value, (int, float)):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise QuantityError(f"{shown} is not a quantity") from None
        suffix = ""
    elif isinstance(value, str):
        m = _RE.match(value.strip())
        if not m:
            raise QuantityError(f"{shown} is not a quantity (expected e.g. \"500m\", \"2\", \"4Gi\")")
        try:
            number = Decimal(m.group(1))
        except InvalidOperation:
            raise QuantityError(f"{shown} is not a quantity") from None
        suffix = m.group(2) or ""
    else:
        raise QuantityError(f"{shown} is not a quantity")
    if not number.is_finite():
        raise QuantityError(f"{shown} is not a finite quantity")
    if number < 0:
        raise QuantityError(f"{shown} is negative: a quantity of resources is 0 or more")
    if number and number.adjusted() > 20:   # checked before multiplying: 1e9999999 stays cheap
        raise QuantityError(f"{shown} is too large (at most {MAX_QUANTITY:,})")
    q = number * (_BINARY[suffix] if suffix in _BINARY else _DECIMAL[suffix])
    if q * 1000 > MAX_QUANTITY:
        raise QuantityError(f"{shown} is too large (at most {MAX_QUANTITY // 1000:,}, or {MAX_QUANTITY:,}m)")
    return q


def cpu_millis(value) -> int:
    """cpu quantity in millicores, rounded up as Kubernetes does (MilliValue)."""
    q = parse_quantity(value) * 1000
    return int(q.to_integral_value(rounding="ROUND_CEILING"))


def whole(value) -> int:
    """A quantity as a whole number (memory in bytes, pods), rounded up (Value)."""
    return int(parse_quantity(value).to_integral_value(rounding="ROUND_CEILING"))


def format_cpu(millis: int) -> str:
    return f"{millis // 1000}" if millis % 1000 == 0 else f"{millis}m"


def format_memory(b: int) -> str:
    for suffix, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if b and b % size == 0:
            return f"{b // size}{suffix}"
    return str(b)
