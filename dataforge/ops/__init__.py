"""Operators, one module per family; each registers its operators by short name."""
