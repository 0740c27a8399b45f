"""What must hold: safety invariants, convergence goals, HA claims, by stable name."""

from .catalog import CATALOG, PropertySpec, all_properties, get

__all__ = ["CATALOG", "PropertySpec", "all_properties", "get"]
